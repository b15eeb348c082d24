"""Greedy layer-wise pre-training of a stacked autoencoder, then end-to-end fine-tuning.

For ``model.stacked_sizes = (d1, …, dK)`` on inputs of size d0, :func:`greedy_pretrain` trains K one-hidden-layer
autoencoders one after another and then the whole stack:

* **Stage k** (k = 0 … K−1, in ``workdir/stage_k``) is a ``StackedAutoEncoder(sizes=(d_k, d_{k+1}))`` — Dense
  ``enc_0`` d_k → d_{k+1} and ``dec_0`` d_{k+1} → d_k — trained by :func:`vae_jax.train.train_and_evaluate` (the
  one loop) for ``config.stacked.stage_steps[k]`` updates on the codes of stages 0 … k−1, computed by those
  already-trained stages from the stored images (grey levels under ``data.binarize='dynamic'``, which binarizes
  only stage 0's batches). The codes are fed to the loop as images ``[N, d_k, 1, 1]``.
* Each stage computes exactly what its layers compute inside the stack: a stage below the top applies the
  activation to its code (a hidden layer of the stack); the top stage's code is linear (the stack's code layer).
  Stage 0 reconstructs pixels with the model's likelihood (e.g. Bernoulli logits). Stages ≥ 1 reconstruct
  activated codes, so their decoder output goes through the same activation the stack applies after ``dec_k``
  (≥ 0 for ReLU), under a unit-variance Gaussian likelihood — squared error, in nats, on the raw codes.
* With ``method.corruption`` set, every stage is a **denoising** AE that corrupts its own input (pixels for
  stage 0, codes above), and so does the fine-tuning.
* **Fine-tuning** (``workdir/finetune``): the stack's ``enc_k``/``dec_k`` are copied from stage k's ``enc_0``/
  ``dec_0`` (:func:`stack_params`) and passed as ``init_params`` to the loop, which trains the whole model with
  ``config.method`` for the rest of the budget, ``config.num_steps − Σ stage_steps`` (skipped if nothing is
  left).

Randomness: stage k runs with the seed :func:`stage_seed` ``(config.seed, k)``, derived as
``fold_in(key(config.seed), k)``, so every stage has its own initialisation, shuffling and corruption keys and the
whole procedure is a function of ``config.seed``. Fine-tuning runs with ``config.seed`` itself: the same shuffling
and noise as an end-to-end run of ``config`` from a random initialisation — only the starting point differs.

Resuming: each stage and the fine-tuning is an ordinary checkpointed run. On a rerun, a finished one (its
``results.json`` reports its step count, with the same config) is skipped — its parameters are restored, nothing
is trained or evaluated — and an interrupted one resumes from its latest checkpoint. If a stage trains while a
later stage (or the fine-tuning) already holds checkpoints, those were trained on other codes: that is an error.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from vae_jax import checkpoints, configs, factory, inference, train
from vae_jax.train import run_dir
from vae_jax.configs import Config

logger = logging.getLogger(__name__)

Params = Any


def num_stages(config: Config) -> int:
  return len(config.model.stacked_sizes)


def stage_steps(config: Config) -> tuple[int, ...]:
  """Updates per stage, one entry per stage (``config.stacked.stage_steps`` expanded)."""
  s = config.stacked.stage_steps
  return s * num_stages(config) if len(s) == 1 else tuple(s)


def finetune_steps(config: Config) -> int:
  """The end-to-end updates left after the stages: ``config.num_steps − Σ stage_steps`` (may be 0)."""
  return config.num_steps - sum(stage_steps(config))


def stage_seed(seed: int, stage: int) -> int:
  """Stage ``stage``'s run seed: 31 bits of ``fold_in(key(seed), stage)``."""
  bits = jax.random.bits(jax.random.fold_in(jax.random.key(seed), stage), dtype=jnp.uint32)
  return int(bits) & 0x7FFF_FFFF


