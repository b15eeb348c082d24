"""Attribute vectors on Fashion-MNIST: move a VAE code by a class-mean difference and ask a classifier what it sees.

    nice -n 5 .venv/bin/python -m experiments.attribute_vectors --size full
    .venv/bin/python -m experiments.attribute_vectors --size quick
    .venv/bin/python -m experiments.attribute_vectors --size smoke

The protocol and the expected result: ``experiments/configs/attribute_vectors.py``.
"""

from __future__ import annotations

import logging
import os

import jax
import jax.numpy as jnp
import numpy as np
import optax

from experiments import fashion, sweeps
from experiments.configs.attribute_vectors import CLASS_NAMES
from vae_jax import classifier, evaluation, inference, plots

NAME = "attribute_vectors"


def run_seed(cfg, seed: int, vae_run: dict, train_split, test_split, tx) -> dict:
  model, params = vae_run["model"], jax.device_get(vae_run["state"].params)
  k_judge, k_pick = jax.random.split(jax.random.fold_in(jax.random.key(seed), 11))
  judge, judge_params = evaluation.train_judge(k_judge, jnp.asarray(train_split.images),
                                               jnp.asarray(train_split.labels), hidden=cfg.judge_hidden,
                                               num_steps=cfg.judge_steps, tx=tx)
  judge_acc = classifier.accuracy(judge, judge_params, test_split.images, test_split.labels)
  logging.info("seed %d: judge test accuracy %.4f", seed, judge_acc)
  rows = evaluation.pick_sources(k_pick, test_split.labels, cfg.per_class)
  out = evaluation.attribute_edits(
      model, params, judge, judge_params, inference.encode(model, params, train_split.images, batch_size=2000).mean,
      train_split.labels, np.stack([train_split.images[train_split.labels == c].mean(0) for c in range(10)]),
      {c: test_split.images[r] for c, r in rows.items()}, alphas=cfg.alphas, keep=cfg.figure_pairs)
  off = ~np.eye(10, dtype=bool)

  def over_pairs(by_method):  # per method and α: the mean over the 90 ordered pairs
    return {m: [float(np.mean(a[i][off])) for i in range(len(cfg.alphas))] for m, a in by_method.items()}

  return {"judge_accuracy": judge_acc, "shown": out["shown"], "success": over_pairs(out["success"]),
          "drift_mse": over_pairs(out["drift"]),
          "success_matrix_alpha1": out["success"]["latent"][cfg.alphas.index(1.0)].tolist()}


def main(argv: list[str] | None = None) -> str:
  """Runs the experiment; returns the path of the results JSON."""
  setup, cfg, vae_config, runs = fashion.shared_vae(NAME, __doc__, argv)
  args, seed_list = setup.args, setup.seeds
  train_split, test_split = fashion.splits(vae_config)
  tx = optax.adam(cfg.judge_lr)  # one object: the judge's compiled steps are reused across seeds
  per_seed = {seed: run_seed(cfg, seed, runs[seed], train_split, test_split, tx) for seed in seed_list}
  header = "source | latent α = " + ", ".join(f"{a:g}" for a in cfg.alphas) + " | pixel α = 1"
  rows = [(f"{CLASS_NAMES[src]}→{CLASS_NAMES[tgt]}" if i == 0 else "",
           np.concatenate([x[i:i + 1], latent_imgs[:, i], pixel_imgs[i:i + 1]]))
          for (src, tgt), (x, latent_imgs, pixel_imgs) in per_seed[seed_list[0]]["shown"].items()
          for i in range(len(x))]
  figure = str(plots.labelled_rows(rows, os.path.join(setup.figures_dir, f"{NAME}.png"),
                                   title=f"seed {seed_list[0]}: {header}", cell_inches=0.6))

  def cell(key, method, i):
    return sweeps.mean_std([per_seed[sd][key][method][i] for sd in seed_list])

  edits = sweeps.table(
      ["edit", "α", "judge says target (success)", "drift: pixel MSE to the source"],
      [[f"{method} space", a, cell("success", method, i), cell("drift_mse", method, i)]
       for method in ("latent", "pixel") for i, a in enumerate(cfg.alphas)])
  first = per_seed[seed_list[0]]["success_matrix_alpha1"]
  matrix = sweeps.table(["source ↓ / target →", *CLASS_NAMES],
                        [[CLASS_NAMES[i], *("—" if i == j else round(first[i][j], 2) for j in range(10))]
                         for i in range(10)])
  judge = sweeps.mean_std([per_seed[sd]["judge_accuracy"] for sd in seed_list])
  tables = {f"Edited test images, mean over the 90 ordered class pairs ({len(seed_list)} seeds)": edits,
            f"Latent α = 1 success rate by class pair (seed {seed_list[0]})": matrix}
  notes = [f"Judge: MLP 784-{'-'.join(map(str, cfg.judge_hidden))}-10 trained {cfg.judge_steps} steps on the real "
           f"training images; its test accuracy on real images is {sweeps.fmt(judge, 4)}.",
           f"{cfg.per_class} test images per source class; the VAE is the semi_supervised '{args.size}' VAE "
           f"({vae_config.num_steps} steps)."]
  path = sweeps.write_results(setup.results_dir, NAME, args=args, command=setup.command, started=setup.started,
                              tables=tables, figures=[figure], notes=notes)
  logging.info("wrote %s", path)
  return path


if __name__ == "__main__":
  sweeps.run_script(main, verbose=("vae_jax",))
