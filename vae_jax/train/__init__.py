"""Training: the one loop (:func:`train_and_evaluate`), the one update and its jitted steps, batch sources,
sharding, and reading runs back. One idea per module:

* :mod:`~vae_jax.train.loop`: ``train_and_evaluate(config, workdir)``, the loop every model and method trains in.
* :mod:`~vae_jax.train.state`: :class:`TrainState` (step, params, optimizer state, a method's own state).
* :mod:`~vae_jax.train.step`: the update and ``make_train_step`` / ``make_eval_step``.
* :mod:`~vae_jax.train.multi_step`: ``make_multi_step``, many updates per call (``lax.scan`` or host-stepped).
* :mod:`~vae_jax.train.batches`: :class:`ArrayBatches` and :class:`GeneratedBatches`, the on-device batch sources.
* :mod:`~vae_jax.train.sharding`: the ``'data'`` mesh, batch sharding and replication.
* :mod:`~vae_jax.train.splits`: the run's keys and data splits.
* :mod:`~vae_jax.train.writers`, :mod:`~vae_jax.train.results`, :mod:`~vae_jax.train.figures`: what a run writes.
* :mod:`~vae_jax.train.run_dir`: what reads a run back (:func:`load_run`).
* :mod:`~vae_jax.train.evaluate`, :mod:`~vae_jax.train.finite`: the loop's evaluation and non-finite check.
* :mod:`~vae_jax.train.prng`: the unrolled Threefry for CPU; :mod:`~vae_jax.train.pmap`: a thin pmap path.
"""

from vae_jax.train.batches import ArrayBatches as ArrayBatches
from vae_jax.train.batches import GeneratedBatches as GeneratedBatches
from vae_jax.train.batches import binarize_batch as binarize_batch
from vae_jax.train.batches import sprite_batches as sprite_batches
from vae_jax.train.finite import check_finite as check_finite
from vae_jax.train.loop import RunInterrupted as RunInterrupted
from vae_jax.train.loop import locked_workdir as locked_workdir
from vae_jax.train.loop import train_and_evaluate as train_and_evaluate
from vae_jax.train.multi_step import MULTI_STEP_LOOPS as MULTI_STEP_LOOPS
from vae_jax.train.multi_step import choose_loop as choose_loop
from vae_jax.train.multi_step import make_multi_step as make_multi_step
from vae_jax.train.pmap import make_pmap_train_step as make_pmap_train_step
from vae_jax.train.pmap import pmap_replicate as pmap_replicate
from vae_jax.train.prng import UNROLLED_THREEFRY as UNROLLED_THREEFRY
from vae_jax.train.prng import fast_key as fast_key
from vae_jax.train.results import environment as environment
from vae_jax.train.run_dir import load_run as load_run
from vae_jax.train.sharding import DATA_AXIS as DATA_AXIS
from vae_jax.train.sharding import batch_sharding as batch_sharding
from vae_jax.train.sharding import check_divisible as check_divisible
from vae_jax.train.sharding import data_mesh as data_mesh
from vae_jax.train.sharding import replicate as replicate
from vae_jax.train.sharding import replicated as replicated
from vae_jax.train.sharding import shard_batch as shard_batch
from vae_jax.train.splits import RunKeys as RunKeys
from vae_jax.train.splits import Split as Split
from vae_jax.train.splits import load_splits as load_splits
from vae_jax.train.splits import run_keys as run_keys
from vae_jax.train.state import TrainState as TrainState
from vae_jax.train.state import create_train_state as create_train_state
from vae_jax.train.step import make_eval_step as make_eval_step
from vae_jax.train.step import make_train_step as make_train_step
from vae_jax.train.step import step_keys as step_keys

__all__ = [
    "DATA_AXIS",
    "MULTI_STEP_LOOPS",
    "UNROLLED_THREEFRY",
    "ArrayBatches",
    "GeneratedBatches",
    "RunInterrupted",
    "RunKeys",
    "Split",
    "TrainState",
    "batch_sharding",
    "binarize_batch",
    "check_divisible",
    "check_finite",
    "choose_loop",
    "create_train_state",
    "data_mesh",
    "environment",
    "fast_key",
    "load_run",
    "load_splits",
    "make_eval_step",
    "make_multi_step",
    "make_pmap_train_step",
    "make_train_step",
    "pmap_replicate",
    "replicate",
    "replicated",
    "run_keys",
    "shard_batch",
    "sprite_batches",
    "step_keys",
    "train_and_evaluate",
]
