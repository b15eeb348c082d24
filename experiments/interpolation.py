"""Linear vs spherical interpolation between VAE codes on Fashion-MNIST, as figures and code-norm profiles.

    nice -n 5 .venv/bin/python -m experiments.interpolation --size full
    .venv/bin/python -m experiments.interpolation --size quick
    .venv/bin/python -m experiments.interpolation --size smoke

The protocol and the expected result: ``experiments/configs/interpolation.py``.
"""

from __future__ import annotations

import logging
import os

import jax
import jax.numpy as jnp
import numpy as np

from experiments import fashion, sweeps
from vae_jax import evaluation, inference, latent, plots

NAME = "interpolation"
METHODS = latent.INTERPOLATION_METHODS
KINDS = ("test pairs", "prior pairs")


def run_seed(cfg, seed: int, vae_run: dict, test_split) -> dict:
  """Norm profiles of both methods for both kinds of pairs, and the decoded paths shown in the figures."""
  model, params = vae_run["model"], jax.device_get(vae_run["state"].params)
  k_pairs, k_prior = jax.random.split(jax.random.fold_in(jax.random.key(seed), 13))
  a, b = evaluation.different_class_pairs(k_pairs, test_split.labels, cfg.num_pairs)
  z_a, z_b = (inference.encode(model, params, test_split.images[r], batch_size=len(a)).mean for r in (a, b))
  prior = jax.random.normal(k_prior, (2, cfg.num_pairs, z_a.shape[-1]), jnp.float32)
  stats, shown = {}, {}
  for kind, (z0, z1) in zip(KINDS, ((z_a, z_b), (prior[0], prior[1]))):
    stats[kind] = {}
    for method in METHODS:
      path = latent.interpolate(z0, z1, num_steps=cfg.num_steps, method=method)  # [steps, pairs, latent]
      stats[kind][method] = evaluation.norm_profile(path)
      few = path[:, :cfg.figure_pairs]
      shown[(kind, method)] = inference.decode(model, params, few, batch_size=few.shape[0] * few.shape[1])
  ends = (test_split.images[a[:cfg.figure_pairs]], test_split.images[b[:cfg.figure_pairs]])
  return {"stats": stats, "shown": shown, "endpoints": ends}


def figures(out: dict, path: str, title: str) -> list[str]:
  """One figure per kind of pair: a row per path and method; test paths framed by their real endpoint images."""
  paths = []
  for kind in KINDS:
    rows = []
    for p in range(out["shown"][(kind, METHODS[0])].shape[1]):
      for method in METHODS:
        images = out["shown"][(kind, method)][:, p]
        if kind == "test pairs":
          images = np.concatenate([out["endpoints"][0][p:p + 1], images, out["endpoints"][1][p:p + 1]])
        rows.append((f"{method}" if p else f"{method} (pair 1)", images))
    note = " (outer columns: the real images)" if kind == "test pairs" else ""
    paths.append(str(plots.labelled_rows(rows, path.replace(".png", f"_{kind.split()[0]}.png"),
                                         title=f"{title}: {kind}{note}", cell_inches=0.6)))
  return paths


def main(argv: list[str] | None = None) -> str:
  """Runs the experiment; returns the path of the results JSON."""
  setup, cfg, vae_config, runs = fashion.shared_vae(NAME, __doc__, argv)
  args, seed_list = setup.args, setup.seeds
  _, test_split = fashion.splits(vae_config)
  per_seed, figs = {}, []
  for seed in seed_list:
    out = run_seed(cfg, seed, runs[seed], test_split)
    if seed == seed_list[0]:
      figs += figures(out, os.path.join(setup.figures_dir, f"{NAME}.png"),
                      f"Fashion-MNIST VAE, linear vs slerp (seed {seed})")
    per_seed[seed] = out["stats"]

  keys = ("midpoint_norm_ratio", "min_norm_ratio", "midpoint_prior_percentile", "endpoint_norm")
  table = sweeps.table(
      ["pairs", "method", "midpoint ‖z‖ / endpoints' mean ‖z‖", "min ‖z‖ on the path / shorter endpoint",
       "prior percentile of midpoint ‖z‖²", "endpoint ‖z‖"],
      [[kind, method, *(sweeps.mean_std([per_seed[sd][kind][method][k] for sd in seed_list]) for k in keys)]
       for kind in KINDS for method in METHODS])
  caption = f"Code norms along {cfg.num_steps}-point paths ({cfg.num_pairs} pairs of each kind, {len(seed_list)} seeds)"
  path = sweeps.write_results(
      setup.results_dir, NAME, args=args, command=setup.command, started=setup.started,
      tables={caption: table}, figures=figs,
      notes=[f"The VAE is the semi_supervised '{args.size}' VAE ({vae_config.num_steps} steps); test pairs are "
             "posterior means of two test images of different classes, prior pairs two N(0, I) draws."])
  logging.info("wrote %s", path)
  return path


if __name__ == "__main__":
  sweeps.run_script(main, verbose=("vae_jax",))
