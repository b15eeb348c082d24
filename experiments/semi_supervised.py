"""Semi-supervised Fashion-MNIST: does unsupervised pre-training (AE, DAE, VAE, stacked AE) help with few labels?

Protocol. Four encoders are pre-trained without labels on the 60 000 Fashion-MNIST training images (MLP 784-500-20,
ReLU, grey images, Bernoulli cross-entropy, Adam 1e-3, batch 128, the same number of updates): a plain autoencoder
(``ae``), a denoising autoencoder (``dae``, 25 % masking noise) and a VAE (``vae``, posterior mean as the code),
each with the one training loop, and a stacked autoencoder of the same layer sizes, greedily pre-trained layer by
layer and then fine-tuned end to end (:func:`vae_jax.stacked.greedy_pretrain`; included when that module exists).
For 100, 1000 and all 60 000 labels (a class-balanced random subset per seed) each encoder is used as

* **fine-tuned**: encoder + a softmax head on the 20-d code (:mod:`vae_jax.classifier`), every weight trained with
  Adam 1e-3 for a fixed number of steps (below);
* **linear probe**: a multinomial logistic regression on the frozen code (:func:`vae_jax.evaluation.linear_probe`);

against the **same network from random init**, fine-tuned with the same steps. The table is test accuracy on the
10 000 test images, mean ± std over seeds (each seed re-draws the pre-training, the label subset and the head).

Commands (from the repository root)::

    nice -n 5 .venv/bin/python -m experiments.semi_supervised --size full    # the report's numbers
    .venv/bin/python -m experiments.semi_supervised --size quick             # same protocol, shrunk
    .venv/bin/python -m experiments.semi_supervised --size smoke             # seconds: checks the script runs

Sizes: ``full``: pre-training 2000 steps (4.3 epochs; the stacked AE: 600 per stage, then 800 end to end);
fine-tuning 150 / 300 / 1000 steps for 100 / 1000 / 60 000 labels (batch min(128, labels)); 3 seeds. ``quick``:
300 pre-training steps, 100 / 1000 / 10,000 labels with 40 / 80 / 200 fine-tuning steps, 2000 test images. ``smoke``: 256 training images, a
32-unit MLP, a few steps, 20 labels only, no DAE.

Expected result (the usual story): pre-trained encoders help most with 100 labels, the gap shrinks with more
labels, and fine-tuning beats a linear probe on the frozen code. Whether the gain from pre-training exceeds the
seed noise at this budget is what the table shows: test accuracy of every encoder, fine-tuned and probed, against
random init, per label count (mean ± std over 3 seeds): ``experiments/results/semi_supervised.json``, the
"Semi-supervised" section of ``experiments/REPORT.md``; reading: ``experiments/NOTES.md`` (Semi-supervised). The
pre-trained encoders of this script are reused by latent_transfer, attribute_vectors and interpolation.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import logging
import os

import jax
import jax.numpy as jnp
import numpy as np
import optax


from experiments import report, sweeps
from vae_jax import classifier, factory, inference, train
from vae_jax.configs import Config, DataConfig, ModelConfig, OptimizerConfig
from vae_jax.methods import ae, vae
from vae_jax.evaluation import linear_probe

NAME = "semi_supervised"
PRETRAIN_NAME = "fashion_pretrain"  # runs shared with attribute_vectors.py and interpolation.py
NUM_CLASSES = 10
ALL = 0  # "all labels"


@dataclasses.dataclass(frozen=True)
class Size:
  pretrain_steps: int
  log_every: int
  hidden: tuple[int, ...]
  latent_dim: int
  batch_size: int
  num_train: int  # 0 = all 60 000
  num_test: int  # 0 = all 10 000
  label_counts: tuple[int, ...]  # 0 = all
  finetune_steps: tuple[int, ...]  # one per label count
  stage_steps: int = 0  # stacked AE: greedy updates per stage (2 stages); end-to-end fine-tuning gets the rest
  finetune_lr: float = 1e-3


SIZES = {
    "full": Size(pretrain_steps=2000, log_every=200, hidden=(500,), latent_dim=20, batch_size=128, num_train=0,
                 num_test=0, label_counts=(100, 1000, ALL), finetune_steps=(150, 300, 1000), stage_steps=600),
    "quick": Size(pretrain_steps=300, log_every=100, hidden=(500,), latent_dim=20, batch_size=128, num_train=0,
                  num_test=2000, label_counts=(100, 1000, 10_000), finetune_steps=(40, 80, 200), stage_steps=100),
    "smoke": Size(pretrain_steps=4, log_every=2, hidden=(32,), latent_dim=4, batch_size=32, num_train=256,
                  num_test=128, label_counts=(20,), finetune_steps=(2,), stage_steps=2),
}


def pretrain_configs(size: str) -> dict[str, Config]:
  """The unsupervised encoders, one config each; ``vae`` is also the model of the latent-space experiments."""
  s = SIZES[size]
  base = Config(
      model=ModelConfig(kind="ae", architecture="mlp", hidden=s.hidden, latent_dim=s.latent_dim,
                        likelihood="bernoulli"),
      method=ae.Config(),
      optimizer=OptimizerConfig(name="adam", learning_rate=1e-3),
      data=DataConfig(name="fashion_mnist", binarize="none", num_train=s.num_train, num_test=s.num_test),
      batch_size=s.batch_size, num_steps=s.pretrain_steps, log_every=s.log_every, eval_every=s.pretrain_steps,
      checkpoint_every=s.pretrain_steps, keep_checkpoints=1, eval_batch_size=min(1000, s.num_test or 1000),
      figures=False, tensorboard=False, progress=size == "full")
  variants = {
      "ae": base,
      "dae": dataclasses.replace(base, method=ae.Config(corruption="masking", noise_level=0.25)),
      "vae": dataclasses.replace(base, model=dataclasses.replace(base.model, kind="vae"),
                                 method=vae.Config()),
  }
  if size == "smoke":  # the DAE differs from the AE only in its method's corruption: not worth a smoke run's seconds
    del variants["dae"]
  return variants


def pretrained_vae(args, seed_list) -> tuple[Config, dict[int, dict]]:
  """The ``vae`` of :func:`pretrain_configs` at ``args.size``, as the latent-space experiments use it: its config and
  ``{seed: results}`` of :func:`sweeps.train_runs` (the runs this script trains, reused when finished)."""
  config = pretrain_configs(args.size)["vae"]
  runs = sweeps.train_runs(PRETRAIN_NAME, {"vae": config}, seed_list, args.runs_root, size=args.size,
                           workers=args.workers)
  return config, runs["vae"]


def stacked_config(size: str) -> Config:
  """The stacked AE with the AE's layer sizes (784-500-20), greedily pre-trained: ``stage_steps`` updates per
  stage, then end-to-end fine-tuning for the rest of the same total budget as the other encoders."""
  from vae_jax.configs import StackedConfig  # with vae_jax/stacked.py

  s = SIZES[size]
  ae = pretrain_configs(size)["ae"]
  model = dataclasses.replace(ae.model, kind="stacked_ae", stacked_sizes=(*s.hidden, s.latent_dim))
  return dataclasses.replace(ae, model=model, stacked=StackedConfig(stage_steps=(s.stage_steps,)))


def pretrain_stacked(size: str, seed_list, runs_root: str) -> dict[int, tuple]:
  """Greedy layer-wise pre-training (:func:`vae_jax.stacked.greedy_pretrain`) per seed: ``{seed: (model, params)}``."""
  from vae_jax import stacked

  config = stacked_config(size)
  out = {}
  for seed in seed_list:
    workdir = os.path.join(runs_root, PRETRAIN_NAME, size, "stacked_ae", f"seed{seed}")
    res = stacked.greedy_pretrain(dataclasses.replace(config, seed=seed), workdir)
    out[seed] = (res["model"], res["params"])
  return out


def load_fashion(config: Config) -> tuple[train.Split, train.Split]:
  """(train, test) splits for ``config.data`` (grey Fashion-MNIST with labels)."""
  return train.load_splits(config, train.run_keys(config.seed).eval)


def balanced_subset(key: jax.Array, labels: np.ndarray, count: int) -> np.ndarray:
  """Row indices of ``count`` examples, ``count // classes`` per class, uniformly at random (all for ``count == 0``)."""
  if count == ALL or count >= len(labels):
    return np.arange(len(labels))
  order = np.asarray(jax.random.permutation(key, len(labels)))  # a random order of all rows; take each class's first
  rows = [order[labels[order] == c][:count // NUM_CLASSES] for c in range(NUM_CLASSES)]
  return np.sort(np.concatenate(rows))


def _stacked_available() -> bool:
  return importlib.util.find_spec("vae_jax.stacked") is not None


def main(argv: list[str] | None = None) -> str:
  """Runs the experiment; returns the path of the results JSON."""
  setup = sweeps.begin(sweeps.parser(__doc__.split("\n")[0]), NAME, argv)
  args, seed_list = setup.args, setup.seeds
  s = SIZES[args.size]
  variants = pretrain_configs(args.size)
  runs = sweeps.train_runs(PRETRAIN_NAME, variants, seed_list, args.runs_root, size=args.size, workers=args.workers)
  train_split, test_split = load_fashion(variants["vae"])
  images = jnp.asarray(train_split.images)  # on device once, shared by every fine-tuning run
  tx = optax.adam(s.finetune_lr)  # one object: fit() reuses its compiled steps across runs
  notes = []
  stacked_runs = {}
  if _stacked_available():
    stacked_runs = pretrain_stacked(args.size, seed_list, args.runs_root)
    notes.append(f"Stacked AE: 784-{s.hidden[0]}-{s.latent_dim} ReLU stack, greedy layer-wise pre-training "
                 f"({s.stage_steps} updates per stage) then end-to-end fine-tuning for the rest of the "
                 f"{s.pretrain_steps}-update budget (vae_jax.stacked.greedy_pretrain).")
  else:
    notes.append("Stacked AE not included: vae_jax/stacked.py (greedy layer-wise pre-training) is not available.")

  acc: dict[str, dict[int, list[float]]] = {}  # method -> label count -> accuracies over seeds

  def record(method, count, value):
    acc.setdefault(method, {}).setdefault(count, []).append(float(value))
    logging.info("%s, %s labels: test accuracy %.4f", method, count or "all", value)

  for seed in seed_list:
    key_subset, key_init, key_train = jax.random.split(jax.random.key(seed), 3)
    backbones = {"random init": (factory.make_model(variants["ae"].model, train_split.images.shape[1:]), None)}
    for name in variants:
      res = runs[name][seed]
      backbones[name.upper()] = (res["model"], jax.device_get(res["state"].params))
    if stacked_runs:
      backbones["stacked AE"] = stacked_runs[seed]
    codes = {name: (inference.encode(model, params, train_split.images).mean,
                    inference.encode(model, params, test_split.images).mean)
             for name, (model, params) in backbones.items() if params is not None}
    for i, count in enumerate(s.label_counts):
      rows = balanced_subset(jax.random.fold_in(key_subset, i), train_split.labels, count)
      labels = jnp.asarray(train_split.labels[rows])
      for j, (name, (model, params)) in enumerate(backbones.items()):
        clf = classifier.Classifier(model, NUM_CLASSES)
        clf_params = classifier.init_params(clf, jax.random.fold_in(key_init, j), train_split.images[:2])
        if params is not None:
          clf_params = classifier.with_pretrained(clf_params, params)
        clf_params, _ = classifier.fit(jax.random.fold_in(key_train, 100 * i + j), clf, clf_params, images[rows],
                                       labels, tx=tx, num_steps=s.finetune_steps[i], batch_size=128)
        record(f"{name} fine-tuned" if params is not None else name, count,
               classifier.accuracy(clf, clf_params, test_split.images, test_split.labels))
        if params is not None:
          train_codes, test_codes = codes[name]
          probe = linear_probe(train_codes[rows], train_split.labels[rows], test_codes, test_split.labels,
                               num_classes=NUM_CLASSES)
          record(f"{name} linear probe", count, probe["accuracy"])

  count_names = [str(c) if c else f"all ({len(train_split.labels)})" for c in s.label_counts]
  stats = {method: {name: sweeps.mean_std(by_count[c]) for name, c in zip(count_names, s.label_counts)}
           for method, by_count in acc.items()}
  table = sweeps.table(["method", *(f"{n} labels" for n in count_names)],
                       [[method, *(row[n] for n in count_names)] for method, row in stats.items()])
  caption = f"Test accuracy on {len(test_split.labels)} test images (mean ± std over {len(seed_list)} seeds)"
  print(report.render_table(table))
  figure = _plot(stats, count_names, os.path.join(setup.figures_dir, f"{NAME}.png"))
  notes.append(f"Pre-training {s.pretrain_steps} updates (batch {s.batch_size}); fine-tuning "
               + ", ".join(f"{st} steps for {n} labels" for st, n in zip(s.finetune_steps, count_names))
               + f" (Adam {s.finetune_lr:g}, batch min(128, labels)); linear probe: L-BFGS logistic regression, "
               "l2 = 1e-4, on the frozen code of the same labelled examples.")
  path = sweeps.write_results(
      setup.results_dir, NAME, args=args, command=setup.command, started=setup.started,
      tables={caption: table}, figures=[figure], notes=notes)
  logging.info("wrote %s", path)
  return path


def _plot(table, count_names, path):
  from matplotlib.backends.backend_agg import FigureCanvasAgg
  from matplotlib.figure import Figure

  fig = Figure(figsize=(6.4, 4.0), dpi=100)
  FigureCanvasAgg(fig)
  ax = fig.add_subplot(1, 1, 1)
  x = np.arange(len(count_names))
  encoders = list(dict.fromkeys(m.replace(" fine-tuned", "").replace(" linear probe", "") for m in table))
  for method, row in table.items():  # one colour per encoder; dashed: linear probe on the frozen code
    means = [row[n]["mean"] for n in count_names]
    stds = [row[n]["std"] for n in count_names]
    encoder = method.replace(" fine-tuned", "").replace(" linear probe", "")
    ax.errorbar(x, means, yerr=stds, marker="o", capsize=3, label=method, color=f"C{encoders.index(encoder)}",
                linestyle="--" if "probe" in method else "-")
  ax.set_xticks(x, [f"{n}" for n in count_names])
  ax.set_xlabel("labelled training examples")
  ax.set_ylabel("test accuracy")
  ax.set_title("Fashion-MNIST: pre-trained encoders vs random init", fontsize=10)
  ax.grid(alpha=0.3)
  ax.legend(fontsize=7, ncol=2)
  fig.tight_layout()
  fig.savefig(path)
  return path


if __name__ == "__main__":
  # force: absl/orbax install a root handler at import time, which would swallow INFO progress lines
  logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", force=True)
  logging.getLogger("absl").setLevel(logging.WARNING)  # Orbax logs every checkpoint save at INFO through absl
  main()
