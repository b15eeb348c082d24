"""Attribute vectors on Fashion-MNIST: move a VAE code by a class-mean difference and ask a classifier what it sees.

Protocol. The VAE is the one of ``experiments/semi_supervised.py`` (MLP 784-500-20, grey Fashion-MNIST,
Bernoulli; the same run directory, so it is trained once for both). Per seed:

1. The posterior means of the 60 000 training images give one attribute vector per ordered class pair,
   ``v(s→t) = mean code of class t − mean code of class s`` (:func:`vae_jax.latent.attribute_vector`).
2. Test images of class ``s`` are encoded, moved by ``α·v(s→t)`` (:func:`vae_jax.latent.apply_attribute`) for
   α ∈ {0, 0.5, 1, 1.5, 2} and decoded (the Bernoulli mean). α = 0 is the plain reconstruction.
3. A judge — an MLP classifier (784-512-256-10, :mod:`vae_jax.classifier`) trained on the real training images —
   labels each edited image. **Success** = the judge says ``t``; **drift** = pixel MSE between the edited image and
   the source image. Averaged over all 90 ordered pairs.
4. Baseline on the same images: the same arithmetic in pixel space, ``clip(x + α·(mean image of t − mean image of
   s), 0, 1)``.

Commands (from the repository root)::

    nice -n 5 .venv/bin/python -m experiments.attribute_vectors --size full
    .venv/bin/python -m experiments.attribute_vectors --size quick
    .venv/bin/python -m experiments.attribute_vectors --size smoke

Sizes: ``full``: the VAE of ``semi_supervised --size full`` (2000 steps), the judge trained 1500 steps (3.2 epochs),
100 test images per source class, 3 seeds. ``quick``: its quick VAE, judge 300 steps, 30 images per class.
``smoke``: a few steps of everything.

Expected result: at α = 1 most edited codes decode to images the judge assigns to the target class (success far
above the α = 0 rate, which is just the judge's confusion between s and t), rising with α at the price of more
drift. Compare with the pixel-space baseline: a judge may accept pixel-space superpositions, which still visibly
contain the source garment, as the target about as often as latent edits — the success rate measures evidence for
the target under this judge, not realism, and the drift shows what each edit costs. Measured success and drift per
α for both edits, the judge's accuracy on real test images and the success rate per class pair (mean ± std over 3
seeds; per pair: seed 0): ``experiments/results/attribute_vectors.json``, the "Attribute vectors" section of
``experiments/REPORT.md``; reading: ``experiments/NOTES.md`` (Attribute vectors).
"""

from __future__ import annotations

import dataclasses
import logging
import os

import jax
import jax.numpy as jnp
import numpy as np
import optax

from experiments import report, semi_supervised, sweeps
from vae_jax import classifier, inference, latent, modules, plots

