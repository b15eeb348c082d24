"""VAE and IWAE test log-likelihood on binarized Fashion-MNIST, samples, interpolations and a β rate–distortion sweep.

    python -m experiments.vae_likelihood                # full: the report's numbers
    python -m experiments.vae_likelihood --size smoke   # seconds (CI); quick: ~2 minutes

The protocol and the expected result: ``experiments/configs/vae_likelihood.py``.
"""

from __future__ import annotations

import logging
import os

import jax
import numpy as np

from experiments import fashion, sweeps
from experiments.configs import vae_likelihood as configs
from vae_jax import data, inference, latent, plots
from vae_jax.evaluation import likelihood

NAME = "vae_likelihood"
logger = logging.getLogger(__name__)


def interpolation_figure(model, params, images, labels, path: str, seed: int, *, num_steps: int = 10) -> str:
  """Rows: decoded linear paths between the posterior means of one test image of class c and one of class c + 1."""
  first = fashion.one_per_class(labels)
  pairs = [(first[c], first[(c + 1) % len(first)]) for c in range(0, len(first), 2)]
  ends = images[[a for a, _ in pairs] + [b for _, b in pairs]]
  z = inference.encode(model, params, ends, batch_size=len(ends)).mean
  paths = latent.interpolate(z[:len(pairs)], z[len(pairs):], num_steps=num_steps)  # [steps, P, latent]
  decoded = inference.decode(model, params, np.swapaxes(paths, 0, 1), batch_size=paths.shape[0] * paths.shape[1])
  rows = [(f"{fashion.CLASSES[labels[a]]} → {fashion.CLASSES[labels[b]]}", np.asarray(p)) for (a, b), p in
          zip(pairs, decoded)]
  return plots.labelled_rows(rows, path, cell_inches=0.7,
                             title=f"VAE latent interpolation between test images (classes; seed {seed})")


def main(argv: list[str] | None = None) -> str:
  setup = sweeps.begin(sweeps.parser(__doc__, NAME), NAME, argv)
  args, seed_list, figures_dir = setup.args, setup.seeds, setup.figures_dir
  cfg = sweeps.load_config(NAME, args.size)
  grey, labels = fashion.test_set(cfg.num_test)
  images = np.asarray(data.binarize_dynamic(jax.random.key(cfg.test_key), grey))
  nll_images = images[:cfg.num_nll_images]
  eval_key, is_key, sample_key = jax.random.split(jax.random.key(cfg.test_key + 1), 3)
  nll_variants = [v for v, _ in cfg.likelihood_rows]
  stats: dict[str, dict[int, dict[str, float]]] = {}
  figures: list[str] = []

  def on_done(variant, seed, res):
    model, params = res["model"], jax.device_get(res["state"].params)
    terms = inference.elbo_terms(eval_key, model, params, images)
    m = {"elbo": float(np.mean(terms["elbo"])), "recon": float(np.mean(terms["recon"])),
         "kl": float(np.mean(terms["kl"])),
         "active": int(np.sum(np.mean(terms["kl_per_dim"], axis=0) > cfg.active_kl))}
    if variant in nll_variants:
      nll = likelihood.importance_sampled_nll(is_key, model, params, nll_images, num_samples=cfg.num_samples)
      m.update(nll=nll["nll_mean"], is_elbo=nll["elbo_mean"], ess=float(np.mean(nll["ess"])),
               nll_per_image=nll["nll"].tolist())
      if seed == seed_list[0]:
        samples = model.apply({"params": params}, 64, key=sample_key, method="sample")
        figures.append(plots.image_grid(
            np.asarray(samples), os.path.join(figures_dir, f"{NAME}_samples_{variant}.png"), ncols=8,
            title=f"{variant.upper()} samples (seed {seed}, {cfg.num_steps} steps)"))
    if variant == cfg.interpolation_variant and seed == seed_list[0]:
      figures.append(interpolation_figure(model, params, images, labels,
                                          os.path.join(figures_dir, f"{NAME}_interpolation.png"), seed))
    stats.setdefault(variant, {})[seed] = m
    logger.info("%s seed %d: %s", variant, seed, {k: v for k, v in m.items() if k != "nll_per_image"})

  sweeps.train_runs(NAME, sweeps.variants(NAME, cfg), seed_list, args.runs_root, size=args.size, on_done=on_done,
                    workers=args.workers)

  def ms(variant, key, sign=1.0):
    return sweeps.mean_std([sign * stats[variant][seed][key] for seed in seed_list])

  k, n_nll, (a, b) = cfg.num_samples, len(nll_images), cfg.paired
  ll_rows = [[label, ms(v, "elbo", -1.0), ms(v, "nll"), ms(v, "is_elbo", -1.0),
              sweeps.mean_std([-stats[v][sd]["is_elbo"] - stats[v][sd]["nll"] for sd in seed_list]), ms(v, "kl"),
              ms(v, "ess")] for v, label in cfg.likelihood_rows]
  paired = sweeps.mean_std([float(np.mean(np.subtract(stats[a][sd]["nll_per_image"], stats[b][sd]["nll_per_image"])))
                            for sd in seed_list])
  ll_table = sweeps.table(["objective", f"−ELBO ({len(images)} images)", f"NLL, K={k} ({n_nll} images)",
                           f"−ELBO ({n_nll} images, K-sample)", "gap −ELBO − NLL", "KL", "ESS"], ll_rows)
  sweep = [(beta, configs.beta_variant(beta)) for beta in cfg.betas]
  rd_table = sweeps.table(["β", "rate KL (nats)", "distortion −log p(x|z) (nats)", "−ELBO (nats)",
                           f"active dims (KL > {cfg.active_kl})"],
                          [[b, ms(v, "kl"), ms(v, "recon"), ms(v, "elbo", -1.0), ms(v, "active")] for b, v in sweep])
  figures.append(plots.rate_distortion([(f"β={beta:g}", ms(v, "kl"), ms(v, "recon")) for beta, v in sweep],
                                       os.path.join(figures_dir, f"{NAME}_rate_distortion.png"),
                                       title="β-VAE on binarized Fashion-MNIST (test set)"))
  notes = configs.notes(cfg, seed_list, len(images), sweeps.fmt(paired))
  path = sweeps.write_results(setup.results_dir, NAME, args=args, command=setup.command, started=setup.started,
                              tables={"Test log-likelihood (nats per image)": ll_table,
                                      "β sweep: rate–distortion on the test set": rd_table,
                                      "NLL difference IWAE − VAE (paired, same images)": sweeps.table(
                                          ["difference (nats)"], [[paired]])}, figures=figures, notes=notes)
  return path


if __name__ == "__main__":
  sweeps.run_script(main)