def stage_config(config: Config, stage: int) -> Config:
  """The config of greedy stage ``stage``: a one-stage stacked AE on the previous stage's codes (see module doc)."""
  _check(config)
  sizes = config.model.stacked_sizes
  if not 0 <= stage < len(sizes):
    raise ValueError(f"stage must be in [0, {len(sizes)}), got {stage}.")
  model = dataclasses.replace(
      config.model, stacked_sizes=(sizes[stage],),
      likelihood=config.model.likelihood if stage == 0 else "gaussian",
      stacked_activate_code=stage < len(sizes) - 1, stacked_activate_output=stage > 0)
  data = config.data if stage == 0 else dataclasses.replace(config.data, binarize="none")
  return dataclasses.replace(config, model=model, data=data, stacked=configs.StackedConfig(),
                             seed=stage_seed(config.seed, stage), num_steps=stage_steps(config)[stage],
                             figures=config.figures and stage == 0)


def finetune_config(config: Config) -> Config:
  """The config of the end-to-end fine-tuning: ``config`` for the remaining ``finetune_steps(config)`` updates."""
  _check(config)
  n = finetune_steps(config)
  if n <= 0:
    raise ValueError(f"No fine-tuning: stacked.stage_steps use all config.num_steps={config.num_steps}.")
  return dataclasses.replace(config, stacked=configs.StackedConfig(), num_steps=n)


def stack_params(stage_params: list[Params]) -> Params:
  """The stack's parameters from the stages': ``enc_k``/``dec_k`` are stage k's ``enc_0``/``dec_0`` (copied)."""
  out = {}
  for k, p in enumerate(stage_params):
    if set(p) != {"enc_0", "dec_0"}:
      raise ValueError(f"stack_params: stage {k} should hold exactly enc_0 and dec_0, got {sorted(p)}.")
    out[f"enc_{k}"] = jax.tree_util.tree_map(np.array, p["enc_0"])
    out[f"dec_{k}"] = jax.tree_util.tree_map(np.array, p["dec_0"])
  return out


def encode(model, params: Params, images: np.ndarray, *, batch_size: int = 1000) -> np.ndarray:
  """The codes of ``images``: ``[N, ...]`` → ``[N, latent]`` host float32 (:func:`vae_jax.inference.encode`)."""
  return inference.encode(model, params, images, batch_size=min(batch_size, len(images))).mean


def _check(config: Config) -> None:
  if config.model.kind != "stacked_ae" or not config.stacked.stage_steps:
    raise ValueError("Greedy pre-training needs model.kind='stacked_ae' and config.stacked.stage_steps "
                     f"(got kind={config.model.kind!r}, stage_steps={config.stacked.stage_steps}).")


def _as_images(codes: np.ndarray) -> np.ndarray:
  return codes.reshape(codes.shape[0], codes.shape[1], 1, 1)


def _has_checkpoints(workdir: str) -> bool:
  d = os.path.join(workdir, "checkpoints")
  return os.path.isdir(d) and any(name.isdigit() for name in os.listdir(d))


def _finished_results(workdir: str, config: Config) -> dict | None:
  """The saved results of a finished run of ``config`` in ``workdir``, else None."""
  saved = run_dir.saved_results(workdir)
  if saved is None or not _has_checkpoints(workdir):
    return None
  old, new = configs.to_dict(configs.from_dict(saved["config"])), configs.to_dict(config)
  same = all(old[k] == new[k] for k in new if k not in checkpoints.RESUMABLE_FIELDS)
  return saved if same and saved["final_step"] == config.num_steps else None


def _restore_params(workdir: str, config: Config, sample: np.ndarray) -> Params:
  """The latest checkpoint's parameters (host arrays), without building the data pipeline."""
  return jax.device_get(run_dir.restore_state(workdir, config, sample).params)


def _run(workdir: str, config: Config, splits: tuple[train.Split, train.Split], *,
         init_params: Params = None) -> tuple[Params, dict, bool]:
  """Trains (or resumes) one run; a finished one is restored instead. Returns (host params, results, trained)."""
  saved = _finished_results(workdir, config)
  if saved is not None:
    logger.info("Skipping %s: finished (%d steps).", workdir, saved["final_step"])
    return _restore_params(workdir, config, splits[1].images), saved, False
  res = train.train_and_evaluate(config, workdir, splits=splits, init_params=init_params)
  params = jax.device_get(res.pop("state").params)
  res.pop("model")
  return params, res, res["start_step"] < res["final_step"]


