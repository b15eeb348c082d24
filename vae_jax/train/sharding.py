"""Data parallelism: a 1-D ``'data'`` mesh, the batch split over it, everything else replicated.

The jitted steps are the same on one device and on many: with the batch on ``NamedSharding(mesh, P('data'))`` and
the state replicated, XLA inserts the gradient all-reduce.
"""

from __future__ import annotations

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

__all__ = ["DATA_AXIS", "batch_sharding", "check_divisible", "data_mesh", "mesh_for", "replicate", "replicated",
           "shard_batch"]

DATA_AXIS = "data"


def data_mesh(devices=None) -> Mesh:
  """A 1-D mesh over ``devices`` (default: all devices, every process) with the axis ``'data'``."""
  devices = jax.devices() if devices is None else devices
  return Mesh(np.asarray(devices), (DATA_AXIS,))


def mesh_for(num_devices: int, global_batch: int) -> Mesh:
  """The mesh of a run: the first ``num_devices`` devices (0: all of them), checked against the batch size."""
  devices = jax.devices()
  if num_devices:
    if num_devices > len(devices):
      raise ValueError(f"config.num_devices={num_devices} but only {len(devices)} devices are visible.")
    devices = devices[:num_devices]
  mesh = data_mesh(devices)
  check_divisible(global_batch, mesh)
  return mesh


def batch_sharding(mesh: Mesh) -> NamedSharding:
  """Leading (batch) axis split over the mesh's ``'data'`` axis."""
  return NamedSharding(mesh, P(DATA_AXIS))


def replicated(mesh: Mesh) -> NamedSharding:
  return NamedSharding(mesh, P())


def check_divisible(global_batch: int, mesh: Mesh) -> None:
  n = mesh.devices.size
  if global_batch % n:
    raise ValueError(f"The global batch size {global_batch} is not divisible by the number of devices ({n}); "
                     f"use a multiple of {n} (e.g. {n * max(1, global_batch // n)}) or fewer devices.")


def shard_batch(batch, mesh: Mesh):
  """Places a host batch on the mesh, split along the batch axis (single process)."""
  jax.tree_util.tree_map(lambda a: check_divisible(a.shape[0], mesh), batch)
  return jax.device_put(batch, batch_sharding(mesh))


def replicate(tree, mesh: Mesh):
  """Places a pytree (state, dataset) fully replicated on the mesh's devices.

  Works across processes too: every process must hold the same values.
  """
  sharding = replicated(mesh)
  if jax.process_count() == 1:
    return jax.device_put(tree, sharding)
  return jax.tree_util.tree_map(
      lambda a: jax.make_array_from_process_local_data(sharding, np.asarray(a)), tree)
