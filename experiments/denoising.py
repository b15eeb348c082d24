"""Denoising autoencoder vs plain autoencoder under Gaussian and masking corruption of Fashion-MNIST.

    python -m experiments.denoising                # full: the report's numbers
    python -m experiments.denoising --size quick   # 234 steps, 2000 test images
    python -m experiments.denoising --size smoke   # seconds (CI)

Protocol (full): three MLP autoencoders 784-500-32-500-784 (ReLU, Bernoulli cross-entropy on grey pixels, Adam 1e-3,
batch 128, 2340 steps = 5 epochs, 3 seeds): a plain AE, a DAE trained with additive Gaussian noise σ = 0.3
(unclipped) and a DAE trained with masking noise at rate 0.3 (each pixel zeroed with probability 0.3). One DAE per
corruption family, trained at the middle level and tested at every level — five DAEs per family would not fit the
20-minute budget. Test: the whole 10,000-image test set, corrupted at σ ∈ {0.1, …, 0.5} and at masking rates
{10 %, …, 50 %} (the same noise for every model of a seed: key ``1000 + seed``), plus the clean input (level 0).
PSNR (dB, mean over images) and SSIM against the clean image, of the corrupted input itself (the baseline; for
Gaussian noise also clipped to [0, 1], the trivial denoiser), of the AE and of both DAEs. Figures: clean / noisy /
AE / DAE rows at three levels, one figure per family (seed 0).

Expected result: the matching DAE beats the AE at every level from 0.2 up, by more as the noise grows. At the lowest
Gaussian level nothing should beat the clipped noisy input, because the 32-d code's own reconstruction error is
larger than the noise. Across families, look at whether each DAE helps or hurts under the other family's noise and
on clean inputs. Measured PSNR and SSIM (mean ± std over 3 seeds) for every model, family and level:
``experiments/results/denoising.json``, section 2 of ``experiments/REPORT.md``; readings of the figures and the
masking DAE's brightness shift: ``experiments/NOTES.md`` (Denoising). The wall time of each run is ``wall_time_s``
in the results file.
"""

from __future__ import annotations

import logging
import os

import jax
import numpy as np

from experiments import fashion, sweeps
from vae_jax import evaluation, inference, noise, plots
from vae_jax.configs import Config, DataConfig, ModelConfig
from vae_jax.methods import ae

NAME = "denoising"
logger = logging.getLogger(__name__)

LEVELS = {"gaussian": (0.1, 0.2, 0.3, 0.4, 0.5), "masking": (0.1, 0.2, 0.3, 0.4, 0.5)}
TRAIN_LEVEL = 0.3
VARIANTS = {"ae": ("none", 0.0), "dae_gaussian": ("gaussian", TRAIN_LEVEL), "dae_masking": ("masking", TRAIN_LEVEL)}
LABELS = {"ae": "AE", "dae_gaussian": f"DAE (Gaussian σ={TRAIN_LEVEL})",
          "dae_masking": f"DAE (masking {TRAIN_LEVEL:.0%})"}
FIGURE_LEVELS = (0.1, 0.3, 0.5)
EVAL_KEY_OFFSET = 1000  # the test corruption of seed s uses jax.random.key(EVAL_KEY_OFFSET + s)

SIZES = {
    "full": dict(num_steps=2340, hidden=(500,), latent_dim=32, batch_size=128, log_every=117, num_train=0,
                 num_test=0),
    "quick": dict(num_steps=234, hidden=(500,), latent_dim=32, batch_size=128, log_every=117, num_train=0,
                  num_test=2000),
    "smoke": dict(num_steps=4, hidden=(32,), latent_dim=8, batch_size=32, log_every=2, num_train=256, num_test=128),
}


def make_config(corruption: str, level: float, s: dict) -> Config:
  return Config(
      model=ModelConfig(kind="ae", hidden=s["hidden"], latent_dim=s["latent_dim"], likelihood="bernoulli"),
      method=ae.Config(corruption=corruption, noise_level=level),
      data=DataConfig(name="fashion_mnist", num_train=s["num_train"], num_test=s["num_test"]),
      batch_size=s["batch_size"], num_steps=s["num_steps"], log_every=s["log_every"], eval_every=s["num_steps"],
      checkpoint_every=s["num_steps"], eval_batch_size=min(1000, s["num_test"] or 1000), figures=False,
      tensorboard=False, progress=False)


def corrupt(key: jax.Array, family: str, level: float, images: np.ndarray) -> np.ndarray:
  if family == "gaussian":
    return np.asarray(noise.gaussian_noise(key, images, stddev=level))
  return np.asarray(noise.masking_noise(key, images, rate=level))


