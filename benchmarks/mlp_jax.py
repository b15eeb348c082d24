"""vae_jax contenders for the Flax example's MLP VAE (784-500-20, Bernoulli, Adam 1e-3, dynamic binarization).

* ``real_loop``: :func:`vae_jax.train.train_and_evaluate` on ``experiments/configs/flax_vae_fashion.py`` in a
  fresh process and workdir: data on device, shuffling, dynamic binarization, metrics fetched and logged to JSONL,
  TensorBoard and tqdm every ``log_every`` steps, evaluation and Orbax checkpoints at their intervals. Throughput
  is ``results["loop_images_per_sec"]``: wall clock after the first (compiling) chunk, everything else included.
* ``bare_step``: :func:`vae_jax.train.make_train_step` called in a Python loop on one device-resident batch
  (dynamic binarization inside the step, no shuffling): dispatch plus the update.
* ``fused_epoch``: :func:`vae_jax.train.make_multi_step` over one epoch (``lax.scan``) with the same on-device
  data pipeline as the real loop (permutation, uint8 gather, dynamic binarization).
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
import time

import numpy as np

from benchmarks import data, timing

IMAGE_SHAPE = (28, 28, 1)


def flax_config(batch: int, num_steps: int, *, quick_intervals: bool = False):
  """The Flax-example config at ``batch``; logging/eval/checkpoint intervals keep their image counts at 1024.

  At 128 these are the config's own (log 117 steps ≈ 15k images, eval and checkpoint every 2340 steps = 5
  epochs); at 1024: log every 15 steps (15,360 images), eval and checkpoint every 300 (307,200 images).
  ``quick_intervals``: eval and checkpoint once, at the end of the run.
  """
  from experiments.configs import flax_vae_fashion  # noqa: PLC0415

  config = flax_vae_fashion.get_config()
  log_every = config.log_every if batch == config.batch_size else max(1, round(config.log_every * 128 / batch))
  every = config.checkpoint_every if batch == config.batch_size else log_every * 20
  if quick_intervals:
    every = num_steps
  return dataclasses.replace(config, batch_size=batch, num_steps=num_steps, log_every=log_every,
                             eval_every=every, checkpoint_every=every, figures=False)


def _model_parts(config):
  import jax  # noqa: PLC0415
  import jax.numpy as jnp  # noqa: PLC0415

  from vae_jax import factory, train  # noqa: PLC0415

  model = factory.make_model(config.model, IMAGE_SHAPE)
  loss_fn = factory.make_loss(config.method, model, dataset_size=60_000)
  tx = factory.make_optimizer(config.optimizer)
  keys = train.run_keys(config.seed)
  state = train.create_train_state(model, tx, keys.init, jnp.zeros((2, *IMAGE_SHAPE), jnp.float32))
  return model, loss_fn, tx, keys, jax.device_put(state)


class RealLoop:
  """``train_and_evaluate`` once (use with ``--oneshot``: one process per repeat, like a user's run)."""

  def __init__(self, batch: int, num_steps: int, quick_intervals: bool = False, num_train: int = 0,
               num_test: int = 0, log_every: int = 0, every: int = 0):
    self.config = flax_config(batch, num_steps, quick_intervals=quick_intervals)
    if log_every:
      self.config = dataclasses.replace(self.config, log_every=log_every, eval_every=every or num_steps,
                                        checkpoint_every=every or num_steps)
    if num_train or num_test:
      self.config = dataclasses.replace(self.config, data=dataclasses.replace(
          self.config.data, num_train=num_train, num_test=num_test), eval_batch_size=min(
              self.config.eval_batch_size, num_test or self.config.eval_batch_size))

  def setup(self):
    import vae_jax.train  # noqa: F401, PLC0415  (imports are not part of the measured run)

    return {}

  def _synthetic_splits(self):
    from vae_jax import train  # noqa: PLC0415

    images, _ = data.fashion_mnist_u8(self.config.data.num_train or 60_000)
    test = data.binarize_static(images[:self.config.data.num_test or 10_000])
    return train.Split(images.astype(np.float32) / np.float32(255.0)), train.Split(test)

  @staticmethod
  def _watch_calls(calls: list):
    """Records when each fused multi-step is called (for checkouts whose results lack ``loop_images_per_sec``:
    there the loop syncs on every chunk, so the second call marks the end of the compiling first chunk)."""
    from vae_jax.train import loop  # noqa: PLC0415

    make = loop.make_multi_step

    def watched(*args, **kwargs):
      fn = make(*args, **kwargs)

      def call(*a, **k):
        calls.append(time.perf_counter())
        return fn(*a, **k)

      return call

    loop.make_multi_step = watched
    return lambda: setattr(loop, "make_multi_step", make)

  def run(self):
    from vae_jax import train  # noqa: PLC0415
    from vae_jax.data import DatasetNotFoundError  # noqa: PLC0415

    calls: list[float] = []
    restore = self._watch_calls(calls)
    workdir = tempfile.mkdtemp(prefix="vae_jax_bench_")
    source = "fashion_mnist"
    try:
      try:
        res, wall, cpu = timing.timed(lambda: train.train_and_evaluate(self.config, workdir))
      except DatasetNotFoundError:  # no dataset on this machine: the same shapes with synthetic pixels
        source, splits = "synthetic", self._synthetic_splits()
        shutil.rmtree(workdir, ignore_errors=True)
        res, wall, cpu = timing.timed(lambda: train.train_and_evaluate(self.config, workdir, splits=splits))
    finally:
      end = time.perf_counter()
      restore()
      shutil.rmtree(workdir, ignore_errors=True)
    steady_images = (res["final_step"] - self.config.log_every) * self.config.batch_size
    loop = res.get("loop_images_per_sec")
    if loop is None and len(calls) > 1:
      loop = steady_images / (end - calls[1])
    return {"images": steady_images, "seconds": steady_images / loop if loop else None, "images_per_s": loop,
            "images_per_cpu_s": None, "compute_images_per_s": res["images_per_sec"],
            "compile_s": res["first_call_s"], "process_wall_s": wall, "process_cpu_s": cpu, "data": source,
            "train_loss": res["train"].get("train/loss"), "eval_loss": res["eval"].get("eval/loss")}


class BareStep:
  """``make_train_step`` in a Python loop on one device batch."""

  def __init__(self, batch: int, steps: int):
    self.batch, self.steps = batch, steps

  def setup(self):
    import jax  # noqa: PLC0415
    import jax.numpy as jnp  # noqa: PLC0415

    from vae_jax import train  # noqa: PLC0415

    config = flax_config(self.batch, self.steps)
    _, loss_fn, tx, keys, self.state = _model_parts(config)
    images, source = data.fashion_mnist_u8(self.batch)
    self.images = jax.device_put({"image": jnp.asarray(images, jnp.float32) / 255.0})
    self.key = keys.train
    self.step = train.make_train_step(loss_fn, tx, preprocess=train.binarize_batch)
    (self.state, _), compile_s, _ = timing.timed(lambda: timing.block(self.step(self.state, self.images, self.key)))
    return {"compile_s": compile_s, "data": source}

  def run(self):
    def loop():
      state, m = self.state, None
      for _ in range(self.steps):
        state, m = self.step(state, self.images, self.key)
      return timing.block((state, m))

    (self.state, _), wall, cpu = timing.timed(loop)
    return timing.throughput(self.steps * self.batch, wall, cpu)


class FusedEpoch:
  """``make_multi_step`` over one epoch of the device-resident dataset (``num_train`` images, 0 = all)."""

  def __init__(self, batch: int, num_train: int = 0, num_devices: int = 1):
    self.batch, self.num_train, self.num_devices = batch, num_train, num_devices

  def setup(self):
    import jax  # noqa: PLC0415

    from vae_jax import train  # noqa: PLC0415

    devices = jax.devices()
    if self.num_devices > len(devices):
      raise RuntimeError(f"{self.num_devices} devices asked for, {len(devices)} visible")
    mesh = train.data_mesh(devices[:self.num_devices])
    train.check_divisible(self.batch, mesh)
    config = flax_config(self.batch, 1)
    _, loss_fn, tx, keys, state = _model_parts(config)
    images, source = data.fashion_mnist_u8(self.num_train)
    self.data = train.replicate({"image": images}, mesh)
    self.state = train.replicate(state, mesh)
    self.source = train.ArrayBatches(shuffle_key=keys.data, num_examples=len(images), batch_size=self.batch,
                                     preprocess=train.binarize_batch)
    self.key = keys.train
    self.num_steps = self.source.steps_per_epoch
    self.run_epoch = train.make_multi_step(loss_fn, tx, num_steps=self.num_steps,
                                           batch_sharding=train.batch_sharding(mesh))
    (self.state, _), compile_s, _ = timing.timed(
        lambda: timing.block(self.run_epoch(self.state, self.data, self.source, self.key)))
    return {"compile_s": compile_s, "data": source, "steps_per_call": self.num_steps,
            "devices": self.num_devices, "platform": devices[0].platform}

  def run(self):
    (self.state, _), wall, cpu = timing.timed(
        lambda: timing.block(self.run_epoch(self.state, self.data, self.source, self.key)))
    return timing.throughput(self.num_steps * self.batch, wall, cpu)


class Probe:
  """The machine and package versions (``vae_jax.train.environment``), for the results file."""

  def setup(self):
    from vae_jax import train  # noqa: PLC0415

    self.env = train.environment()
    try:
      import torch  # noqa: PLC0415

      self.env["torch"] = torch.__version__
      self.env["torch_threads"] = torch.get_num_threads()
    except ImportError:
      self.env["torch"] = None
    self.env["xla_flags"] = os.environ.get("XLA_FLAGS", "")
    return self.env

  def run(self):
    return self.env


CONTENDERS = {"real_loop": RealLoop, "bare_step": BareStep, "fused_epoch": FusedEpoch, "probe": Probe}
