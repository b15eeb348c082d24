"""Speed of the data package: procedural sprites rendered per second, and Fashion-MNIST train into device memory.

Command (from the repository root):

    .venv/bin/python tools/bench_data.py

Prints the machine (CPU count, JAX backend and devices), then
- sprites/s of the jitted renderer at 64x64, batch 1024 (median of repeats after a warm-up, each timed to
  ``block_until_ready``), for ``render`` from given factors and for ``sample`` (draw factors + render, both returned:
  on CPU XLA adds a relayout copy of the returned images, absent when a train step consumes them);
- the time to load Fashion-MNIST train (60 000 images, IDX from the Debian package) into host memory, and then
  into device memory with ``jax.device_put``.

Runs in seconds. On a CPU shared with other jobs the numbers vary several-fold between runs; measured figures:
``tools/README.md``.
"""

import os
import statistics
import time

import jax
import numpy as np

from vae_jax import data
from vae_jax.data import sprites

BATCH = 1024
RESOLUTION = 64
REPEATS = 20


def median_seconds(fn, inputs) -> float:
  """Median wall time of ``fn(x)`` over ``inputs`` (one call each), after a warm-up call (compilation)."""
  jax.block_until_ready(fn(inputs[0]))
  times = []
  for x in inputs:
    start = time.perf_counter()
    jax.block_until_ready(fn(x))
    times.append(time.perf_counter() - start)
  return statistics.median(times)


def main() -> None:
  print(f"machine: {os.cpu_count()} CPUs, jax {jax.__version__}, backend {jax.default_backend()}, "
        f"devices {jax.devices()}")

  keys = list(jax.random.split(jax.random.key(0), REPEATS))  # a different batch each repeat
  factors = [jax.block_until_ready(sprites.sample_factors(key, BATCH)) for key in keys]
  render = jax.jit(lambda f: sprites.render(f, resolution=RESOLUTION))
  seconds = median_seconds(render, factors)
  print(f"render  {RESOLUTION}x{RESOLUTION}, batch {BATCH}: {BATCH / seconds:,.0f} sprites/s "
        f"({seconds * 1e3:.1f} ms/batch, median of {REPEATS})")
  sample = jax.jit(lambda k: sprites.sample(k, BATCH, resolution=RESOLUTION))
  seconds = median_seconds(sample, keys)
  print(f"sample  {RESOLUTION}x{RESOLUTION}, batch {BATCH}: {BATCH / seconds:,.0f} sprites/s "
        f"({seconds * 1e3:.1f} ms/batch, median of {REPEATS}; images and factors returned)")

  start = time.perf_counter()
  train = data.load("fashion_mnist", split="train")
  loaded = time.perf_counter() - start
  start = time.perf_counter()
  on_device = jax.block_until_ready(jax.device_put(train.images))
  put = time.perf_counter() - start
  print(f"fashion_mnist train ({train.source}): {train.images.shape} {train.images.dtype}, "
        f"{train.images.nbytes / 2**20:.0f} MiB: load {loaded:.2f} s, device_put {put:.3f} s "
        f"-> {on_device.devices()}")
  assert np.array_equal(np.asarray(on_device[:2]), train.images[:2])


if __name__ == "__main__":
  main()
