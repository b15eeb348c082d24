"""Stacked autoencoder on Fashion-MNIST: greedy layer-wise pre-training vs end-to-end training (issue #6).

One architecture, 784-500-250-30 with ReLU hidden layers, a linear 30-d code and Bernoulli logits on grey levels
(``experiments/configs/stacked_fashion.py``), and one budget of T = 3000 Adam updates (batch 128, ≈ 6.4 epochs)
per run, spent three ways:

  (a) ``greedy + fine-tune``: T/6 updates per greedy stage (``vae_jax.stacked.greedy_pretrain``), then T/2 end to
      end from the stacked stages;
  (b) ``end-to-end``: T updates end to end from a random initialisation;
  (c) ``greedy only``: T/3 updates per stage, no fine-tuning.

The row ``greedy, before fine-tuning`` is (a)'s stack before its fine-tuning (T/2 updates, no extra training).
Metrics on the 10k test images: per-image BCE (nats/image, summed over pixels) and MSE (per pixel, ×10⁻³) of the
reconstructions, and the accuracy of a linear probe (``evaluation.linear_probe``) of the 30-d code fitted on 10k
training codes, tested on the 10k test codes; mean ± sample std over seeds. An update of an upper stage is much
cheaper than an end-to-end one, so the train time (seconds of fused steps, compilation included) is listed too.

Commands (from the repository root)::

    nice -n 5 .venv/bin/python -m experiments.stacked --size full     # experiments/results/stacked.json
    .venv/bin/python -m experiments.stacked --size quick              # 300-update budget, smaller net
    .venv/bin/python -m experiments.stacked --size smoke              # seconds (tests)

Expected result (full): end-to-end training and greedy + fine-tune reach similar reconstruction errors (with
Adam and ReLU, greedy pre-training is not needed to train a 3-layer autoencoder); greedy only is clearly worse
at reconstruction, because each stage above the first only reconstructs codes and the errors compound, while
its code is about as linearly informative. Measured BCE, MSE, probe accuracy and train time per variant (mean ± std
over 3 seeds): ``experiments/results/stacked.json``, the "Stacked autoencoder" section of
``experiments/REPORT.md``; its wall time is ``wall_time_s`` there.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time

import jax
import numpy as np

from experiments import sweeps
from experiments.configs import stacked_fashion
from vae_jax import evaluation, inference, stacked, train
from vae_jax.configs import Config, DataConfig, StackedConfig

NAME = "stacked"
LABELS = {"greedy_finetune": "(a) greedy + fine-tune", "pretrained": "greedy, before fine-tuning",
          "end_to_end": "(b) end-to-end", "greedy_only": "(c) greedy only"}
logger = logging.getLogger(__name__)


def base_config(size: str) -> tuple[Config, int]:
  """(the config at ``size``, number of train/test images for the linear probe)."""
  config = stacked_fashion.get_config()
  if size == "quick":
    config = dataclasses.replace(config, model=dataclasses.replace(config.model, stacked_sizes=(256, 64, 16)),
                                 data=DataConfig(name="fashion_mnist", num_train=10_000, num_test=2000),
                                 stacked=StackedConfig(), num_steps=300, log_every=50, eval_every=300,
                                 checkpoint_every=300)
    return config, 2000
  if size == "smoke":
    config = dataclasses.replace(config, model=dataclasses.replace(config.model, stacked_sizes=(32, 8)),
                                 data=DataConfig(name="fashion_mnist", num_train=256, num_test=128),
                                 stacked=StackedConfig(), batch_size=32, num_steps=12, log_every=3, eval_every=12,
                                 checkpoint_every=12,
                                 eval_batch_size=64)
    return config, 128
  return config, 10_000


def variants(config: Config) -> dict[str, Config]:
  """The three ways to spend ``config.num_steps`` (see the module doc)."""
  t, k = config.num_steps, len(config.model.stacked_sizes)
  return {
      "greedy_finetune": dataclasses.replace(config, stacked=StackedConfig(stage_steps=(t // (2 * k),))),
      "end_to_end": dataclasses.replace(config, stacked=StackedConfig()),
      "greedy_only": dataclasses.replace(config, stacked=StackedConfig(stage_steps=(t // k,))),
  }


def evaluate(model, params, train_split: train.Split, test_split: train.Split, *, num_probe: int) -> dict[str, float]:
  """Test BCE (nats/image), MSE (per pixel) and linear-probe accuracy of the code (num_probe train/test codes)."""
  x = test_split.images
  logits = inference.reconstruct(model, params, x, raw=True)
  recon = np.asarray(jax.nn.sigmoid(logits))
  bce = np.asarray(evaluation.per_image_bce(logits, x, from_logits=True))
  mse = np.asarray(evaluation.per_image_mse(recon, x))
  probe = evaluation.linear_probe(stacked.encode(model, params, train_split.images[:num_probe]),
                                  train_split.labels[:num_probe], stacked.encode(model, params, x[:num_probe]),
                                  test_split.labels[:num_probe])
  return {"bce": float(bce.mean()), "mse": float(mse.mean()), "probe": float(probe["accuracy"])}


def main(argv: list[str] | None = None) -> str:
  setup = sweeps.begin(sweeps.parser(__doc__.split("\n")[0]), NAME, argv)
  args = setup.args
  logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
  logging.getLogger("absl").setLevel(logging.WARNING)
  config, num_probe = base_config(args.size)
  runs = variants(config)
  splits = train.load_splits(config, train.run_keys(config.seed).eval)  # binarize='none': the same for every seed
  root = os.path.join(args.runs_root, NAME, args.size)
  metrics: dict[str, dict[str, list[float]]] = {name: {} for name in LABELS}
  steps: dict[str, str] = {}

  def record(name: str, values: dict[str, float]) -> None:
    for key, value in values.items():
      metrics[name].setdefault(key, []).append(value)
    logger.info("%s seed %d: %s", name, seed, {k: round(v, 4) for k, v in values.items()})

  for seed in setup.seeds:
    for name, cfg in runs.items():
      cfg = dataclasses.replace(cfg, seed=seed)
      workdir = os.path.join(root, name, f"seed{seed}")
      if name == "end_to_end":
        res = train.train_and_evaluate(cfg, workdir, splits=splits)
        record(name, {**evaluate(res["model"], jax.device_get(res["state"].params), *splits, num_probe=num_probe),
                      "train_time_s": res["train_time_s"]})
        steps[name] = f"{cfg.num_steps} end to end"
        continue
      res = stacked.greedy_pretrain(cfg, workdir, splits=splits)
      stage_time = sum(s["train_time_s"] for s in res["stages"])
      per_stage = "+".join(str(n) for n in stacked.stage_steps(cfg))
      if name == "greedy_finetune":
        record("pretrained", {**evaluate(res["model"], res["pretrained_params"], *splits, num_probe=num_probe),
                              "train_time_s": stage_time})
        steps["pretrained"] = f"{per_stage} greedy"
        steps[name] = f"{per_stage} greedy + {stacked.finetune_steps(cfg)} end to end"
        record(name, {**evaluate(res["model"], res["params"], *splits, num_probe=num_probe),
                      "train_time_s": stage_time + res["finetune"]["train_time_s"]})
      else:
        steps[name] = f"{per_stage} greedy"
        record(name, {**evaluate(res["model"], res["params"], *splits, num_probe=num_probe),
                      "train_time_s": stage_time})

  stats = {name: {k: sweeps.mean_std(v) for k, v in m.items()} for name, m in metrics.items()}
  for s in stats.values():  # MSE per pixel, shown ×10⁻³
    s["mse"] = {**s["mse"], "mean": s["mse"]["mean"] * 1e3, "std": s["mse"]["std"] * 1e3,
                "values": [v * 1e3 for v in s["mse"]["values"]]}
  columns = ["variant", "updates", "test BCE (nats/image)", "test MSE per pixel (×10⁻³)", "linear probe accuracy",
             "train time (s)"]
  rows = [[LABELS[n], steps[n], stats[n]["bce"], stats[n]["mse"], stats[n]["probe"], stats[n]["train_time_s"]]
          for n in ("greedy_finetune", "end_to_end", "greedy_only", "pretrained")]
  sizes = "-".join(str(d) for d in (784, *config.model.stacked_sizes))
  notes = [f"Architecture {sizes} ({config.model.activation}, linear code, Bernoulli logits on grey levels), "
           f"Adam {config.optimizer.learning_rate:g}, batch {config.batch_size}, total budget {config.num_steps} "
           f"updates per run; data fashion_mnist (train {len(splits[0].images)}, test {len(splits[1].images)}); "
           f"linear probe on {num_probe} train / {num_probe} test codes.",
           "Greedy stage k ≥ 2 reconstructs the ReLU codes of the stages below (unit-variance Gaussian, decoder "
           "output through ReLU); the top stage's code is linear. Train time: seconds of fused training steps on a "
           "shared 2-core CPU (compilation included), indicative only."]
  path = sweeps.write_results(setup.results_dir, NAME, args=args, command=setup.command, started=setup.started,
                              tables={"Fashion-MNIST, stacked AE": sweeps.table(columns, rows)}, notes=notes)
  from experiments import report

  print(report.render_table(sweeps.table(columns, rows)))
  print(f"wrote {path} in {time.time() - setup.started:.0f} s")
  return path


if __name__ == "__main__":
  main()
