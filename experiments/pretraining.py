"""Unsupervised pre-training as feature learning: linear-probe accuracy on AE, DAE, VAE and β-VAE codes vs raw pixels.

    python -m experiments.pretraining                # full: the report's numbers
    python -m experiments.pretraining --size smoke   # seconds (CI); quick: ~2 minutes

The protocol and the expected result: ``experiments/configs/pretraining.py``. The stacked AE's rows are read from
``stacked.json`` (:func:`stacked_rows`).
"""

from __future__ import annotations

import json
import logging
import os

import jax

from experiments import fashion, sweeps
from experiments.configs import pretraining as configs
from vae_jax import data, evaluation, inference, plots

NAME = "pretraining"
logger = logging.getLogger(__name__)


def stacked_rows(results_dir: str, cfg) -> list[list]:
  """The stacked AE's rows from ``<results_dir>/stacked.json`` (its probe column, in %), or a placeholder row."""
  path = os.path.join(results_dir, "stacked.json")
  stacked = json.load(open(path)) if os.path.exists(path) else {}
  table = stacked.get("tables", {}).get(cfg.stacked_table)
  if not table or cfg.stacked_probe_column not in table.get("columns", []):
    return [["stacked AE (experiments/stacked.py)", 30, None, None, "not run yet: no stacked.json"]]
  col = table["columns"].index(cfg.stacked_probe_column)
  note = next((n for n in stacked.get("notes", []) if "linear probe" in n), "")
  where = note[note.index("linear probe"):].rstrip(".") if note else "see stacked.json"
  rows = []
  for row in table["rows"]:
    st = row[col]
    if isinstance(st, dict) and "mean" in st:
      st = {**st, "mean": 100 * st["mean"], "std": 100 * st["std"], "values": [100 * v for v in st.get("values", [])]}
    rows.append([f"stacked AE {row[0]}", 30 if stacked.get("size") == "full" else None, st, None,
                 f"from stacked.json ({stacked.get('size')}); {where}"])
  return rows


def main(argv: list[str] | None = None) -> str:
  setup = sweeps.begin(sweeps.parser(__doc__, NAME), NAME, argv)
  args, seed_list, cfg = setup.args, setup.seeds, sweeps.load_config(NAME, setup.args.size)
  train_set = data.load("fashion_mnist", split="train")
  x_train, y_train = train_set.images[:cfg.probe_train], train_set.labels[:cfg.probe_train]
  x_test, y_test = fashion.test_set(cfg.num_test)
  raw = evaluation.linear_probe(x_train.reshape(len(x_train), -1), y_train, x_test.reshape(len(x_test), -1), y_test,
                                num_classes=10)
  probes: dict[str, dict[int, dict[str, float]]] = {}

  def on_done(variant, seed, res):
    model, params = res["model"], jax.device_get(res["state"].params)
    codes = [inference.encode(model, params, x, batch_size=2000).mean for x in (x_train, x_test)]
    out = evaluation.linear_probe(codes[0], y_train, codes[1], y_test, num_classes=10)
    probes.setdefault(variant, {})[seed] = {k: float(v) for k, v in out.items()}
    logger.info("%s seed %d: %s", variant, seed, probes[variant][seed])

  sweeps.train_runs(NAME, sweeps.variants(NAME, cfg), seed_list, args.runs_root, size=args.size, on_done=on_done,
                    workers=args.workers)
  rows = [["raw pixels", 784, 100 * float(raw["accuracy"]), 100 * float(raw["train_accuracy"]),
           f"{int(raw['num_steps'])} L-BFGS steps"]]
  for variant, label in configs.labels(cfg).items():
    per_seed = probes[variant].values()
    rows.append([label, cfg.latent_dim, *(sweeps.mean_std([100 * p[k] for p in per_seed])
                                          for k in ("accuracy", "train_accuracy")),
                 f"≤ {max(int(p['num_steps']) for p in per_seed)} L-BFGS steps"])
  rows += stacked_rows(setup.results_dir, cfg)  # a placeholder until experiments/stacked.py has run
  table = sweeps.table(["representation", "dim", "test accuracy (%)", "train accuracy (%)", "note"], rows)
  shown = [r for r in rows if r[2] is not None]
  figure = plots.accuracy_bars([r[0] for r in shown], [r[2]["mean"] if isinstance(r[2], dict) else r[2] for r in shown],
                               [r[2]["std"] if isinstance(r[2], dict) else 0.0 for r in shown],
                               os.path.join(setup.figures_dir, f"{NAME}_probe.png"),
                               xlabel="linear-probe test accuracy on Fashion-MNIST (%)")
  notes = [f"MLP models 784-{cfg.hidden[0]}-{cfg.latent_dim}, Bernoulli cross-entropy on grey pixels, Adam 1e-3, "
           f"batch {cfg.batch_size}, {cfg.num_steps} steps ({cfg.num_steps * cfg.batch_size / 60000:.1f} epochs), "
           f"no labels; mean ± std over seeds {seed_list}.",
           f"Linear probe (evaluation.linear_probe, l2=1e-4, ≤ 200 L-BFGS steps) trained on {len(x_train)} training "
           f"codes, tested on {len(x_test)} test codes."]
  path = sweeps.write_results(setup.results_dir, NAME, args=args, command=setup.command, started=setup.started,
                              tables={"Linear-probe accuracy on Fashion-MNIST": table}, figures=[figure], notes=notes)
  return path


if __name__ == "__main__":
  sweeps.run_script(main)
