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
# per-member arrays, so a whole grid compiles once. Structural fields (sizes, kinds, step counts) cannot. The
# method's own come from its config's ``SWEEPABLE`` (vae_jax.methods), so a grid never names a field the method
# does not read (that would train copies).
OPTIMIZER_SWEEPABLE = ("optimizer.learning_rate",)


def sweepable(config: Config) -> tuple[str, ...]:
  """The dotted fields a sweep over ``config`` may vary: its method's ``SWEEPABLE`` and the learning rate."""
  return tuple(f"method.{f}" for f in type(config.method).SWEEPABLE) + OPTIMIZER_SWEEPABLE


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
    grid: ``((field, values), …)`` over :func:`sweepable` fields, e.g. ``(("method.beta", (1., 4.)),)``.
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
    allowed = sweepable(self.base)
    for name, values in self.grid:
      if name not in allowed:
        raise ValueError(f"sweep: {name!r} cannot be swept in one program for method.name="
                         f"{self.base.method.name!r}; its sweepable fields: {list(allowed)} (another method: "
                         "--config.method.name …).")
      if not values:
        raise ValueError(f"sweep: {name} has no values.")
      if name == "method.noise_level" and getattr(self.base.method, "corruption", "none") == "none":
        raise ValueError("sweep: method.noise_level needs method.corruption other than 'none'.")
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
  """A :class:`SweepConfig` from a plain grid, e.g. ``make_sweep(cfg, {"method.beta": [1, 4]}, seeds=[0, 1])``."""
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
