"""Outlier detection with AE, DAE and VAE scores: a held-out Fashion-MNIST class (a), and another dataset (b).

    python -m experiments.outliers                # full: the report's numbers
    python -m experiments.outliers --size smoke   # seconds (CI); quick: ~2 minutes
    python -m experiments.outliers --ood-dir DIR  # outlier set (b) from any MNIST-format IDX directory

The protocol and the expected result: ``experiments/configs/outliers.py``.
"""

from __future__ import annotations

import dataclasses
import os

import jax
import numpy as np

from experiments import fashion, sweeps
from experiments.configs import outliers as configs
from vae_jax import data, evaluation, noise, plots, train

NAME = "outliers"
SCORES = {"mse": "reconstruction MSE", "elbo": "−ELBO", "nll": "NLL (IS, K={k})",
          "corrected": "complexity-corrected NLL", "ratio": "likelihood ratio (NLL − NLL background)",
          "regret": "likelihood regret ({n} images per set)"}
METRICS = {"auroc": "AUROC", "auprc": "AUPRC", "fpr_at_tpr": "FPR at 95 % TPR"}  # evaluation functions: headers
COLUMNS = tuple(f"{m}_{s}" for s in "ab" for m in METRICS)


def test_sets(cfg) -> dict[str, dict[str, np.ndarray]]:
  """``{"grey"|"binary": {"in", "class", "ood": images}}``; ``binary``: binarized once (key ``cfg.test_key``)."""
  test = data.load("fashion_mnist", split="test")
  grey = {"in": test.images[np.flatnonzero(test.labels != cfg.held_out)[:cfg.num_in]],
          "class": test.images[np.flatnonzero(test.labels == cfg.held_out)[:cfg.num_out_class]],
          "ood": evaluation.outlier_images(cfg.ood_dir, test.images.shape[1:], num=cfg.num_out_ood)}
  key = jax.random.key(cfg.test_key)
  return {"grey": grey, "binary": {name: np.asarray(data.binarize_dynamic(jax.random.fold_in(key, i), x))
                                   for i, (name, x) in enumerate(grey.items())}}


def detection(scores: dict[str, np.ndarray]) -> dict[str, float]:
  """AUROC, AUPRC and FPR at 95 % TPR of (a) held-out class vs inliers and (b) the outlier set vs inliers."""
  return {f"{m}_{name}": float(getattr(evaluation, m)(scores["in"], scores[out]))
          for name, out in (("a", "class"), ("b", "ood")) for m in METRICS}


def main(argv: list[str] | None = None) -> str:
  p = sweeps.parser(__doc__, NAME)
  p.add_argument("--ood-dir", default=None, help="outlier set (b): an MNIST-format IDX directory holding "
                 "t10k-images-idx3-ubyte[.gz] of 28×28 images (default: the MNIST test set)")
  setup = sweeps.begin(p, NAME, argv)
  args, seed_list, cfg = setup.args, setup.seeds, sweeps.load_config(NAME, setup.args.size)
  if args.ood_dir:
    cfg.ood_dir = args.ood_dir
  variants, sets, is_key = sweeps.variants(NAME, cfg), test_sets(cfg), jax.random.key(cfg.test_key + 1)
  scores: dict[tuple[str, str], dict[int, dict[str, np.ndarray]]] = {}  # (variant, score) -> seed -> per set
  names = {k: v.format(k=cfg.num_samples, n=cfg.regret_images) for k, v in SCORES.items()}

  def on_done(variant, seed, res):
    sets_v = sets["binary" if variants[variant].data.binarize == "dynamic" else "grey"]
    for score, per_set in evaluation.model_outlier_scores(
        is_key, res["model"], jax.device_get(res["state"].params), sets_v, num_samples=cfg.num_samples,
        regret_steps=cfg.regret_steps if variant == cfg.background_of else None, regret_images=cfg.regret_images
    ).items():
      scores.setdefault((variant, score), {})[seed] = per_set

  sweeps.train_runs(NAME, variants, seed_list, args.runs_root, size=args.size, on_done=on_done, workers=args.workers)
  bg = configs.vae_config(cfg)
  for seed in seed_list:  # the background model: the same VAE on perturbed training images (Ren et al. 2019)
    config = dataclasses.replace(bg, seed=seed)
    train_split, test_split = fashion.splits(config)
    images = np.asarray(noise.uniform_replacement(jax.random.key(cfg.background_key + seed), train_split.images,
                                                  rate=cfg.background_rate))
    workdir = os.path.join(args.runs_root, NAME, args.size, "vae_background", f"seed{seed}")
    res = train.train_and_evaluate(config, workdir, splits=(train_split._replace(images=images), test_split))
    bg_nll = evaluation.model_outlier_scores(is_key, res["model"], jax.device_get(res["state"].params),
                                             sets["binary"], num_samples=cfg.num_samples)["nll"]
    scores.setdefault((cfg.background_of, "ratio"), {})[seed] = {
        k: np.asarray(evaluation.likelihood_ratio_score(v, bg_nll[k]))
        for k, v in scores[(cfg.background_of, "nll")][seed].items()}
  png = {k: evaluation.png_complexity_bits(x) for k, x in sets["binary"].items()}

  held, ood = fashion.CLASSES[cfg.held_out], configs.ood_name(cfg)
  rows = [[v.upper(), names[s], *(sweeps.mean_std([detection(p)[c] for p in by_seed.values()]) for c in COLUMNS)]
          for (v, s), by_seed in scores.items()]
  rows.append(["none", "PNG length of the binarized image", *(detection(png)[c] for c in COLUMNS)])
  table = sweeps.table(["model", "score", *(f"({s}) {h}" + (f": {o} out" if m == "auroc" else "")
                                            for s, o in (("a", held), ("b", ood)) for m, h in METRICS.items())], rows)
  mean_rows = [[v.upper(), names[s], *(sweeps.mean_std([float(np.mean(p[k])) for p in scores[(v, s)].values()])
                                       for k in ("in", "class", "ood"))]
               for s in ("nll", "mse") for v in variants if (v, s) in scores]
  mean_rows.append(["none", "PNG length (bits)", *(float(np.mean(png[k])) for k in ("in", "class", "ood"))])
  means = sweeps.table(["model", "score", "Fashion-MNIST inliers", f"held-out class ({held})", ood], mean_rows)
  s0 = seed_list[0]
  figure = plots.score_histograms([(label.format(k=cfg.num_samples), scores[(v, s)][s0], *scale)
                                   for v, s, label, *scale in cfg.histograms],
                                  {"in": "Fashion-MNIST (in)", "class": f"{held} (held out)", "ood": ood},
                                  os.path.join(setup.figures_dir, f"{NAME}_scores.png"),
                                  title=f"Outlier scores (seed {s0})")
  notes = configs.notes(cfg, seed_list, {k: len(x) for k, x in sets["grey"].items()}, held)
  path = sweeps.write_results(setup.results_dir, NAME, args=args, command=setup.command, started=setup.started,
                              tables={"Outlier detection (outliers = positive class)": table,
                                      "Mean score per test set": means}, figures=[figure], notes=notes)
  return path


if __name__ == "__main__":
  sweeps.run_script(main)
