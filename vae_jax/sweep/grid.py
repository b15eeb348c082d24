"""What a sweep is: one base config, a grid over its sweepable hyperparameters and a list of seeds.

Members are the grid's combinations × the seeds, in that order (the seeds vary fastest): member ``k`` has
combination ``k // len(seeds)`` and seed ``seeds[k % len(seeds)]``. Each member is an ordinary, validated
:class:`vae_jax.configs.Config` (``Member.config``): the single run it stands for, written beside its checkpoints
when it is exported, so ``train.load_run`` reads it as any other run.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from vae_jax import configs
from vae_jax.configs import Config

# Float fields used only through jnp arithmetic inside the loss or the optimizer's update: they can be traced
# per-member arrays, so a whole grid compiles once. Structural fields (sizes, kinds, step counts) cannot.
SWEEPABLE = ("objective.beta", "objective.gamma", "objective.capacity_max", "objective.alpha",
             "objective.tc_gamma", "objective.noise_level", "optimizer.learning_rate")

# Which objective kinds read each objective field (a grid over a field the objective ignores trains copies).
# After vae_jax/methods lands, each method's SWEEPABLE tuple replaces this table.
_READ_BY = {
    "objective.beta": ("beta_vae", "beta_tcvae"),
    "objective.gamma": ("capacity_vae",),
    "objective.capacity_max": ("capacity_vae",),
    "objective.alpha": ("beta_tcvae",),
    "objective.tc_gamma": ("beta_tcvae",),
}


class Member(NamedTuple):
  index: int
  seed: int
  hparams: dict[str, float]
  config: Config
  name: str


def _set(config: Config, dotted: str, value: float) -> Config:
  group, field = dotted.split(".")
  return dataclasses.replace(config, **{group: dataclasses.replace(getattr(config, group), **{field: value})})


def _short(value: float) -> str:
  return f"{value:g}".replace("+", "")


@dataclass(frozen=True)
class SweepConfig:
  """A sweep: ``base`` trained once per (grid combination, seed).

  Attributes:
    base: the shared config (its ``seed`` is ignored; ``seeds`` replace it).
    grid: ``((field, values), …)`` over :data:`SWEEPABLE` fields, e.g. ``(("objective.beta", (1., 4.)),)``.
    seeds: the seeds; every combination is trained with each.
    data_parallel: size of the mesh's ``'data'`` axis (each member's batch split this many ways); the
      ``'member'`` axis takes the remaining devices, ``devices // data_parallel``.
  """

  base: Config
  grid: tuple[tuple[str, tuple[float, ...]], ...] = ()
  seeds: tuple[int, ...] = (0,)
  data_parallel: int = 1

  def __post_init__(self):
    names = [name for name, _ in self.grid]
    for name, values in self.grid:
      if name not in SWEEPABLE:
        raise ValueError(f"sweep: {name!r} cannot be swept in one program; sweepable fields: {list(SWEEPABLE)}.")
      if not values:
        raise ValueError(f"sweep: {name} has no values.")
      kind = self.base.objective.kind
      if name in _READ_BY and kind not in _READ_BY[name]:
        raise ValueError(f"sweep: objective.kind={kind!r} does not use {name} (used by {list(_READ_BY[name])}); "
                         "set e.g. --config.objective.kind beta_vae.")
      if name == "objective.noise_level" and self.base.objective.corruption == "none":
        raise ValueError("sweep: objective.noise_level needs objective.corruption other than 'none'.")
    if len(set(names)) != len(names):
      raise ValueError(f"sweep: a field appears twice in the grid: {names}.")
    if not self.seeds or len(set(self.seeds)) != len(self.seeds):
      raise ValueError(f"sweep: seeds must be non-empty and distinct, got {self.seeds}.")
    if self.data_parallel < 1:
      raise ValueError(f"sweep: data_parallel must be >= 1, got {self.data_parallel}.")
    if self.base.stacked.stage_steps:
      raise ValueError("sweep: greedy stacked pre-training (stacked.stage_steps) is not supported in a sweep.")
    self.members()  # every member's config validates now, not after compiling

  @property
  def names(self) -> tuple[str, ...]:
    return tuple(name for name, _ in self.grid)

  def members(self) -> list[Member]:
    out = []
    combos = itertools.product(*[values for _, values in self.grid])
    for combo, seed in itertools.product(list(combos), self.seeds):
      hp = {name: float(v) for name, v in zip(self.names, combo)}
      config = dataclasses.replace(self.base, seed=int(seed))
      for name, v in hp.items():
        config = _set(config, name, v)
      k = len(out)
      label = "".join(f"_{name.split('.')[1]}{_short(v)}" for name, v in hp.items())
      out.append(Member(k, int(seed), hp, config, f"m{k:03d}_seed{seed}{label}"))
    return out

  def to_dict(self) -> dict:
    return {"base": configs.to_dict(self.base), "grid": {n: list(v) for n, v in self.grid},
            "seeds": list(self.seeds), "data_parallel": self.data_parallel}

  @classmethod
  def from_dict(cls, d: dict) -> SweepConfig:
    return make_sweep(configs.from_dict(d["base"]), d["grid"], seeds=d["seeds"], data_parallel=d["data_parallel"])


def make_sweep(config: Config, grid: Mapping[str, Sequence[float]] | None = None, *, seeds: Sequence[int] = (0,),
               data_parallel: int = 1) -> SweepConfig:
  """A :class:`SweepConfig` from a plain grid, e.g. ``make_sweep(cfg, {"objective.beta": [1, 4]}, seeds=[0, 1])``."""
  grid = tuple((name, tuple(float(v) for v in values)) for name, values in (grid or {}).items())
  return SweepConfig(config, grid, tuple(int(s) for s in seeds), data_parallel)


def parse_seeds(text: str) -> tuple[int, ...]:
  """``"0-4"`` → (0, 1, 2, 3, 4) (inclusive); ``"0,3,7"`` → (0, 3, 7); ranges and lists mix: ``"0-2,9"``."""
  out: list[int] = []
  for part in (p.strip() for p in text.split(",") if p.strip()):
    lo, sep, hi = part.partition("-")
    try:
      out.extend(range(int(lo), int(hi) + 1) if sep else [int(lo)])
    except ValueError:
      raise ValueError(f"--sweep.seeds: cannot read {text!r}; use e.g. 0-4 or 0,1,2.") from None
  return tuple(out)


def parse_values(name: str, text: str) -> tuple[float, ...]:
  """``"1,2,4"`` → (1.0, 2.0, 4.0)."""
  try:
    return tuple(float(t) for t in text.split(",") if t.strip())
  except ValueError:
    raise ValueError(f"--sweep.{name}: cannot read {text!r} as comma-separated numbers.") from None


def read(path: str) -> SweepConfig:
  with open(path) as f:
    return SweepConfig.from_dict(json.load(f))
