"""Outlier detection with AE, DAE and VAE scores: a held-out Fashion-MNIST class (a), and another dataset (b).

    python -m experiments.outliers                # full: the report's numbers
    python -m experiments.outliers --size smoke   # seconds (CI); quick: ~2 minutes

Protocol, sizes, expected result: ``experiments/configs/outliers.py``; results: ``experiments/results/outliers.json``.
"""

from __future__ import annotations

import dataclasses
import logging
import os

import jax
import numpy as np

from experiments import fashion, sweeps
from experiments.configs import outliers as configs
from vae_jax import data, evaluation, inference, noise, plots, train
from vae_jax.evaluation import likelihood

NAME = "outliers"
logger = logging.getLogger(__name__)
SCORES = {"mse": "reconstruction MSE", "elbo": "−ELBO", "nll": "NLL (IS, K={k})",
          "corrected": "complexity-corrected NLL", "ratio": "likelihood ratio (NLL − NLL background)"}
COLUMNS = ("auroc_a", "auprc_a", "auroc_b", "auprc_b")


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
  """AUROC/AUPRC of (a) held-out class vs inliers and (b) the outlier set vs inliers."""
  return {f"{m}_{name}": float(getattr(evaluation, m)(scores["in"], scores[out]))
          for name, out in (("a", "class"), ("b", "ood")) for m in ("auroc", "auprc")}


def main(argv: list[str] | None = None) -> str:
  setup = sweeps.begin(sweeps.parser(__doc__), NAME, argv)
  args, seed_list, cfg = setup.args, setup.seeds, configs.get_config(setup.args.size)
  variants, sets, is_key = configs.variants(cfg), test_sets(cfg), jax.random.key(cfg.test_key + 1)
  scores: dict[tuple[str, str], dict[int, dict[str, np.ndarray]]] = {}  # (variant, score) -> seed -> per set
  names = {k: v.format(k=cfg.num_samples) for k, v in SCORES.items()}

  def nll(model, params, x):
    return likelihood.importance_sampled_nll(is_key, model, params, x, num_samples=cfg.num_samples)

  def on_done(variant, seed, res):
    model, params = res["model"], jax.device_get(res["state"].params)
    sets_v = sets["binary" if variants[variant].data.binarize == "dynamic" else "grey"]
    add = lambda score, per_set: scores.setdefault((variant, score), {}).__setitem__(seed, per_set)  # noqa: E731
    add("mse", {k: np.asarray(evaluation.per_image_mse(inference.reconstruct(model, params, x), x))
                for k, x in sets_v.items()})
    if inference.is_stochastic(model, params, sets_v["in"]):
      out = {k: nll(model, params, x) for k, x in sets_v.items()}
      add("elbo", {k: -o["elbo"] for k, o in out.items()})
      add("nll", {k: o["nll"] for k, o in out.items()})
      add("corrected", {k: evaluation.complexity_corrected_score(o["nll"], sets_v[k]) for k, o in out.items()})
    logger.info("%s seed %d done", variant, seed)

  sweeps.train_runs(NAME, variants, seed_list, args.runs_root, size=args.size, on_done=on_done, workers=args.workers)
  bg = configs.vae_config(cfg)
  for seed in seed_list:  # the background model: the same VAE on perturbed training images (Ren et al. 2019)
    config = dataclasses.replace(bg, seed=seed)
    train_split, test_split = train.load_splits(config, train.run_keys(seed).eval)
    images = np.asarray(noise.uniform_replacement(jax.random.key(cfg.background_key + seed), train_split.images,
                                                  rate=cfg.background_rate))
    res = train.train_and_evaluate(config, os.path.join(args.runs_root, NAME, args.size, "vae_background",
                                                        f"seed{seed}"),
                                   splits=(train_split._replace(images=images), test_split))
    params, model_nll = jax.device_get(res["state"].params), scores[(cfg.background_of, "nll")][seed]
    scores.setdefault((cfg.background_of, "ratio"), {})[seed] = {
        k: np.asarray(evaluation.likelihood_ratio_score(model_nll[k], nll(res["model"], params, x)["nll"]))
        for k, x in sets["binary"].items()}
  png = {k: evaluation.png_complexity_bits(x) for k, x in sets["binary"].items()}

  held, ood = fashion.CLASSES[cfg.held_out], cfg.ood_name or (os.path.basename(os.path.normpath(cfg.ood_dir))
                                                      if cfg.ood_dir else "MNIST")
  rows = [[v.upper(), names[s], *(sweeps.mean_std([detection(p)[c] for p in by_seed.values()]) for c in COLUMNS)]
          for (v, s), by_seed in scores.items()]
  rows.append(["none", "PNG length of the binarized image", *(detection(png)[c] for c in COLUMNS)])
  table = sweeps.table(["model", "score", f"(a) AUROC: {held} out", "(a) AUPRC", f"(b) AUROC: {ood} out",
                        "(b) AUPRC"], rows)
  mean_rows = [[v.upper(), names[s], *(sweeps.mean_std([float(np.mean(p[k])) for p in scores[(v, s)].values()])
                                       for k in ("in", "class", "ood"))]
               for s in ("nll", "mse") for v in variants if (v, s) in scores]
  mean_rows.append(["none", "PNG length (bits)", *(float(np.mean(png[k])) for k in ("in", "class", "ood"))])
  means = sweeps.table(["model", "score", "Fashion-MNIST inliers", f"held-out class ({held})", ood], mean_rows)
  s0 = seed_list[0]
  figure = plots.score_histograms([(label, scores[(v, s)][s0]) for v, s, label in cfg.histograms],
                                  {"in": "Fashion-MNIST (in)", "class": f"{held} (held out)", "ood": ood},
                                  os.path.join(setup.figures_dir, f"{NAME}_scores.png"),
                                  title=f"Outlier scores (seed {s0})")
  notes = [f"Models trained without Fashion-MNIST class {cfg.held_out} ({held}), {cfg.num_steps} steps of batch "
           f"{cfg.batch_size}; mean ± std over seeds {seed_list}.",
           f"Test sets: {len(sets['grey']['in'])} inliers (Fashion-MNIST test, classes ≠ {cfg.held_out}), "
           f"{len(sets['grey']['class'])} held-out-class and {len(sets['grey']['ood'])} {ood} test images (the "
           "first of each). VAE scores on binarized images (binarized once), AE/DAE on grey images.",
           f"IS-NLL and −ELBO from K={cfg.num_samples} importance samples; complexity correction with PNG lengths "
           f"(Serrà et al. 2020); background VAE trained on {cfg.background_rate:.0%}-perturbed images (Ren et al. "
           "2019).",
           "Every score is 'higher = more outlying'; an AUROC below 0.5 means the score ranks the outliers as *more* "
           "typical than the inliers."]
  path = sweeps.write_results(setup.results_dir, NAME, args=args, command=setup.command, started=setup.started,
                              tables={"Outlier detection (outliers = positive class)": table,
                                      "Mean score per test set": means}, figures=[figure], notes=notes)
  logger.info("wrote %s", path)
  return path


if __name__ == "__main__":
  logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s", force=True)
  logger.setLevel(logging.INFO)
  main()
