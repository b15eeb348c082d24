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
from experiments.configs import semi_supervised as configs
from vae_jax import evaluation, factory, inference, plots

NAME = "semi_supervised"
PAIRED = "Pre-trained minus random init, paired per label draw (test accuracy)"
_DRAWS = 1000  # pair id = _DRAWS * seed + draw


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
  acc: dict[str, dict[int, dict[int, float]]] = collections.defaultdict(lambda: collections.defaultdict(dict))

  def record(method, count, pair, value):  # pair: (seed, draw) as one int, the key of the paired comparison
    acc[method][count][pair] = float(value)
    logging.info("%s, %s labels, pair %d: test accuracy %.4f", method, count or "all", pair, value)

  for seed in seed_list:
    key_subset, key_init, key_train = jax.random.split(jax.random.key(seed), 3)
    backbones = {"random init": (factory.make_model(fashion_pretrain.architecture(pre), train_split.images.shape[1:]),
                                 None),
                 **{n.upper(): (runs[n][seed]["model"], jax.device_get(runs[n][seed]["state"].params))
                    for n in variants},
                 "stacked AE": (stacked_runs[seed]["model"], stacked_runs[seed]["params"])}
    codes = {name: [inference.encode(model, params, s.images).mean for s in (train_split, test_split)]
             for name, (model, params) in backbones.items() if params is not None}
    for i, (count, draws) in enumerate(zip(cfg.label_counts, cfg.label_draws, strict=True)):
      for d in range(draws):  # every backbone: the same labelled rows, head initialisation and batch order
        k = jax.random.fold_in(jax.random.fold_in(key_subset, i), d)
        rows = evaluation.balanced_subset(k, train_split.labels, count, num_classes=cfg.num_classes)
        init, order = jax.random.fold_in(key_init, 100 * i + d), jax.random.fold_in(key_train, 100 * i + d)
        pair = _DRAWS * seed + d
        for name, (model, params) in backbones.items():
          record(f"{name} fine-tuned" if params is not None else name, count, pair, evaluation.fine_tuned_accuracy(
              init, order, model, params, images[rows], jnp.asarray(train_split.labels[rows]), test_split.images,
              test_split.labels, tx=tx, num_steps=cfg.finetune_steps[i], batch_size=cfg.finetune_batch,
              num_classes=cfg.num_classes))
          if params is not None:
            probe = evaluation.linear_probe(codes[name][0][rows], train_split.labels[rows], codes[name][1],
                                            test_split.labels, num_classes=cfg.num_classes)
            record(f"{name} linear probe", count, pair, probe["accuracy"])

  count_names = [str(c) if c else f"all ({len(train_split.labels)})" for c in cfg.label_counts]
  stats = {method: [sweeps.mean_std(list(by_count[c].values())) for c in cfg.label_counts]
           for method, by_count in acc.items()}
  table = sweeps.table(["method", *(f"{n} labels" for n in count_names)],
                       [[method, *row] for method, row in stats.items()])
  paired = {m: [evaluation.paired_differences({p: {"acc": v} for p, v in by_count[c].items()},
                                              {p: {"acc": v} for p, v in acc["random init"][c].items()},
                                              ["acc"])["acc"] for c in cfg.label_counts]
            for m, by_count in acc.items() if m != "random init"}
  paired_table = sweeps.table(
      ["method", *(f"{n} labels: mean difference ± s.e." for n in count_names),
       *(f"{n} labels: pairs higher / pairs" for n in count_names)],
      [[m, *(evaluation.standard_error(p) for p in row),
        *(f"{p['higher']} / {p['n']}" for p in row)] for m, row in paired.items()])
  caption = (f"Test accuracy on {len(test_split.labels)} test images (mean ± std over {len(seed_list)} seeds × "
             "the label draws of each count)")
  figure = plots.mean_std_lines(
      stats, count_names, os.path.join(setup.figures_dir, f"{NAME}.png"), xlabel="labelled training examples",
      ylabel="test accuracy", title="Fashion-MNIST: pre-trained encoders vs random init",
      groups={m: m.removesuffix(" fine-tuned").removesuffix(" linear probe") for m in stats},
      dashed=[m for m in stats if m.endswith("linear probe")])
  notes = [*configs.notes(cfg, count_names, seed_list),
           *(f"Verdict, {n} labels (|mean difference| > 2 s.e.): better than random init: {', '.join(hi) or 'none'}; "
             f"worse: {', '.join(lo) or 'none'}; the rest within noise." for n, (hi, lo) in zip(count_names, [
                 evaluation.significant({m: row[j] for m, row in paired.items()}) for j in range(len(count_names))]))]
  path = sweeps.write_results(setup.results_dir, NAME, args=args, command=setup.command, started=setup.started,
                              tables={caption: table, PAIRED: paired_table}, figures=[figure], notes=notes)
  return path


if __name__ == "__main__":
  sweeps.run_script(main, verbose=("vae_jax",))
