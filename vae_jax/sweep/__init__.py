"""Sweeps as one program: many members — seeds × hyperparameters — trained in one jitted, sharded run.

    from vae_jax import sweep
    s = sweep.make_sweep(config, {"method.beta": [1, 2, 4, 8]}, seeds=range(3))
    results = sweep.train_sweep(s, "runs/beta_sweep")
    config_2, state_2 = sweep.load_member("runs/beta_sweep", 2)   # or train.load_run("runs/beta_sweep/members/<name>")

Modules: :mod:`~vae_jax.sweep.grid` (what a sweep is), :mod:`~vae_jax.sweep.engine` (the vmapped, sharded
programs), :mod:`~vae_jax.sweep.run` (the loop), :mod:`~vae_jax.sweep.io` (files, checkpoints, member export),
:mod:`~vae_jax.sweep.extend` (members of finished sweeps continued for more updates: ``train_sweep(..., start_from=)``).
"""

from vae_jax.sweep.engine import SweepState, member_method, sweep_mesh
from vae_jax.sweep.grid import Member, SweepConfig, make_sweep, parse_seeds, parse_values, sweepable
from vae_jax.sweep.io import export_from_workdir, kept_steps, load_member, load_sweep, member_state, read_sweep
from vae_jax.sweep.run import checkpointed, finished, train_sweep

__all__ = [
    "Member",
    "sweepable",
    "SweepConfig",
    "SweepState",
    "checkpointed",
    "export_from_workdir",
    "finished",
    "kept_steps",
    "load_member",
    "load_sweep",
    "make_sweep",
    "member_method",
    "member_state",
    "parse_seeds",
    "parse_values",
    "read_sweep",
    "sweep_mesh",
    "train_sweep",
]
