"""VAE and IWAE test log-likelihood on binarized Fashion-MNIST, samples, interpolations and a β rate–distortion sweep.

    python -m experiments.vae_likelihood                # full: the report's numbers
    python -m experiments.vae_likelihood --size quick   # 117 steps, β ∈ {1, 4}, K = 500 on 50 images
    python -m experiments.vae_likelihood --size smoke   # seconds (CI)

Protocol (full): the Flax example's MLP VAE (784-500-20, Bernoulli, ``experiments/configs/flax_vae_fashion.py``) on
dynamically binarized Fashion-MNIST (a fresh Bernoulli sample of the grey image every step), Adam 1e-3, batch 128,
936 steps (2 epochs — the IWAE objective costs ~5× a VAE step and 21 runs must fit the ~20-minute budget), 3 seeds,
trained with (a) the VAE's ELBO, (b) the IWAE bound with k = 5 samples, (c) β·KL for β ∈ {0.5, 2, 4, 8} (β = 1 is
run (a)). The test set is binarized **once** (key 1000) and shared by every model.

  * ELBO: one-sample ELBO with the analytic KL, on all 10,000 test images.
  * NLL: importance-sampled −log p(x) with K = 5000 samples of q(z|x) (Burda et al. 2016) on the **first 300** test
    images only (K = 5000 per image and model is the expensive part of this script on a CPU); the ELBO on
    the same 300 images, estimated from the same 5000 samples, is given next to it, so the gap is measured on
    identical images, and the IWAE − VAE difference is paired over the same images.
  * β sweep: rate = KL(q(z|x) ‖ p(z)) and distortion = −log p(x|z) (one sample), nats per image on the 10,000 test
    images, and the number of latent dimensions with a mean KL above 0.01 nats.

Figures (seed 0): 64 samples of the VAE and of the IWAE; latent interpolations (decoded linear paths between the
posterior means of test images of different classes); the rate–distortion curve of the β sweep.

Expected result: the IWAE has the better likelihood and the worse ELBO, with a larger gap −ELBO − NLL — it trains
for a tighter importance-weighted bound, not for an encoder q(z|x) close to the true posterior. The β sweep should
trace a monotone rate–distortion curve (rate falls and distortion rises with β, the −ELBO lowest near β = 1) and
switch latent dimensions off at large β. Measured −ELBO, NLL, gap, KL and ESS per objective, the paired IWAE − VAE
NLL difference and the β sweep (mean ± std over 3 seeds): ``experiments/results/vae_likelihood.json``, section 3 of
``experiments/REPORT.md``. Note that the first 300 test images are not a random sample (compare their −ELBO with the
10k mean in the same table); the NLL of a VAE of this kind on all 10,000 test images is in
``experiments/results/evaluate/README.md``. Readings of the samples and interpolations: ``experiments/NOTES.md``
(VAE likelihood). The wall time is ``wall_time_s`` in the results file.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time

import jax
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from experiments import fashion, sweeps
from experiments.configs import flax_vae_fashion
from vae_jax import data, inference, latent, plots
from vae_jax.configs import Config
from vae_jax.methods import beta_vae, iwae, vae
from vae_jax.evaluation import likelihood

NAME = "vae_likelihood"
logger = logging.getLogger(__name__)
TEST_KEY = 1000  # the one binarization of the test set: jax.random.key(TEST_KEY)
ACTIVE_KL = 0.01  # nats: a latent dimension with a larger mean KL counts as active

SIZES = {
    "full": dict(num_steps=936, hidden=(500,), latent_dim=20, batch_size=128, log_every=117, num_train=0,
                 num_test=0, num_samples=5000, num_nll_images=300, betas=(0.5, 1.0, 2.0, 4.0, 8.0)),
    "quick": dict(num_steps=117, hidden=(500,), latent_dim=20, batch_size=128, log_every=117, num_train=0,
                  num_test=2000, num_samples=500, num_nll_images=50, betas=(1.0, 4.0)),
    "smoke": dict(num_steps=4, hidden=(32,), latent_dim=4, batch_size=32, log_every=2, num_train=256, num_test=128,
                  num_samples=16, num_nll_images=16, betas=(1.0, 4.0)),
}


def make_config(method, s: dict) -> Config:
  base = flax_vae_fashion.get_config()
  return dataclasses.replace(
      base, model=dataclasses.replace(base.model, hidden=s["hidden"], latent_dim=s["latent_dim"]),
      method=method,
      data=dataclasses.replace(base.data, num_train=s["num_train"], num_test=s["num_test"]),
      batch_size=s["batch_size"], num_steps=s["num_steps"], log_every=s["log_every"], eval_every=s["num_steps"],
      checkpoint_every=s["num_steps"], eval_batch_size=min(1000, s["num_test"] or 1000), figures=False,
      tensorboard=False, progress=False)


def variants(s: dict) -> dict[str, Config]:
  out = {"vae": make_config(vae.Config(), s),
         "iwae": make_config(iwae.Config(num_samples=5), s)}
  for beta in s["betas"]:
    if beta != 1.0:
      out[f"beta{beta:g}"] = make_config(beta_vae.Config(beta=beta), s)
  return out


def rate_distortion_figure(points: list[tuple[float, dict, dict]], path: str) -> str:
  """Distortion (−log p(x|z)) against rate (KL), one point per β with ± std error bars over seeds."""
  fig = Figure(figsize=(5.0, 3.8), dpi=100)
  ax = fig.add_subplot(1, 1, 1)
  rates = [r["mean"] for _, r, _ in points]
  dists = [d["mean"] for _, _, d in points]
  ax.errorbar(rates, dists, xerr=[r["std"] for _, r, _ in points], yerr=[d["std"] for _, _, d in points],
              marker="o", capsize=3)
  for beta, r, d in points:
    ax.annotate(f"β={beta:g}", (r["mean"], d["mean"]), textcoords="offset points", xytext=(5, 5), fontsize=8)
  ax.set_xlabel("rate: KL(q(z|x) ‖ p(z)) [nats]")
  ax.set_ylabel("distortion: −log p(x|z) [nats]")
  ax.set_title("β-VAE on binarized Fashion-MNIST (test set)", fontsize=9)
  ax.grid(alpha=0.3)
  fig.tight_layout()
  FigureCanvasAgg(fig)
  fig.savefig(path, format="png")
  return path


def main(argv: list[str] | None = None) -> str:
  setup = sweeps.begin(sweeps.parser(__doc__), NAME, argv)
  args, seed_list, figures_dir = setup.args, setup.seeds, setup.figures_dir
  s = SIZES[args.size]
  grey, labels = fashion.test_set(s["num_test"])
  n_test = len(grey)
  images = np.asarray(data.binarize_dynamic(jax.random.key(TEST_KEY), grey))
  nll_images = images[:s["num_nll_images"]]
  eval_key, is_key, sample_key = jax.random.split(jax.random.key(TEST_KEY + 1), 3)

  stats: dict[str, dict[int, dict[str, float]]] = {}
  figures: list[str] = []

  def on_done(variant, seed, res):
    model, params = res["model"], jax.device_get(res["state"].params)
    terms = inference.elbo_terms(eval_key, model, params, images)
    m = {"elbo": float(np.mean(terms["elbo"])), "recon": float(np.mean(terms["recon"])),
         "kl": float(np.mean(terms["kl"])),
         "active": int(np.sum(np.mean(terms["kl_per_dim"], axis=0) > ACTIVE_KL))}
    if variant in ("vae", "iwae"):
      t0 = time.time()
      nll = likelihood.importance_sampled_nll(is_key, model, params, nll_images, num_samples=s["num_samples"])
      m.update(nll=nll["nll_mean"], is_elbo=nll["elbo_mean"], ess=float(np.mean(nll["ess"])),
               nll_per_image=nll["nll"].tolist(), nll_seconds=time.time() - t0)
      if seed == seed_list[0]:
        samples = model.apply({"params": params}, 64, key=sample_key, method="sample")
        path = os.path.join(figures_dir, f"{NAME}_samples_{variant}.png")
        figures.append(plots.image_grid(np.asarray(samples), path, ncols=8,
                                        title=f"{variant.upper()} samples (seed {seed}, {s['num_steps']} steps)"))
        if variant == "vae":
          figures.append(interpolation_figure(model, params, images, labels, figures_dir, seed))
    stats.setdefault(variant, {})[seed] = m
    logger.info("%s seed %d: %s", variant, seed, {k: v for k, v in m.items() if k != "nll_per_image"})

  sweeps.train_runs(NAME, variants(s), seed_list, args.runs_root, size=args.size, on_done=on_done, workers=args.workers)

  def ms(variant, key, sign=1.0):
    return sweeps.mean_std([sign * stats[variant][seed][key] for seed in seed_list])

  k, n_nll = s["num_samples"], len(nll_images)
  ll_rows = []
  for variant, label in (("vae", "VAE (ELBO)"), ("iwae", "IWAE (k = 5)")):
    ll_rows.append([label, ms(variant, "elbo", -1.0), ms(variant, "nll"), ms(variant, "is_elbo", -1.0),
                    sweeps.mean_std([-stats[variant][sd]["is_elbo"] - stats[variant][sd]["nll"] for sd in seed_list]),
                    ms(variant, "kl"), ms(variant, "ess")])
  paired = sweeps.mean_std([float(np.mean(np.subtract(stats["iwae"][sd]["nll_per_image"],
                                                      stats["vae"][sd]["nll_per_image"]))) for sd in seed_list])
  ll_table = sweeps.table(["objective", f"−ELBO ({n_test} images)", f"NLL, K={k} ({n_nll} images)",
                           f"−ELBO ({n_nll} images, K-sample)", "gap −ELBO − NLL", "KL", "ESS"], ll_rows)

  rd_rows, points = [], []
  for beta in s["betas"]:
    variant = "vae" if beta == 1.0 else f"beta{beta:g}"
    rate, dist = ms(variant, "kl"), ms(variant, "recon")
    rd_rows.append([beta, rate, dist, ms(variant, "elbo", -1.0), ms(variant, "active")])
    points.append((beta, rate, dist))
  rd_table = sweeps.table(["β", "rate KL (nats)", "distortion −log p(x|z) (nats)", "−ELBO (nats)",
                           f"active dims (KL > {ACTIVE_KL})"], rd_rows)
  figures.append(rate_distortion_figure(points, os.path.join(figures_dir, f"{NAME}_rate_distortion.png")))

  notes = [f"MLP VAE 784-{s['hidden'][0]}-{s['latent_dim']}, Bernoulli, dynamically binarized training data, "
           f"Adam 1e-3, batch {s['batch_size']}, {s['num_steps']} steps "
           f"({s['num_steps'] * s['batch_size'] / 60000:.1f} epochs); mean ± std over seeds {seed_list}.",
           f"Test set binarized once (key {TEST_KEY}), shared by all models. NLL: importance sampling with K={k} on "
           f"the first {n_nll} test images; ELBO: one sample, analytic KL, {n_test} images.",
           f"Paired NLL difference IWAE − VAE on the same {n_nll} images: {sweeps.fmt(paired)} nats "
           "(negative: the IWAE assigns higher likelihood).",
           "All nats per image; bits/dim = nats / (784 · ln 2)."]
  path = sweeps.write_results(setup.results_dir, NAME, args=args, command=setup.command, started=setup.started,
                              tables={"Test log-likelihood (nats per image)": ll_table,
                                      "β sweep: rate–distortion on the test set": rd_table,
                                      "NLL difference IWAE − VAE (paired, same images)": sweeps.table(
                                          ["difference (nats)"], [[paired]])},
                              figures=figures, notes=notes)
  logger.info("wrote %s", path)
  return path


def interpolation_figure(model, params, images, labels, figures_dir: str, seed: int, *, num_steps: int = 10) -> str:
  """Rows: decoded linear paths between the posterior means of one test image of class c and one of class c + 1."""
  first = fashion.one_per_class(labels)
  pairs = [(first[c], first[(c + 1) % len(first)]) for c in range(0, len(first), 2)]
  ends = images[[a for a, _ in pairs] + [b for _, b in pairs]]
  z = inference.encode(model, params, ends, batch_size=len(ends)).mean  # posterior means
  path = latent.interpolate(z[:len(pairs)], z[len(pairs):], num_steps=num_steps)  # [steps, P, latent]
  paths = inference.decode(model, params, np.swapaxes(path, 0, 1), batch_size=path.shape[0] * path.shape[1])
  rows = [(f"{fashion.CLASSES[labels[a]]} → {fashion.CLASSES[labels[b]]}", np.asarray(path))
          for (a, b), path in zip(pairs, paths)]
  return plots.labelled_rows(rows, os.path.join(figures_dir, f"{NAME}_interpolation.png"), cell_inches=0.7,
                             title=f"VAE latent interpolation between test images (classes; seed {seed})")


if __name__ == "__main__":
  logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s", force=True)
  logger.setLevel(logging.INFO)
  main()
