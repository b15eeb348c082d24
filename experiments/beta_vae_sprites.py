"""β-VAE disentanglement on procedural sprites: β ∈ {1, 2, 4, 8, 16}, the capacity-annealed β-VAE and β-TCVAE.

    python -m experiments.beta_vae_sprites                # full: the report's numbers (7 models × 3 seeds)
    python -m experiments.beta_vae_sprites --size smoke   # seconds (CI); quick: 1 seed, 1000 updates
    python -m experiments.beta_vae_sprites --size higgins --steps 10000 --workers 11   # an accelerator

The protocol and the expected result: ``experiments/configs/beta_vae_sprites.py``.
"""

from __future__ import annotations

import logging
import os
import threading
import time

import jax
import numpy as np

from experiments import arg_types, sweeps
from experiments.configs import beta_vae_sprites as configs
from vae_jax import evaluation, plots
from vae_jax.data import sprites
from vae_jax.evaluation import latent_factors

NAME = "beta_vae_sprites"
logger = logging.getLogger(__name__)
METRICS, HEADLINE, EXTRA, ACTIVE_KL = configs.METRICS, configs.HEADLINE, configs.EXTRA, evaluation.ACTIVE_KL


def verdict(evals: dict, best: str, reference: str, cfg) -> list[str]:
  """The claim check: best β vs β = 1 per headline metric, paired over seeds, and a one-line reading."""
  titles, beta = dict(METRICS), best.removeprefix("beta")
  deltas = evaluation.paired_differences(evals[best], evals[reference], HEADLINE)
  wins = [k for k in HEADLINE if deltas[k]["all_higher"]]
  line = (f"Best β = {beta} (by the mean of {', '.join(titles[k] for k in HEADLINE)}). Best β − β=1, paired by "
          "seed: " + "; ".join(f"{titles[k]} {sweeps.fmt(deltas[k], 3)}" for k in HEADLINE)
          + f". Higher on every seed for {len(wins)} of {len(HEADLINE)} metrics"
          + (f" ({', '.join(titles[k] for k in wins)})." if wins else "."))
  if len(wins) >= 3:
    return [line, cfg.reading_holds.format(beta=beta, wins=len(wins), n=len(HEADLINE))]
  return [line, cfg.reading_not + configs.study_verdict(cfg, sweeps.RESULTS_DIR)]  # what the committed study found


def main(argv: list[str] | None = None) -> str:
  p = sweeps.parser(__doc__, NAME)
  p.add_argument("--steps", type=arg_types.at_least(1), default=None, help="training updates (default: the size's)")
  p.add_argument("--variants", nargs="+", default=None, choices=list(configs.variants(configs.get_config("smoke"))),
                 help="train and compare only these models (must include beta1 and one β > 1)")
  setup = sweeps.begin(p, NAME, argv, default_seeds={s: configs.get_config(s).seeds for s in configs.SIZES})
  args, seed_list, figures_dir = setup.args, setup.seeds, setup.figures_dir
  cfg, s0 = configs.get_config(args.size, args.steps), setup.seeds[0]
  variants, label, betas = configs.variants(cfg), configs.labels(cfg), configs.beta_variants(cfg)
  reference = next(iter(betas))  # β = 1, the plain VAE
  if args.variants is not None and (reference not in args.variants or not set(args.variants) & set(list(betas)[1:])):
    p.error(f"--variants needs {reference} (the plain VAE) and at least one β > 1 to compare, got {args.variants}")
  variants = {v: c for v, c in variants.items() if args.variants is None or v in args.variants}
  sampler = configs.sampler(cfg)
  evals, runs, kl_figures, lock = {v: {} for v in variants}, {}, {}, threading.Lock()

  def on_done(variant, seed, res):  # threads with --workers > 1; same factor draws for every model of a seed
    params, t = jax.device_get(res["state"].params), time.perf_counter()
    ev = evaluation.evaluate_disentanglement(jax.random.fold_in(jax.random.key(seed), 7), res["model"], params,
                                             sampler, configs.metric_sizes(cfg))
    ev.update(recon=res["train"].get("train/recon", float("nan")), eval_time_s=time.perf_counter() - t)
    with lock:
      evals[variant][seed] = ev
      if seed == s0:
        runs[variant] = (res["model"], params)
        kl_figures[variant] = str(plots.kl_per_dim_bars(
            ev["kl_per_dim"], os.path.join(figures_dir, f"{cfg.name}_kl_{variant}.png"), active_threshold=ACTIVE_KL,
            title=f"{label[variant]}: KL per latent (seed {seed}, total {ev['kl']:.1f} nats)"))
    logger.info("%s seed %d: %s (train %.0f s, metrics %.0f s)", variant, seed, {k: round(float(ev[k]), 3) for k, _ in (
        *METRICS, EXTRA[0], EXTRA[2])}, res["train_time_s"], ev["eval_time_s"])

  sweeps.train_runs(NAME, variants, seed_list, args.runs_root, size=cfg.run_size, on_done=on_done, workers=args.workers)
  keys = [k for k, _ in (*METRICS, *EXTRA)]
  stats = {v: sweeps.stats([{k: evals[v][s][k] for k in keys} for s in seed_list]) for v in variants}
  rows = [[label[v], configs.beta_norm(cfg).get(v, "—"), *[stats[v][k] for k in keys]] for v in variants]
  best = max((v for v in variants if v in betas and v != reference),
             key=lambda v: float(np.mean([stats[v][k]["mean"] for k in HEADLINE])))
  shown = list(dict.fromkeys([reference, best]))
  tables = {"Disentanglement on sprites (mean ± std over seeds)": sweeps.table(
                ["model", "β_norm", *[t for _, t in (*METRICS, *EXTRA)]], rows),
            "Factor → latent (DCI importance, seed 0)": sweeps.table(
                ["model", *sprites.FACTOR_NAMES],
                [[label[v], *latent_factors.factor_latent_cells(evals[v][s0]["importance"])] for v in variants])}
  tables.update({f"Latent → factor, {label[v]} (seed {s0})": sweeps.table(
      ["latent", "KL (nats)", "factor (DCI)", "share", "runner-up", "factor (MI/H)"], latent_factors.latent_factor_rows(
          *(evals[v][s0][k] for k in ("kl_per_dim", "importance", "mi_normalised")), sprites.FACTOR_NAMES,
          active_kl=ACTIVE_KL)) for v in shown})
  image, figures = sprites.render(np.asarray([cfg.traversal_base], np.int32), resolution=cfg.resolution), []
  for v in reversed(shown):  # latent traversals from a centred heart, rows by KL, named by their DCI factor
    panel = evaluation.factor_traversal(*runs[v], image, evals[v][s0]["kl_per_dim"], evals[v][s0]["importance"],
                                        sprites.FACTOR_NAMES, active_kl=ACTIVE_KL,
                                        values=np.linspace(-cfg.traversal_range, cfg.traversal_range, 9))
    figures.append(str(plots.traversal_panels([(f"{label[v]}: latent traversal (seed {s0}), rows by KL", *panel)],
                                              os.path.join(figures_dir, f"{cfg.name}_traversal_{v}.png"))))
  figures += [kl_figures[v] for v in variants]
  notes = [*configs.notes(cfg, seed_list), *verdict(evals, best, reference, cfg)]
  path = sweeps.write_results(setup.results_dir, cfg.name, args=args, command=setup.command, started=setup.started,
                              tables=tables, figures=figures, notes=notes)
  logger.info("%s\nwrote %s (%.0f s)", "\n".join(notes[-2:]), path, time.time() - setup.started)
  return path


if __name__ == "__main__":
  sweeps.run_script(main)
