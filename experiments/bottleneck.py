"""What a small bottleneck loses: AE test reconstruction error on Fashion-MNIST against the latent size.

    python -m experiments.bottleneck                # full: the report's numbers
    python -m experiments.bottleneck --size quick   # 234 steps, latent sizes 2, 8, 32 only
    python -m experiments.bottleneck --size smoke   # seconds (CI)

The protocol and the expected result: ``experiments/configs/bottleneck.py``.
"""

from __future__ import annotations

import logging
import os

import jax
import numpy as np

from experiments import fashion, sweeps
from vae_jax import evaluation, inference, plots

NAME = "bottleneck"
logger = logging.getLogger(__name__)


def main(argv: list[str] | None = None) -> str:
  setup = sweeps.begin(sweeps.parser(__doc__, NAME), NAME, argv)
  args, seed_list = setup.args, setup.seeds
  cfg = sweeps.load_config(NAME, args.size)
  images, labels = fashion.test_set(cfg.num_test)
  variants = sweeps.variants(NAME, cfg)
  metrics: dict[str, dict[int, dict[str, float]]] = {v: {} for v in variants}
  shown = fashion.one_per_class(labels)
  grid_rows = [("original", images[shown])]

  def on_done(variant, seed, res):
    params = jax.device_get(res["state"].params)
    scores = evaluation.reconstruction_scores(res["model"], params, images)
    metrics[variant][seed] = {k: float(np.mean(v)) for k, v in scores.items()}
    logger.info("%s seed %d: %s", variant, seed, metrics[variant][seed])
    if seed == seed_list[0]:
      recon = inference.reconstruct(res["model"], params, images[shown], batch_size=len(shown))
      grid_rows.append((f"d = {variants[variant].model.latent_dim}", recon))

  sweeps.train_runs(NAME, variants, seed_list, args.runs_root, size=args.size, on_done=on_done, workers=args.workers)

  rows = []
  for variant, config in variants.items():
    stat = sweeps.stats(metrics[variant].values(), scale={"mse": 1e3})  # MSE shown ×10⁻³
    rows.append([config.model.latent_dim, stat["mse"], stat["psnr"], stat["ssim"], stat["bce"]])
  table = sweeps.table(["latent size", "MSE per pixel (×10⁻³)", "PSNR (dB)", "SSIM", "cross-entropy (nats/image)"],
                       rows)
  fig = plots.labelled_rows(
      grid_rows, os.path.join(setup.figures_dir, "bottleneck_reconstructions.png"), cell_inches=0.7,
      title=f"AE reconstructions of Fashion-MNIST test images by latent size (seed {seed_list[0]})")
  n_steps = cfg.num_steps
  notes = [f"MLP AE 784-{cfg.hidden[0]}-d-{cfg.hidden[0]}-784, Bernoulli cross-entropy on grey pixels, Adam 1e-3, "
           f"batch {cfg.batch_size}, {n_steps} steps ({n_steps * cfg.batch_size / 60000:.1f} epochs); "
           f"metrics on {len(images)} test images; mean ± std over seeds {seed_list}."]
  path = sweeps.write_results(setup.results_dir, NAME, args=args, command=setup.command, started=setup.started,
                              tables={"Test reconstruction error vs latent size (AE)": table}, figures=[fig],
                              notes=notes)
  return path


if __name__ == "__main__":
  sweeps.run_script(main)
