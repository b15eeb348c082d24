"""Unsupervised pre-training as feature learning: linear-probe accuracy on AE, DAE, VAE and β-VAE codes vs raw pixels.

    python -m experiments.pretraining                # full: the report's numbers
    python -m experiments.pretraining --size quick   # 234 steps, probe on 10,000 codes
    python -m experiments.pretraining --size smoke   # seconds (CI)

Protocol (full): four MLP models 784-500-20(-500-784), ReLU, Bernoulli cross-entropy on the grey Fashion-MNIST pixels
(no binarization, so all four see the same inputs), Adam 1e-3, batch 128, 2340 steps (5 epochs), 3 seeds, no
labels: an AE, a DAE with masking noise at rate 0.3 (Vincent et al. 2010's corruption for feature learning), a VAE
and a β-VAE with β = 4. Codes: the AE code, the VAE posterior mean, of all 60,000 training and 10,000 test images.
Probe: ``vae_jax.evaluation.linear_probe`` — multinomial logistic regression on standardised codes, L2 = 1e-4,
full-batch L-BFGS, at most 200 iterations — trained on the 60,000 training codes with their labels, accuracy on the
10,000 test codes. Raw pixels (784-d) are the baseline; the probe is deterministic, so that row has no spread.

Expected result: no 20-d code beats the raw pixels, but all keep most of their linear separability, and the
stronger the pull towards the prior, the less is kept (the β-VAE lowest). Measured test and train accuracy per
representation (mean ± std over 3 seeds), including the stacked AE's 30-d codes under their own protocol (probe
fitted on 10,000 codes): ``experiments/results/pretraining.json``, section 6 of ``experiments/REPORT.md``. Which
classes lose most is not measured.

Stacked autoencoder: the rows of the stacked-AE experiment (``experiments/stacked.py``, issue #6) are read from
``experiments/results/stacked.json`` when it exists (:func:`stacked_rows`); until then a placeholder row marks
their place. Run that experiment first to have them in this table.

The wall time is ``wall_time_s`` in ``experiments/results/pretraining.json``.
"""

from __future__ import annotations

import json
import logging
import os
import time

import jax
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from experiments import fashion, sweeps
from vae_jax import data, evaluation, inference
from vae_jax.configs import Config, DataConfig, ModelConfig
from vae_jax.methods import ae, beta_vae, vae

NAME = "pretraining"
logger = logging.getLogger(__name__)
BETA = 4.0
MASKING_RATE = 0.3
LABELS = {"ae": "AE", "dae": f"DAE (masking {MASKING_RATE:.0%})", "vae": "VAE (posterior mean)",
          "beta_vae": f"β-VAE, β={BETA:g} (posterior mean)"}

SIZES = {
    "full": dict(num_steps=2340, hidden=(500,), latent_dim=20, batch_size=128, log_every=117, num_train=0,
                 num_test=0, probe_train=60000),
    "quick": dict(num_steps=234, hidden=(500,), latent_dim=20, batch_size=128, log_every=117, num_train=0,
                  num_test=2000, probe_train=10000),
    "smoke": dict(num_steps=4, hidden=(32,), latent_dim=4, batch_size=32, log_every=2, num_train=256, num_test=128,
                  probe_train=256),
}


def make_config(variant: str, s: dict) -> Config:
  vae_like = variant in ("vae", "beta_vae")
  method = {
      "ae": ae.Config(),
      "dae": ae.Config(corruption="masking", noise_level=MASKING_RATE),
      "vae": vae.Config(),
      "beta_vae": beta_vae.Config(beta=BETA),
  }[variant]
  return Config(
      model=ModelConfig(kind="vae" if vae_like else "ae", hidden=s["hidden"], latent_dim=s["latent_dim"],
                        likelihood="bernoulli"),
      method=method,
      data=DataConfig(name="fashion_mnist", num_train=s["num_train"], num_test=s["num_test"]),
      batch_size=s["batch_size"], num_steps=s["num_steps"], log_every=s["log_every"], eval_every=s["num_steps"],
      checkpoint_every=s["num_steps"], eval_batch_size=min(1000, s["num_test"] or 1000), figures=False,
      tensorboard=False, progress=False)


def codes(model, params, images: np.ndarray, *, batch_size: int = 2000) -> np.ndarray:
  """``[N, latent]`` codes: the AE's code or the VAE's posterior mean."""
  return inference.encode(model, params, images, batch_size=batch_size).mean


# --- Stacked-AE rows: from the stacked-AE experiment (experiments/stacked.py) ----------------------------------------
STACKED_TABLE = "Fashion-MNIST, stacked AE"  # the caption of experiments/stacked.py's table
STACKED_PROBE_COLUMN = "linear probe accuracy"  # its column of sweeps.mean_std accuracies in [0, 1]


