"""Denoising autoencoder vs plain autoencoder under Gaussian and masking corruption of Fashion-MNIST.

    python -m experiments.denoising                # full: the report's numbers
    python -m experiments.denoising --size quick   # 234 steps, 2000 test images
    python -m experiments.denoising --size smoke   # seconds (CI)

The protocol and the expected result: ``experiments/configs/denoising.py``.
"""

from __future__ import annotations

import collections
import logging
import os

import jax
import numpy as np

from experiments import fashion, sweeps
from experiments.configs import denoising as protocol
from vae_jax import evaluation, inference, methods, plots

NAME = "denoising"
logger = logging.getLogger(__name__)


def noisy_test_sets(cfg, seed: int, images: np.ndarray) -> dict[tuple[str, float], np.ndarray]:
  """``{(family, level): corrupted images}`` for one seed, after ``("none", 0.0)``: the clean images."""
  key = jax.random.key(cfg.eval_key_offset + seed)
  out = {("none", 0.0): images}
  for f, family in enumerate(cfg.families):
    for i, level in enumerate(cfg.levels):
      corrupt = methods.make_corruption(family, level)
      out[(family, level)] = np.asarray(corrupt(jax.random.fold_in(key, 100 * f + i), images))
  return out


def quality(pred: np.ndarray, clean: np.ndarray) -> dict[str, float]:
  psnr = np.asarray(evaluation.psnr(pred, clean))
  return {"psnr": float(np.mean(psnr)) if np.all(np.isfinite(psnr)) else float("inf"),
          "ssim": float(np.mean(evaluation.ssim(pred, clean)))}


def main(argv: list[str] | None = None) -> str:
  setup = sweeps.begin(sweeps.parser(__doc__, NAME), NAME, argv)
  args, seed_list = setup.args, setup.seeds
  cfg = sweeps.load_config(NAME, args.size)
  clean, labels = fashion.test_set(cfg.num_test)
  shown = fashion.one_per_class(labels)
  inputs = {seed: noisy_test_sets(cfg, seed, clean) for seed in seed_list}
  scores = collections.defaultdict(dict)  # scores[column][condition] -> list over seeds of {"psnr", "ssim"}
  for seed in seed_list:
    for cond, x in list(inputs[seed].items())[1:]:  # the clean input has no noisy baseline
      scores["noisy"].setdefault(cond, []).append(quality(x, clean))
      scores["clipped"].setdefault(cond, []).append(quality(np.clip(x, 0.0, 1.0), clean))
  outputs_seed0: dict[str, dict[tuple[str, float], np.ndarray]] = collections.defaultdict(dict)

  def on_done(variant, seed, res):
    model, params = res["model"], jax.device_get(res["state"].params)
    for cond, x in inputs[seed].items():
      recon = inference.reconstruct(model, params, x)
      scores[variant].setdefault(cond, []).append(quality(recon, clean))
      if seed == seed_list[0]:
        outputs_seed0[variant][cond] = recon[shown]
    logger.info("%s seed %d done", variant, seed)

  variants = sweeps.variants(NAME, cfg)
  sweeps.train_runs(NAME, variants, seed_list, args.runs_root, size=args.size, on_done=on_done, workers=args.workers)

  labels = protocol.labels(cfg)
  tables = {}
  for metric, caption in (("psnr", "PSNR (dB) against the clean test image"),
                          ("ssim", "SSIM against the clean test image")):
    rows = [[*cond, *(None if cond not in scores[col] else sweeps.mean_std([v[metric] for v in scores[col][cond]])
                      for col in ("noisy", "clipped", *variants))] for cond in inputs[seed_list[0]]]
    tables[caption] = sweeps.table(["corruption", "level", "noisy input", "noisy, clipped to [0, 1]",
                                    *(labels[v] for v in variants)], rows)
  figures, seed0 = [], seed_list[0]
  for family in cfg.families:
    rows = [("clean", clean[shown])]
    for cond in ((family, level) for level in cfg.figure_levels):
      rows += [(f"{family} {cond[1]:g}", np.clip(inputs[seed0][cond][shown], 0.0, 1.0)),
               *((label, outputs_seed0[v][cond]) for label, v in protocol.figure_rows(family))]
    figures.append(plots.labelled_rows(rows, os.path.join(setup.figures_dir, f"denoising_{family}.png"),
                                       title=f"{family} corruption: noisy input, AE and DAE outputs (seed {seed0})",
                                       cell_inches=0.7))
  notes = [f"MLP AE/DAE 784-{cfg.hidden[0]}-{cfg.latent_dim}-{cfg.hidden[0]}-784, Bernoulli cross-entropy on grey "
           f"pixels, Adam 1e-3, batch {cfg.batch_size}, {cfg.num_steps} steps "
           f"({cfg.num_steps * cfg.batch_size / 60000:.1f} epochs); one DAE per family trained at level "
           f"{cfg.train_level}; {len(clean)} test images; mean ± std over seeds {seed_list} (the test noise differs "
           "per seed).",
           "Gaussian noise is additive and unclipped, as the DAE saw it in training; the 'clipped' column is the "
           "trivial denoiser clip(x̃, 0, 1). Level 0 is the clean input (the models' plain reconstruction quality)."]
  path = sweeps.write_results(setup.results_dir, NAME, args=args, command=setup.command, started=setup.started,
                              tables=tables, figures=figures, notes=notes)
  return path


if __name__ == "__main__":
  sweeps.run_script(main)