NAME = "attribute_vectors"
CLASS_NAMES = ("T-shirt", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Boot")
ALPHAS = (0.0, 0.5, 1.0, 1.5, 2.0)
JUDGE_TX = optax.adam(1e-3)  # one object: the judge's compiled steps are reused across seeds
FIGURE_PAIRS = ((7, 9), (9, 5), (1, 3), (2, 4), (0, 6), (5, 8))  # (source, target) shown in the figure


@dataclasses.dataclass(frozen=True)
class Size:
  judge_hidden: tuple[int, ...]
  judge_steps: int
  per_class: int  # test images per source class


SIZES = {
    "full": Size(judge_hidden=(512, 256), judge_steps=1500, per_class=100),
    "quick": Size(judge_hidden=(512, 256), judge_steps=300, per_class=30),
    "smoke": Size(judge_hidden=(16,), judge_steps=2, per_class=4),
}


def train_judge(key: jax.Array, images, labels, s: Size):
  """An MLP classifier trained on the real (labelled) training images; returns ``(model, params)``."""
  k_init, k_train = jax.random.split(key)
  model = classifier.Classifier(modules.MLPEncoder(s.judge_hidden), num_classes=10)
  params = classifier.init_params(model, k_init, images[:2])
  params, _ = classifier.fit(k_train, model, params, images, labels, tx=JUDGE_TX, num_steps=s.judge_steps,
                             batch_size=128)
  return model, params


def pick_sources(key: jax.Array, labels: np.ndarray, per_class: int) -> dict[int, np.ndarray]:
  """``per_class`` random test rows for every class."""
  out = {}
  for c in range(10):
    rows = np.flatnonzero(labels == c)
    out[c] = rows[np.asarray(jax.random.permutation(jax.random.fold_in(key, c), len(rows)))[:per_class]]
  return out


def run_seed(seed: int, vae_run: dict, train_split, test_split, s: Size) -> dict:
  model = vae_run["model"]
  params = jax.device_get(vae_run["state"].params)
  k_judge, k_pick = jax.random.split(jax.random.fold_in(jax.random.key(seed), 11))
  judge, judge_params = train_judge(k_judge, jnp.asarray(train_split.images), jnp.asarray(train_split.labels), s)
  judge_acc = classifier.accuracy(judge, judge_params, test_split.images, test_split.labels)
  logging.info("seed %d: judge test accuracy %.4f", seed, judge_acc)

  codes = inference.encode(model, params, train_split.images, batch_size=2000).mean
  mean_images = np.stack([train_split.images[train_split.labels == c].mean(0) for c in range(10)])
  sources = pick_sources(k_pick, test_split.labels, s.per_class)
  success = {m: np.zeros((len(ALPHAS), 10, 10)) for m in ("latent", "pixel")}
  drift = {m: np.zeros((len(ALPHAS), 10, 10)) for m in ("latent", "pixel")}
  examples = {}
  for src in range(10):
    x = test_split.images[sources[src]]  # [m, 28, 28, 1]
    z = inference.encode(model, params, x, batch_size=len(x)).mean
    for tgt in range(10):
      if tgt == src:
        continue
      v = latent.attribute_vector(codes, train_split.labels, source=src, target=tgt)
      moved = np.stack([latent.apply_attribute(z, v, alpha=a) for a in ALPHAS])  # [A, m, latent]
      edited = {"latent": inference.decode(model, params, moved, batch_size=len(ALPHAS) * len(z)),
                "pixel": np.stack([np.clip(x + a * (mean_images[tgt] - mean_images[src])[None], 0.0, 1.0)
                                   for a in ALPHAS])}  # [A, m, 28, 28, 1]
      for method, imgs in edited.items():
        flat = imgs.reshape(-1, *imgs.shape[2:])
        pred = np.argmax(classifier.predict(judge, judge_params, flat, batch_size=len(flat)), -1)
        success[method][:, src, tgt] = np.mean(pred.reshape(len(ALPHAS), -1) == tgt, axis=1)
        drift[method][:, src, tgt] = np.mean((imgs - x[None]) ** 2, axis=(1, 2, 3, 4))
      if (src, tgt) in FIGURE_PAIRS:
        examples[(src, tgt)] = (x[:2], edited["latent"][:, :2], edited["pixel"][ALPHAS.index(1.0), :2])
  off = ~np.eye(10, dtype=bool)
  return {"judge_accuracy": judge_acc,
          "success": {m: [float(np.mean(a[i][off])) for i in range(len(ALPHAS))] for m, a in success.items()},
          "drift_mse": {m: [float(np.mean(a[i][off])) for i in range(len(ALPHAS))] for m, a in drift.items()},
          "success_matrix_alpha1": success["latent"][ALPHAS.index(1.0)].tolist(),
          "examples": examples}


def _figure(examples: dict, path: str, title: str) -> str:
  rows = []
  for (src, tgt), (x, latent_imgs, pixel_imgs) in examples.items():
    for i in range(len(x)):
      label = f"{CLASS_NAMES[src]}→{CLASS_NAMES[tgt]}" if i == 0 else ""
      rows.append((label, np.concatenate([x[i:i + 1], latent_imgs[:, i], pixel_imgs[i:i + 1]])))
  header = "source | latent α = " + ", ".join(f"{a:g}" for a in ALPHAS) + " | pixel α = 1"
  return str(plots.labelled_rows(rows, path, title=f"{title}: {header}", cell_inches=0.6))  # labelled image rows


def main(argv: list[str] | None = None) -> str:
  """Runs the experiment; returns the path of the results JSON."""
  setup = sweeps.begin(sweeps.parser(__doc__.split("\n")[0]), NAME, argv)
  args, seed_list = setup.args, setup.seeds
  s = SIZES[args.size]
  vae_config, vae_runs = semi_supervised.pretrained_vae(args, seed_list)
  train_split, test_split = semi_supervised.load_fashion(vae_config)
  per_seed = {}
  figures = []
  for seed in seed_list:
    out = run_seed(seed, vae_runs[seed], train_split, test_split, s)
    examples = out.pop("examples")
    if seed == seed_list[0]:
      figures.append(_figure(examples, os.path.join(setup.figures_dir, f"{NAME}.png"),
                             f"seed {seed}"))
    per_seed[seed] = out

  def cell(key, method, i):
    return sweeps.mean_std([per_seed[sd][key][method][i] for sd in seed_list])

  edits = sweeps.table(
      ["edit", "α", "judge says target (success)", "drift: pixel MSE to the source"],
      [[f"{method} space", a, cell("success", method, i), cell("drift_mse", method, i)]
       for method in ("latent", "pixel") for i, a in enumerate(ALPHAS)])
  first = per_seed[seed_list[0]]["success_matrix_alpha1"]
  matrix = sweeps.table(["source ↓ / target →", *CLASS_NAMES],
                        [[CLASS_NAMES[i], *("—" if i == j else round(first[i][j], 2) for j in range(10))]
                         for i in range(10)])
  judge = sweeps.mean_std([per_seed[sd]["judge_accuracy"] for sd in seed_list])
  tables = {f"Edited test images, mean over the 90 ordered class pairs ({len(seed_list)} seeds)": edits,
            f"Latent α = 1 success rate by class pair (seed {seed_list[0]})": matrix}
  for caption, t in tables.items():
    print(f"{caption}\n{report.render_table(t)}\n")
  notes = [f"Judge: MLP 784-{'-'.join(map(str, s.judge_hidden))}-10 trained {s.judge_steps} steps on the real "
           f"training images; its test accuracy on real images is {sweeps.fmt(judge, 4)}.",
           f"{s.per_class} test images per source class; the VAE is the semi_supervised '{args.size}' VAE "
           f"({vae_config.num_steps} steps)."]
  print(notes[0])
  path = sweeps.write_results(
      setup.results_dir, NAME, args=args, command=setup.command, started=setup.started,
      tables=tables, figures=figures, notes=notes)
  logging.info("wrote %s", path)
  return path


if __name__ == "__main__":
  # force: absl/orbax install a root handler at import time, which would swallow INFO progress lines
  logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", force=True)
  logging.getLogger("absl").setLevel(logging.WARNING)  # Orbax logs every checkpoint save at INFO through absl
  main()