def stacked_rows(results_dir: str) -> list[list]:
  """The stacked autoencoder's rows, read from ``<results_dir>/stacked.json`` when that experiment has run.

  ``experiments/stacked.py`` (issue #6) writes a table ``STACKED_TABLE`` whose column ``STACKED_PROBE_COLUMN`` holds
  the linear-probe accuracy of its 30-d code per variant (greedy + fine-tune, end-to-end, greedy only). Its probe is
  fitted on fewer training codes than this script's (see its notes), which the note column says. Until the file
  exists, one placeholder row marks the place.
  """
  path = os.path.join(results_dir, "stacked.json")
  placeholder = [["stacked AE (experiments/stacked.py)", 30, None, None, "not run yet: no stacked.json"]]
  if not os.path.exists(path):
    return placeholder
  with open(path) as f:
    stacked = json.load(f)
  table = stacked.get("tables", {}).get(STACKED_TABLE)
  if not table or STACKED_PROBE_COLUMN not in table.get("columns", []):
    return placeholder
  col = table["columns"].index(STACKED_PROBE_COLUMN)
  probe_note = next((n for n in stacked.get("notes", []) if "linear probe" in n), "")
  where = probe_note[probe_note.index("linear probe"):].rstrip(".") if probe_note else "see stacked.json"
  rows = []
  for row in table["rows"]:
    st = row[col]
    if isinstance(st, dict) and "mean" in st:
      st = {**st, "mean": 100 * st["mean"], "std": 100 * st["std"], "values": [100 * v for v in st.get("values", [])]}
    dim = 30 if stacked.get("size") == "full" else None
    rows.append([f"stacked AE {row[0]}", dim, st, None, f"from stacked.json ({stacked.get('size')}); {where}"])
  return rows


def accuracy_figure(rows: list[list], path: str) -> str:
  names = [r[0] for r in rows if r[2] is not None]
  stats = [r[2] for r in rows if r[2] is not None]
  means = [st["mean"] if isinstance(st, dict) else st for st in stats]
  stds = [st["std"] if isinstance(st, dict) else 0.0 for st in stats]
  fig = Figure(figsize=(6.5, 0.5 + 0.45 * len(names)), dpi=100)
  ax = fig.add_subplot(1, 1, 1)
  ax.barh(range(len(names)), means, xerr=stds, capsize=3, color="tab:blue", alpha=0.8)
  ax.set_yticks(range(len(names)), names, fontsize=8)
  ax.invert_yaxis()
  right = max(m + sd for m, sd in zip(means, stds))
  ax.set_xlim(max(0.0, min(means) - 5.0), min(100.0, right + 2.0))
  for i, (m, sd) in enumerate(zip(means, stds)):
    ax.text(m + sd + 0.2, i, f"{m:.1f}", va="center", fontsize=8)
  ax.set_xlabel("linear-probe test accuracy on Fashion-MNIST (%)")
  fig.tight_layout()
  FigureCanvasAgg(fig)
  fig.savefig(path, format="png")
  return path


def main(argv: list[str] | None = None) -> str:
  setup = sweeps.begin(sweeps.parser(__doc__), NAME, argv)
  args, seed_list = setup.args, setup.seeds
  s = SIZES[args.size]

  n_train = s["probe_train"]
  train_set = data.load("fashion_mnist", split="train")
  x_train, y_train = train_set.images[:n_train], train_set.labels[:n_train]
  x_test, y_test = fashion.test_set(s["num_test"])
  n_test = len(x_test)

  t0 = time.time()
  raw = evaluation.linear_probe(x_train.reshape(n_train, -1), y_train, x_test.reshape(n_test, -1), y_test,
                                num_classes=10)
  logger.info("raw pixels: %.4f (%.0f s)", float(raw["accuracy"]), time.time() - t0)

  probes: dict[str, dict[int, dict[str, float]]] = {}

  def on_done(variant, seed, res):
    model, params = res["model"], jax.device_get(res["state"].params)
    out = evaluation.linear_probe(codes(model, params, x_train), y_train, codes(model, params, x_test), y_test,
                                  num_classes=10)
    probes.setdefault(variant, {})[seed] = {k: float(v) for k, v in out.items()}
    logger.info("%s seed %d: %s", variant, seed, probes[variant][seed])

  variants = {v: make_config(v, s) for v in LABELS}
  sweeps.train_runs(NAME, variants, seed_list, args.runs_root, size=args.size, on_done=on_done, workers=args.workers)

  rows = [["raw pixels", 784, 100 * float(raw["accuracy"]), 100 * float(raw["train_accuracy"]),
           f"{int(raw['num_steps'])} L-BFGS steps"]]
  for variant, label in LABELS.items():
    per_seed = probes[variant].values()
    rows.append([label, s["latent_dim"], sweeps.mean_std([100 * p["accuracy"] for p in per_seed]),
                 sweeps.mean_std([100 * p["train_accuracy"] for p in per_seed]),
                 f"≤ {max(int(p['num_steps']) for p in per_seed)} L-BFGS steps"])
  rows += stacked_rows(setup.results_dir)  # the stacked-AE rows (a placeholder until experiments/stacked.py has run)
  table = sweeps.table(["representation", "dim", "test accuracy (%)", "train accuracy (%)", "note"], rows)
  figure = accuracy_figure(rows, os.path.join(setup.figures_dir, f"{NAME}_probe.png"))
  notes = [f"MLP models 784-{s['hidden'][0]}-{s['latent_dim']}, Bernoulli cross-entropy on grey pixels, Adam 1e-3, "
           f"batch {s['batch_size']}, {s['num_steps']} steps ({s['num_steps'] * s['batch_size'] / 60000:.1f} epochs), "
           f"no labels; mean ± std over seeds {seed_list}.",
           f"Linear probe (evaluation.linear_probe, l2=1e-4, ≤ 200 L-BFGS steps) trained on {n_train} training "
           f"codes, tested on {n_test} test codes."]
  path = sweeps.write_results(setup.results_dir, NAME, args=args, command=setup.command, started=setup.started,
                              tables={"Linear-probe accuracy on Fashion-MNIST": table}, figures=[figure], notes=notes)
  logger.info("wrote %s", path)
  return path


if __name__ == "__main__":
  logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s", force=True)
  logger.setLevel(logging.INFO)
  main()
