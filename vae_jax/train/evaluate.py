"""The loop's evaluation: the method's loss metrics averaged over the test split, in sharded batches."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.sharding import Mesh

from vae_jax.configs import Config
from vae_jax.train.sharding import shard_batch
from vae_jax.train.splits import Split

__all__ = ["eval_sizes", "evaluate", "warm_up"]


def eval_sizes(config: Config, test: Split, mesh: Mesh) -> tuple[int, int]:
  """(examples evaluated, evaluation batch size); the batch is cut to the examples when they are fewer."""
  n = len(test.images) if not config.num_eval_examples else min(config.num_eval_examples, len(test.images))
  if n == 0:
    raise ValueError("The test split is empty: there is nothing to evaluate (check config.data).")
  bs = min(config.eval_batch_size, n)
  devices = mesh.devices.size
  if bs % devices:
    what = (f"config.eval_batch_size={bs}" if bs == config.eval_batch_size else
            f"The evaluation batch of {bs} (the {n} examples of config.num_eval_examples or the test split, fewer "
            f"than config.eval_batch_size={config.eval_batch_size})")
    raise ValueError(f"{what} is not divisible by the number of devices ({devices}); set config.eval_batch_size "
                     f"and config.num_eval_examples to multiples of {devices}.")
  return n, bs


def evaluate(eval_step, state, test: Split, config: Config, key: jax.Array, step: int,
             mesh: Mesh) -> dict[str, float]:
  """``eval/<metric>``: ``eval_step``'s metrics for ``state`` averaged over the evaluated batches; batch ``i``
  uses ``fold_in(key, i)``."""
  n, bs = eval_sizes(config, test, mesh)
  sums: dict[str, float] = {}
  count = 0
  for i in range(n // bs):
    batch = shard_batch({"image": test.images[i * bs:(i + 1) * bs]}, mesh)
    m = jax.device_get(eval_step(state.params, batch, jax.random.fold_in(key, i), jnp.int32(step),
                                 extra_state=state.extra))
    for k, v in m.items():
      sums[k] = sums.get(k, 0.0) + float(v)
    count += 1
  return {f"eval/{k}": v / max(count, 1) for k, v in sums.items()}


def warm_up(eval_step, state, test: Split, config: Config, key: jax.Array, step: int, mesh: Mesh) -> None:
  """Compiles ``eval_step`` (on one evaluation batch) before the loop, not in the middle of it."""
  _, bs = eval_sizes(config, test, mesh)
  batch = shard_batch({"image": test.images[:bs]}, mesh)
  jax.block_until_ready(eval_step(state.params, batch, key, jnp.int32(step), extra_state=state.extra))
