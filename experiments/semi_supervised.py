"""Semi-supervised Fashion-MNIST: does unsupervised pre-training (AE, DAE, VAE, stacked AE) help with few labels?

    nice -n 5 .venv/bin/python -m experiments.semi_supervised --size full    # the report's numbers
    .venv/bin/python -m experiments.semi_supervised --size quick             # same protocol, shrunk
    .venv/bin/python -m experiments.semi_supervised --size smoke             # seconds: checks the script runs

The protocol and the expected result: ``experiments/configs/semi_supervised.py``.
"""

from __future__ import annotations

import collections
import logging
import os

import jax
import jax.numpy as jnp
import optax

from experiments import fashion, sweeps
from experiments.configs import fashion_pretrain
from vae_jax import evaluation, factory, inference, plots

NAME = "semi_supervised"


def main(argv: list[str] | None = None) -> str:
  """Runs the experiment; returns the path of the results JSON."""
  setup = sweeps.begin(sweeps.parser(__doc__, NAME), NAME, argv)
  args, seed_list = setup.args, setup.seeds
  cfg = sweeps.load_config(NAME, args.size)
  pre = cfg.pretrain
  variants = sweeps.variants(NAME, cfg)
  runs = sweeps.train_runs(fashion_pretrain.RUNS, variants, seed_list, args.runs_root, size=args.size,
                           workers=args.workers)
  stacked_runs = sweeps.greedy_runs(fashion_pretrain.RUNS, {"stacked_ae": fashion_pretrain.stacked_variant(pre)},
                                    seed_list, args.runs_root, size=args.size)["stacked_ae"]
  train_split, test_split = fashion.splits(next(iter(variants.values())))
  images = jnp.asarray(train_split.images)  # on device once, shared by every fine-tuning run
  tx = optax.adam(cfg.finetune_lr)  # one object: fit() reuses its compiled steps across runs
  acc: dict[str, dict[int, list[float]]] = collections.defaultdict(lambda: collections.defaultdict(list))

  def record(method, count, value):
    acc[method][count].append(float(value))
    logging.info("%s, %s labels: test accuracy %.4f", method, count or "all", value)

  for seed in seed_list:
    key_subset, key_init, key_train = jax.random.split(jax.random.key(seed), 3)
    backbones = {"random init": (factory.make_model(fashion_pretrain.architecture(pre), train_split.images.shape[1:]),
                                 None),
                 **{n.upper(): (runs[n][seed]["model"], jax.device_get(runs[n][seed]["state"].params))
                    for n in variants},
                 "stacked AE": (stacked_runs[seed]["model"], stacked_runs[seed]["params"])}
    codes = {name: [inference.encode(model, params, s.images).mean for s in (train_split, test_split)]
             for name, (model, params) in backbones.items() if params is not None}
    for i, count in enumerate(cfg.label_counts):
      rows = evaluation.balanced_subset(jax.random.fold_in(key_subset, i), train_split.labels, count,
                                        num_classes=cfg.num_classes)
      for j, (name, (model, params)) in enumerate(backbones.items()):
        record(f"{name} fine-tuned" if params is not None else name, count, evaluation.fine_tuned_accuracy(
            jax.random.fold_in(key_init, j), jax.random.fold_in(key_train, 100 * i + j), model, params, images[rows],
            jnp.asarray(train_split.labels[rows]), test_split.images, test_split.labels, tx=tx,
            num_steps=cfg.finetune_steps[i], batch_size=cfg.finetune_batch, num_classes=cfg.num_classes))
        if params is not None:
          probe = evaluation.linear_probe(codes[name][0][rows], train_split.labels[rows], codes[name][1],
                                          test_split.labels, num_classes=cfg.num_classes)
          record(f"{name} linear probe", count, probe["accuracy"])

  count_names = [str(c) if c else f"all ({len(train_split.labels)})" for c in cfg.label_counts]
  stats = {method: [sweeps.mean_std(by_count[c]) for c in cfg.label_counts] for method, by_count in acc.items()}
  table = sweeps.table(["method", *(f"{n} labels" for n in count_names)],
                       [[method, *row] for method, row in stats.items()])
  caption = f"Test accuracy on {len(test_split.labels)} test images (mean ± std over {len(seed_list)} seeds)"
  figure = plots.mean_std_lines(
      stats, count_names, os.path.join(setup.figures_dir, f"{NAME}.png"), xlabel="labelled training examples",
      ylabel="test accuracy", title="Fashion-MNIST: pre-trained encoders vs random init",
      groups={m: m.removesuffix(" fine-tuned").removesuffix(" linear probe") for m in stats},
      dashed=[m for m in stats if m.endswith("linear probe")])
  notes = [f"Stacked AE: 784-{pre.hidden[0]}-{pre.latent_dim} ReLU stack, greedy layer-wise pre-training "
           f"({pre.stage_steps} updates per stage) then end-to-end fine-tuning for the rest of the "
           f"{pre.num_steps}-update budget (vae_jax.stacked.greedy_pretrain).",
           f"Pre-training {pre.num_steps} updates (batch {pre.batch_size}); fine-tuning "
           + ", ".join(f"{st} steps for {n} labels" for st, n in zip(cfg.finetune_steps, count_names))
           + f" (Adam {cfg.finetune_lr:g}, batch min({cfg.finetune_batch}, labels)); linear probe: L-BFGS logistic "
           "regression, l2 = 1e-4, on the frozen code of the same labelled examples."]
  path = sweeps.write_results(setup.results_dir, NAME, args=args, command=setup.command, started=setup.started,
                              tables={caption: table}, figures=[figure], notes=notes)
  logging.info("wrote %s", path)
  return path


if __name__ == "__main__":
  sweeps.run_script(main, verbose=("vae_jax",))