def noisy_test_sets(seed: int, images: np.ndarray) -> dict[tuple[str, float], np.ndarray]:
  """``{(family, level): corrupted images}`` for one seed, plus ``("none", 0.0)``: the clean images."""
  key = jax.random.key(EVAL_KEY_OFFSET + seed)
  out = {("none", 0.0): images}
  for f, (family, levels) in enumerate(LEVELS.items()):
    for i, level in enumerate(levels):
      out[(family, level)] = corrupt(jax.random.fold_in(key, 100 * f + i), family, level, images)
  return out


def quality(pred: np.ndarray, clean: np.ndarray) -> dict[str, float]:
  psnr = np.asarray(evaluation.psnr(pred, clean))
  return {"psnr": float(np.mean(psnr)) if np.all(np.isfinite(psnr)) else float("inf"),
          "ssim": float(np.mean(evaluation.ssim(pred, clean)))}


def main(argv: list[str] | None = None) -> str:
  setup = sweeps.begin(sweeps.parser(__doc__), NAME, argv)
  args, seed_list = setup.args, setup.seeds
  s = SIZES[args.size]
  clean, labels = fashion.test_set(s["num_test"])
  shown = fashion.one_per_class(labels)
  inputs = {seed: noisy_test_sets(seed, clean) for seed in seed_list}
  conditions = list(inputs[seed_list[0]])

  # scores[column][condition] -> list over seeds of {"psnr", "ssim"}
  scores: dict[str, dict[tuple[str, float], list[dict[str, float]]]] = {}
  for seed in seed_list:
    for cond, x in inputs[seed].items():
      if cond[0] == "none":
        continue
      scores.setdefault("noisy", {}).setdefault(cond, []).append(quality(x, clean))
      scores.setdefault("clipped", {}).setdefault(cond, []).append(quality(np.clip(x, 0.0, 1.0), clean))
  outputs_seed0: dict[str, dict[tuple[str, float], np.ndarray]] = {}

  def on_done(variant, seed, res):
    model, params = res["model"], jax.device_get(res["state"].params)
    for cond, x in inputs[seed].items():
      recon = inference.reconstruct(model, params, x)
      scores.setdefault(variant, {}).setdefault(cond, []).append(quality(recon, clean))
      if seed == seed_list[0]:
        outputs_seed0.setdefault(variant, {})[cond] = recon[shown]
    logger.info("%s seed %d done", variant, seed)

  variants = {v: make_config(c, lvl, s) for v, (c, lvl) in VARIANTS.items()}
  sweeps.train_runs(NAME, variants, seed_list, args.runs_root, size=args.size, on_done=on_done, workers=args.workers)

  columns = ["noisy", "clipped", *VARIANTS]
  tables = {}
  for metric, caption in (("psnr", "PSNR (dB) against the clean test image"),
                          ("ssim", "SSIM against the clean test image")):
    rows = []
    for cond in conditions:
      row = [cond[0], cond[1]]
      for col in columns:
        vals = scores.get(col, {}).get(cond)
        row.append(None if vals is None else sweeps.mean_std([v[metric] for v in vals]))
      rows.append(row)
    tables[caption] = sweeps.table(["corruption", "level", "noisy input", "noisy, clipped to [0, 1]",
                                    *(LABELS[v] for v in VARIANTS)], rows)

  figures = []
  seed0 = seed_list[0]
  for family in LEVELS:
    rows = [("clean", clean[shown])]
    for level in FIGURE_LEVELS:
      cond = (family, level)
      rows.append((f"{family} {level:g}", np.clip(inputs[seed0][cond][shown], 0.0, 1.0)))
      rows += [("AE", outputs_seed0["ae"][cond]), ("DAE", outputs_seed0[f"dae_{family}"][cond])]
    figures.append(plots.labelled_rows(rows, os.path.join(setup.figures_dir, f"denoising_{family}.png"),
                                       title=f"{family} corruption: noisy input, AE and DAE outputs (seed {seed0})",
                                       cell_inches=0.7))
  notes = [f"MLP AE/DAE 784-{s['hidden'][0]}-{s['latent_dim']}-{s['hidden'][0]}-784, Bernoulli cross-entropy on grey "
           f"pixels, Adam 1e-3, batch {s['batch_size']}, {s['num_steps']} steps "
           f"({s['num_steps'] * s['batch_size'] / 60000:.1f} epochs); one DAE per family trained at level "
           f"{TRAIN_LEVEL}; {len(clean)} test images; mean ± std over seeds {seed_list} (the test noise differs per "
           "seed).",
           "Gaussian noise is additive and unclipped, as the DAE saw it in training; the 'clipped' column is the "
           "trivial denoiser clip(x̃, 0, 1). Level 0 is the clean input (the models' plain reconstruction quality)."]
  path = sweeps.write_results(setup.results_dir, NAME, args=args, command=setup.command, started=setup.started,
                              tables=tables, figures=figures, notes=notes)
  logger.info("wrote %s", path)
  return path


if __name__ == "__main__":
  logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s", force=True)
  logger.setLevel(logging.INFO)
  main()
