"""Stacked autoencoder on Fashion-MNIST: greedy layer-wise pre-training vs end-to-end training (issue #6).

    nice -n 5 .venv/bin/python -m experiments.stacked --size full     # experiments/results/stacked.json
    .venv/bin/python -m experiments.stacked --size quick              # 300-update budget, smaller net
    .venv/bin/python -m experiments.stacked --size smoke              # seconds (tests)

The protocol and the expected result: ``experiments/configs/stacked.py``.
"""

from __future__ import annotations

import logging

import jax
import numpy as np

from experiments import fashion, sweeps
from experiments.configs.stacked import LABELS
from vae_jax import evaluation, inference, stacked

NAME = "stacked"
logger = logging.getLogger(__name__)


def evaluate(model, params, splits, *, num_probe: int) -> dict[str, float]:
  """Test BCE (nats/image), MSE (per pixel) and linear-probe accuracy of the code (num_probe train/test codes)."""
  (train_split, test_split), scores = splits, evaluation.reconstruction_scores(model, params, splits[1].images)
  train_codes, test_codes = (inference.encode(model, params, s.images[:num_probe]).mean for s in splits)
  probe = evaluation.linear_probe(train_codes, train_split.labels[:num_probe], test_codes,
                                  test_split.labels[:num_probe])
  return {"bce": float(np.asarray(scores["bce"]).mean()), "mse": float(np.asarray(scores["mse"]).mean()),
          "probe": float(probe["accuracy"])}


def outcomes(variant: str, config, res: dict) -> dict[str, tuple]:
  """``{row: (model, params, train time, updates)}`` of one run: a loop run, or a greedy one (with its stack before
  fine-tuning as the row ``pretrained`` when it was fine-tuned)."""
  if "stages" not in res:
    return {variant: (res["model"], jax.device_get(res["state"].params), res["train_time_s"],
                      f"{config.num_steps} end to end")}
  stage_time, per_stage = sum(s["train_time_s"] for s in res["stages"]), "+".join(map(str, stacked.stage_steps(config)))
  if res["finetune"] is None:
    return {variant: (res["model"], res["params"], stage_time, f"{per_stage} greedy")}
  return {variant: (res["model"], res["params"], stage_time + res["finetune"]["train_time_s"],
                    f"{per_stage} greedy + {stacked.finetune_steps(config)} end to end"),
          "pretrained": (res["model"], res["pretrained_params"], stage_time, f"{per_stage} greedy")}


def main(argv: list[str] | None = None) -> str:
  setup = sweeps.begin(sweeps.parser(__doc__, NAME), NAME, argv)
  args = setup.args
  cfg = sweeps.load_config(NAME, args.size)
  variants = sweeps.variants(NAME, cfg)
  config = next(iter(variants.values()))
  splits = fashion.splits(config)  # binarize='none': the same for every seed
  greedy = {n: c for n, c in variants.items() if c.stacked.stage_steps}
  runs = {**sweeps.greedy_runs(NAME, greedy, setup.seeds, args.runs_root, size=args.size, splits=splits),
          **sweeps.train_runs(NAME, {n: c for n, c in variants.items() if n not in greedy}, setup.seeds,
                              args.runs_root, size=args.size, splits=splits)}
  metrics: dict[str, list[dict]] = {name: [] for name in LABELS}
  steps: dict[str, str] = {}
  for variant, by_seed in runs.items():
    for seed, res in by_seed.items():
      for name, (model, params, train_time, updates) in outcomes(variant, variants[variant], res).items():
        metrics[name].append({**evaluate(model, params, splits, num_probe=cfg.num_probe), "train_time_s": train_time})
        steps[name] = updates
        logger.info("%s seed %d: %s", name, seed, metrics[name][-1])

  stats = {name: sweeps.stats(m, scale={"mse": 1e3}) for name, m in metrics.items()}  # MSE per pixel, ×10⁻³
  columns = ["variant", "updates", "test BCE (nats/image)", "test MSE per pixel (×10⁻³)", "linear probe accuracy",
             "train time (s)"]
  rows = [[label, steps[n], stats[n]["bce"], stats[n]["mse"], stats[n]["probe"], stats[n]["train_time_s"]]
          for n, label in LABELS.items()]
  sizes = "-".join(str(d) for d in (784, *config.model.stacked_sizes))
  notes = [f"Architecture {sizes} ({config.model.activation}, linear code, Bernoulli logits on grey levels), "
           f"Adam {config.optimizer.learning_rate:g}, batch {config.batch_size}, total budget {config.num_steps} "
           f"updates per run; data fashion_mnist (train {len(splits[0].images)}, test {len(splits[1].images)}); "
           f"linear probe on {cfg.num_probe} train / {cfg.num_probe} test codes.",
           "Greedy stage k ≥ 2 reconstructs the ReLU codes of the stages below (unit-variance Gaussian, decoder "
           "output through ReLU); the top stage's code is linear. Train time: seconds of fused training steps on a "
           "shared 2-core CPU (compilation included), indicative only."]
  path = sweeps.write_results(setup.results_dir, NAME, args=args, command=setup.command, started=setup.started,
                              tables={"Fashion-MNIST, stacked AE": sweeps.table(columns, rows)}, notes=notes)
  return path


if __name__ == "__main__":
  sweeps.run_script(main, verbose=("vae_jax",))