def _summary(res: dict, workdir: str, seed: int, trained: bool) -> dict:
  return {"workdir": workdir, "seed": seed, "steps": res["final_step"], "trained": trained, "eval": res["eval"],
          "train": res["train"], "train_time_s": res.get("train_time_s")}


def greedy_pretrain(config: Config, workdir: str, *,
                    splits: tuple[train.Split, train.Split] | None = None) -> dict[str, Any]:
  """Greedy layer-wise pre-training of ``config``'s stacked AE, then end-to-end fine-tuning (see module doc).

  Args:
    config: a ``model.kind='stacked_ae'`` config with ``stacked.stage_steps``; ``num_steps`` is the total budget.
    workdir: the run directory; stages go to ``workdir/stage_k``, fine-tuning to ``workdir/finetune``.
    splits: optional in-memory ``(train, test)`` pixel data instead of ``config.data``.

  Returns:
    ``stages``: per stage, a summary (``workdir``, ``seed``, ``steps``, ``trained`` — False when skipped —,
    ``eval``, …) with its ``params``; ``pretrained_params``: the stack built from the stages (host arrays);
    ``finetune``: the fine-tuning's summary or None; ``params``: the final parameters (fine-tuned, else the
    pre-trained stack); ``model``: the full model. A JSON summary is written to ``workdir/results.json``.
  """
  _check(config)
  os.makedirs(workdir, exist_ok=True)
  checkpoints.write_config(workdir, config)
  if splits is None:
    splits = train.load_splits(config, train.run_keys(config.seed).eval)
  train_split, test_split = splits
  if train_split is None:
    raise ValueError(f"Greedy pre-training needs a fixed training set; data.name={config.data.name!r} is generated "
                     "on the fly.")

  later = [os.path.join(workdir, f"stage_{k}") for k in range(num_stages(config))] + [os.path.join(workdir, "finetune")]
  x_train, x_test = train_split.images, test_split.images
  stages, stage_params = [], []
  for k in range(num_stages(config)):
    cfg = stage_config(config, k)
    stage_dir = later[k]
    params, res, trained = _run(stage_dir, cfg, (train_split._replace(images=x_train),
                                                 test_split._replace(images=x_test)))
    if trained:
      stale = [d for d in later[k + 1:] if _has_checkpoints(d)]
      if stale:
        raise ValueError(f"Stage {k} was trained further, but {stale} hold runs trained on its earlier codes; "
                         "remove them (or use a new workdir) and rerun.")
    stages.append({"stage": k, **_summary(res, stage_dir, cfg.seed, trained), "params": params})
    stage_params.append(params)
    if k + 1 < num_stages(config):  # the next stage's data: this stage's (activated) codes
      model = factory.make_model(cfg.model, tuple(x_test.shape[1:]))
      x_train = _as_images(encode(model, params, x_train))
      x_test = _as_images(encode(model, params, x_test))

  pretrained = stack_params(stage_params)
  full_model = factory.make_model(config.model, tuple(test_split.images.shape[1:]))
  finetune, params = None, pretrained
  if finetune_steps(config) > 0:
    cfg = finetune_config(config)
    params, res, trained = _run(later[-1], cfg, splits, init_params=pretrained)
    finetune = _summary(res, later[-1], cfg.seed, trained)

  out = {"stages": stages, "pretrained_params": pretrained, "finetune": finetune, "params": params,
         "model": full_model}
  if jax.process_index() == 0:
    summary = {"config": configs.to_dict(config), "stages": [{k: v for k, v in s.items() if k != "params"}
                                                            for s in stages], "finetune": finetune}
    tmp = os.path.join(workdir, "results.json.tmp")
    with open(tmp, "w") as f:
      json.dump(summary, f, indent=2, default=lambda o: o.item() if hasattr(o, "item") else str(o))
    os.replace(tmp, os.path.join(workdir, "results.json"))
  return out
