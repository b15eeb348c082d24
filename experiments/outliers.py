"""Outlier detection with AE, DAE and VAE scores: a held-out Fashion-MNIST class, and MNIST vs Fashion-MNIST.

    python -m experiments.outliers                # full: the report's numbers
    python -m experiments.outliers --size quick   # 234 steps, K = 20, 1300 test images
    python -m experiments.outliers --size smoke   # seconds (CI)

Protocol (full). Every model is trained on the Fashion-MNIST training set **without class 0 (T-shirt/top)**
(``data.exclude_label=0``; 54,000 images), Adam 1e-3, batch 128, 1872 steps (≈ 4.4 epochs), 3 seeds:
  * AE: MLP 784-500-20-500-784, Bernoulli cross-entropy on grey pixels;
  * DAE: the same, trained with additive Gaussian noise σ = 0.3;
  * VAE: the Flax example's MLP VAE (784-500-20, Bernoulli) on dynamically binarized images;
  * background VAE (for the likelihood ratio of Ren et al. 2019): the same VAE trained on the same images with 20 %
    of the pixels replaced by uniform random grey levels (drawn once per seed), then dynamically binarized.
Test sets (first images of each): inliers = 2000 Fashion-MNIST test images of the nine training classes;
(a) outliers = the 1000 test images of the held-out class 0; (b) outliers = 2000 MNIST test images. The VAEs score
binarized images (binarized once, key 1000), the AE and DAE grey images. One held-out class only: several classes
in turn would multiply the 20-minute budget. (b) reuses the class-0-less models, so its inliers are the nine
classes those models were trained on.
Scores (higher = more outlying): reconstruction MSE per pixel (AE, DAE, VAE posterior mean); for the VAE also
−ELBO (mean of the K log-weights) and the importance-sampled NLL with **K = 100** samples (not 5000: 30,000
images × 2 models × 3 seeds); the complexity-corrected NLL (NLL in bits minus the PNG length of the binarized
image, Serrà et al. 2020) and the likelihood ratio NLL − NLL_background (Ren et al. 2019). The PNG length alone
(no model) is given as a reference. AUROC and AUPRC with the outliers as the positive class (AUPRC's chance level
is the outlier fraction: 1/3 in (a), 1/2 in (b)).

Expected result: (a) is hard — T-shirts look like shirts, pullovers and dresses — and (b) splits by score. What to
look for in (b): whether the raw likelihood ranks MNIST as *more* likely than Fashion-MNIST (Nalisnick et al. 2019:
binarized digits have few ink pixels and are simple, which the PNG length alone shows), whether subtracting the PNG
length fixes (b) at the cost of (a) (T-shirts are more complex than the average inlier, so the correction pushes
them further in), and whether the grey-level AE and DAE separate MNIST's saturated strokes — a contrast that is
partly the input representation (grey for the AEs, binarized for the VAE), not only the model. Measured AUROC and
AUPRC for every model and score, and the mean score per test set (mean ± std over 3 seeds):
``experiments/results/outliers.json``, section 5 of ``experiments/REPORT.md``; the reading of those numbers:
``experiments/NOTES.md`` (Outliers). The wall time is ``wall_time_s`` in the results file.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time

import jax
import jax.numpy as jnp
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from experiments import fashion, sweeps
from experiments.configs import flax_vae_fashion
from vae_jax import data, evaluation, inference, train
from vae_jax.configs import Config, DataConfig, ModelConfig
from vae_jax.methods import ae
from vae_jax.evaluation import likelihood

NAME = "outliers"
logger = logging.getLogger(__name__)
HELD_OUT = 0
DAE_SIGMA = 0.3
BACKGROUND_RATE = 0.2  # fraction of pixels replaced by uniform noise in the background model's training data
TEST_KEY = 1000  # binarization of the test sets: fold_in(jax.random.key(TEST_KEY), set index)
BACKGROUND_KEY = 2000  # perturbation of the background model's data for seed s: jax.random.key(BACKGROUND_KEY + s)

SIZES = {
    "full": dict(num_steps=1872, hidden=(500,), latent_dim=20, batch_size=128, log_every=117, num_train=0,
                 num_in=2000, num_out_class=1000, num_out_mnist=2000, num_samples=100),
    "quick": dict(num_steps=234, hidden=(500,), latent_dim=20, batch_size=128, log_every=117, num_train=0,
                  num_in=500, num_out_class=300, num_out_mnist=500, num_samples=20),
    "smoke": dict(num_steps=4, hidden=(32,), latent_dim=4, batch_size=32, log_every=2, num_train=256,
                  num_in=64, num_out_class=64, num_out_mnist=64, num_samples=4),
}


def _run_fields(s: dict) -> dict:
  return dict(batch_size=s["batch_size"], num_steps=s["num_steps"], log_every=s["log_every"],
              eval_every=s["num_steps"], checkpoint_every=s["num_steps"],
              eval_batch_size=64 if s["num_train"] else 1000,
              figures=False, tensorboard=False, progress=False)


def ae_config(s: dict, *, corruption: str = "none", level: float = 0.0) -> Config:
  return Config(
      model=ModelConfig(kind="ae", hidden=s["hidden"], latent_dim=s["latent_dim"], likelihood="bernoulli"),
      method=ae.Config(corruption=corruption, noise_level=level),
      data=DataConfig(name="fashion_mnist", exclude_label=HELD_OUT, num_train=s["num_train"],
                      num_test=128 if s["num_train"] else 0),
      **_run_fields(s))


def vae_config(s: dict) -> Config:
  base = flax_vae_fashion.get_config()
  return dataclasses.replace(
      base, model=dataclasses.replace(base.model, hidden=s["hidden"], latent_dim=s["latent_dim"]),
      data=dataclasses.replace(base.data, exclude_label=HELD_OUT, num_train=s["num_train"],
                               num_test=128 if s["num_train"] else 0),
      **_run_fields(s))


def perturb(key: jax.Array, images: np.ndarray, *, rate: float) -> np.ndarray:
  """Replaces a fraction ``rate`` of the pixels by uniform grey levels k/255 (Ren et al. 2019's perturbation)."""
  k_hit, k_val = jax.random.split(key)
  hit = jax.random.bernoulli(k_hit, rate, images.shape)
  values = jax.random.randint(k_val, images.shape, 0, 256).astype(jnp.float32) / 255.0
  return np.asarray(jnp.where(hit, values, jnp.asarray(images)))


def train_background(config: Config, seed: int, runs_root: str, size: str) -> dict:
  """The background VAE of one seed, on perturbed training images (``train_runs`` takes no in-memory splits)."""
  config = dataclasses.replace(config, seed=seed)
  train_split, test_split = train.load_splits(config, train.run_keys(seed).eval)
  images = perturb(jax.random.key(BACKGROUND_KEY + seed), train_split.images, rate=BACKGROUND_RATE)
  workdir = os.path.join(runs_root, NAME, size, "vae_background", f"seed{seed}")
  return train.train_and_evaluate(config, workdir, splits=(train_split._replace(images=images), test_split))


def reconstruction_mse(model, params, images: np.ndarray, *, batch_size: int = 1000) -> np.ndarray:
  """Per-image MSE of the images decoded from the code (AE) or the posterior mean (VAE)."""
  recon = inference.reconstruct(model, params, images, batch_size=batch_size)
  return np.asarray(evaluation.per_image_mse(recon, images))


def test_sets(s: dict) -> dict[str, dict[str, np.ndarray]]:
  """``{"grey"|"binary": {"in", "class", "mnist": images}}``."""
  fashion = data.load("fashion_mnist", split="test")
  mnist = data.load("mnist", split="test")
  grey = {"in": fashion.images[np.flatnonzero(fashion.labels != HELD_OUT)[:s["num_in"]]],
          "class": fashion.images[np.flatnonzero(fashion.labels == HELD_OUT)[:s["num_out_class"]]],
          "mnist": mnist.images[:s["num_out_mnist"]]}
  key = jax.random.key(TEST_KEY)
  binary = {name: np.asarray(data.binarize_dynamic(jax.random.fold_in(key, i), x)) for i, (name, x) in
            enumerate(grey.items())}
  return {"grey": grey, "binary": binary}


def detection(scores: dict[str, np.ndarray]) -> dict[str, float]:
  """AUROC/AUPRC of (a) held-out class vs inliers and (b) MNIST vs inliers."""
  out = {}
  for name, outliers in (("a", "class"), ("b", "mnist")):
    out[f"auroc_{name}"] = float(evaluation.auroc(scores["in"], scores[outliers]))
    out[f"auprc_{name}"] = float(evaluation.auprc(scores["in"], scores[outliers]))
  return out


def histogram_figure(panels: list[tuple[str, dict[str, np.ndarray]]], labels: dict[str, str], path: str, *,
                     title: str) -> str:
  """One panel per score: overlaid histograms of the inliers' and both outlier sets' scores."""
  fig = Figure(figsize=(4.0 * len(panels), 3.2), dpi=100)
  axes = fig.subplots(1, len(panels), squeeze=False)[0]
  for ax, (name, scores) in zip(axes, panels):
    values = np.concatenate([np.asarray(v, np.float64) for v in scores.values()])
    bins = np.linspace(*np.percentile(values, [0.5, 99.5]), 40)
    for key, label in labels.items():
      ax.hist(np.asarray(scores[key], np.float64), bins=bins, histtype="step", density=True, label=label)
    ax.set_xlabel(name, fontsize=8)
    ax.set_yticks([])
  axes[0].legend(fontsize=7)
  fig.suptitle(title, fontsize=9)
  fig.tight_layout()
  FigureCanvasAgg(fig)
  fig.savefig(path, format="png")
  return path


def main(argv: list[str] | None = None) -> str:
  setup = sweeps.begin(sweeps.parser(__doc__), NAME, argv)
  args, seed_list = setup.args, setup.seeds
  s = SIZES[args.size]
  sets = test_sets(s)
  is_key = jax.random.key(TEST_KEY + 1)

  # per_seed[(model, score)][seed] -> per-set score arrays
  per_seed: dict[tuple[str, str], dict[int, dict[str, np.ndarray]]] = {}
  nll_by_seed: dict[int, dict[str, np.ndarray]] = {}

  def record(model_name, score_name, seed, scores):
    per_seed.setdefault((model_name, score_name), {})[seed] = scores

  def on_done(variant, seed, res):
    model, params = res["model"], jax.device_get(res["state"].params)
    kind = "binary" if variant == "vae" else "grey"
    record(variant.upper(), "reconstruction MSE", seed,
           {k: reconstruction_mse(model, params, x) for k, x in sets[kind].items()})
    if variant == "vae":
      t0 = time.time()
      out = {k: likelihood.importance_sampled_nll(is_key, model, params, x, num_samples=s["num_samples"])
             for k, x in sets["binary"].items()}
      nll_by_seed[seed] = {k: o["nll"] for k, o in out.items()}
      record("VAE", "−ELBO", seed, {k: -o["elbo"] for k, o in out.items()})
      record("VAE", f"NLL (IS, K={s['num_samples']})", seed, nll_by_seed[seed])
      record("VAE", "complexity-corrected NLL", seed,
             {k: evaluation.complexity_corrected_score(o["nll"], sets["binary"][k]) for k, o in out.items()})
      logger.info("IS-NLL of %d images took %.0f s", sum(len(x) for x in sets["binary"].values()), time.time() - t0)
    logger.info("%s seed %d done", variant, seed)

  variants = {"ae": ae_config(s), "dae": ae_config(s, corruption="gaussian", level=DAE_SIGMA), "vae": vae_config(s)}
  sweeps.train_runs(NAME, variants, seed_list, args.runs_root, size=args.size, on_done=on_done, workers=args.workers)
  for seed in seed_list:
    res = train_background(vae_config(s), seed, args.runs_root, args.size)
    params = jax.device_get(res["state"].params)
    nll_bg = {k: likelihood.importance_sampled_nll(is_key, res["model"], params, x, num_samples=s["num_samples"])["nll"]
              for k, x in sets["binary"].items()}
    record("VAE", "likelihood ratio (NLL − NLL background)", seed,
           {k: np.asarray(evaluation.likelihood_ratio_score(nll_by_seed[seed][k], nll_bg[k])) for k in nll_bg})
    logger.info("background seed %d done", seed)
  png = {k: evaluation.png_complexity_bits(x) for k, x in sets["binary"].items()}

  rows = []
  for (model_name, score_name), by_seed in per_seed.items():
    metrics = [detection(scores) for scores in by_seed.values()]
    rows.append([model_name, score_name, *(sweeps.mean_std([m[c] for m in metrics])
                                          for c in ("auroc_a", "auprc_a", "auroc_b", "auprc_b"))])
  png_metrics = detection(png)
  rows.append(["none", "PNG length of the binarized image", *(png_metrics[c] for c in
                                                              ("auroc_a", "auprc_a", "auroc_b", "auprc_b"))])
  held = fashion.CLASSES[HELD_OUT]
  table = sweeps.table(["model", "score", f"(a) AUROC: {held} out", "(a) AUPRC", "(b) AUROC: MNIST out",
                        "(b) AUPRC"], rows)

  mean_rows = []
  for score_name in (f"NLL (IS, K={s['num_samples']})", "reconstruction MSE"):
    for model_name in (["VAE"] if score_name.startswith("NLL") else ["AE", "DAE", "VAE"]):
      by_seed = per_seed[(model_name, score_name)]
      mean_rows.append([model_name, score_name, *(sweeps.mean_std([float(np.mean(v[k])) for v in by_seed.values()])
                                                  for k in ("in", "class", "mnist"))])
  mean_rows.append(["none", "PNG length (bits)", *(float(np.mean(png[k])) for k in ("in", "class", "mnist"))])
  means = sweeps.table(["model", "score", "Fashion-MNIST inliers", f"held-out class ({held})", "MNIST"], mean_rows)

  seed0 = seed_list[0]
  panels = [("AE reconstruction MSE", per_seed[("AE", "reconstruction MSE")][seed0]),
            (f"VAE NLL (K={s['num_samples']}), nats", per_seed[("VAE", f"NLL (IS, K={s['num_samples']})")][seed0]),
            ("VAE complexity-corrected NLL, bits", per_seed[("VAE", "complexity-corrected NLL")][seed0]),
            ("VAE likelihood ratio, nats", per_seed[("VAE", "likelihood ratio (NLL − NLL background)")][seed0])]
  figure = histogram_figure(panels, {"in": "Fashion-MNIST (in)", "class": f"{held} (held out)", "mnist": "MNIST"},
                            os.path.join(setup.figures_dir, f"{NAME}_scores.png"),
                            title=f"Outlier scores (seed {seed0})")
  notes = [f"Models trained without Fashion-MNIST class {HELD_OUT} ({held}), {s['num_steps']} steps of batch "
           f"{s['batch_size']}; mean ± std over seeds {seed_list}.",
           f"Test sets: {len(sets['grey']['in'])} inliers (Fashion-MNIST test, classes ≠ {HELD_OUT}), "
           f"{len(sets['grey']['class'])} held-out-class and {len(sets['grey']['mnist'])} MNIST test images (the "
           "first of each). VAE scores on binarized images (binarized once), AE/DAE on grey images.",
           f"IS-NLL and −ELBO from K={s['num_samples']} importance samples; complexity correction with PNG lengths "
           f"(Serrà et al. 2020); background VAE trained on {BACKGROUND_RATE:.0%}-perturbed images (Ren et al. 2019).",
           "Every score is 'higher = more outlying'; an AUROC below 0.5 means the score ranks the outliers as *more* "
           "typical than the inliers."]
  path = sweeps.write_results(setup.results_dir, NAME, args=args, command=setup.command, started=setup.started,
                              tables={"Outlier detection (outliers = positive class)": table,
                                      "Mean score per test set": means},
                              figures=[figure], notes=notes)
  logger.info("wrote %s", path)
  return path


if __name__ == "__main__":
  logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s", force=True)
  logger.setLevel(logging.INFO)
  main()
