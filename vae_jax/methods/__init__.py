"""Training methods, one module each: a frozen ``Config`` of its own hyperparameters, ``make_loss`` and, where the
method needs one, ``make_extra`` (its own state and update, e.g. FactorVAE's discriminator).

The :data:`REGISTRY` below is the one place that maps a method's name to its code; ``Config.method`` is the method's
dataclass, chosen by its ``name`` field (:func:`config_from_dict`). Adding a method = one module here + one line in
:data:`REGISTRY` + one test file.

Contract of every method module:
  * ``NAME`` (the registry key, ``method.name``) and ``TITLE`` (its name in tables and figures).
  * ``Config``: frozen dataclass with a ``name`` field, validated on construction (Python numbers only, so a traced
    hyperparameter passes); ``Config.SWEEPABLE`` names the fields a sweep may set to traced scalars under ``vmap``.
  * ``make_loss(model, config, *, dataset_size) -> loss_fn(params, batch, key, step) -> (loss, metrics)``: ``loss``
    the batch mean in nats per example, ``metrics`` a flat dict of scalars (``loss``, ``recon``, ``kl``, ``elbo``,
    ``beta``, …). Methods with ``make_extra`` take their state as ``loss_fn(..., extra=state)``.
  * ``make_extra(model, config) -> Extra(init, update)`` (optional), run by :func:`vae_jax.train.step.update`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import NamedTuple

from vae_jax.methods import (ae, annealed_vae, beta_tcvae, beta_vae, dip_vae_i, dip_vae_ii, factor_vae, iwae,
                             vae)
from vae_jax.methods._common import CORRUPTIONS, Extra, LossFn, make_corruption

VARIATIONAL = ("vae",)  # ModelConfig.kind values with a stochastic encoder
DETERMINISTIC = ("ae", "stacked_ae")


class Method(NamedTuple):
  """A registry entry. ``title``: the method's name in tables and figures (``"β-VAE"``); ``model_kinds``: the
  ``ModelConfig.kind`` values the method trains."""

  name: str
  title: str
  Config: type
  make_loss: Callable[..., LossFn]
  model_kinds: tuple[str, ...]
  make_extra: Callable[..., Extra] | None = None


def _entry(module, model_kinds, *, extra: bool = False) -> Method:
  return Method(module.NAME, module.TITLE, module.Config, module.make_loss, model_kinds,
                module.make_extra if extra else None)


REGISTRY: dict[str, Method] = {m.name: m for m in (
    _entry(ae, DETERMINISTIC),
    _entry(vae, VARIATIONAL),
    _entry(beta_vae, VARIATIONAL),
    _entry(annealed_vae, VARIATIONAL),
    _entry(beta_tcvae, VARIATIONAL),
    _entry(iwae, VARIATIONAL),
    _entry(factor_vae, VARIATIONAL, extra=True),
    _entry(dip_vae_i, VARIATIONAL),
    _entry(dip_vae_ii, VARIATIONAL),
)}


def get(name: str) -> Method:
  if name not in REGISTRY:
    raise ValueError(f"method.name={name!r} is not valid; choose one of {list(REGISTRY)}.")
  return REGISTRY[name]


def is_config(obj) -> bool:
  """Whether ``obj`` is one of the registered methods' configs."""
  return any(type(obj) is m.Config for m in REGISTRY.values())


def config_from_dict(d: dict):
  """The method config named by ``d["name"]`` (default ``"vae"``) from the other keys (lists become tuples).

  Keys that belong to another registered method are dropped (they are left over when the name was switched, e.g.
  ``--config.method.name factor_vae`` on a β-VAE config); a key no method knows is an error.
  """
  method = get(d.get("name", "vae"))
  own = {f.name for f in dataclasses.fields(method.Config)}
  known = {f.name for m in REGISTRY.values() for f in dataclasses.fields(m.Config)}
  unknown = sorted(k for k in d if k not in known)
  if unknown:
    raise ValueError(f"Unknown method field(s) {unknown} for method.name={method.name!r}; its fields: "
                     f"{sorted(own)}.")
  return method.Config(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items() if k in own})


def describe(config) -> str:
  """``name`` and the sweepable hyperparameters, e.g. ``beta_vae beta=4``; the corruption if there is one, and a
  β-TCVAE estimator other than the default."""
  parts = [config.name] + [f"{f}={getattr(config, f):g}" for f in type(config).SWEEPABLE if f != "noise_level"]
  if getattr(config, "corruption", "none") != "none":
    parts.append(f"{config.corruption}={config.noise_level:g}")
  if getattr(config, "estimator", "mws") != "mws":
    parts.append(f"estimator={config.estimator}")
  return " ".join(parts)


# Results and config.json files written before the methods package hold an "objective" section; this maps it.
_LEGACY = {  # old kind -> (method name, {new field: old field})
    "ae": ("ae", {"corruption": "corruption", "noise_level": "noise_level"}),
    "dae": ("ae", {"corruption": "corruption", "noise_level": "noise_level"}),
    "vae": ("vae", {"corruption": "corruption", "noise_level": "noise_level"}),
    "beta_vae": ("beta_vae", {"beta": "beta", "beta_warmup_steps": "beta_warmup_steps", "corruption": "corruption",
                              "noise_level": "noise_level"}),
    "capacity_vae": ("annealed_vae", {"gamma": "gamma", "c_max": "capacity_max",
                                      "iteration_threshold": "capacity_steps"}),
    "beta_tcvae": ("beta_tcvae", {"alpha": "alpha", "beta": "beta", "gamma": "tc_gamma",
                                  "beta_warmup_steps": "beta_warmup_steps"}),
    "iwae": ("iwae", {"num_samples": "num_samples"}),
}


def from_objective(d: dict):
  """The method config equivalent to an old ``objective`` section (``{"kind": …, "beta": …, …}``)."""
  kind = d.get("kind", "vae")
  if kind not in _LEGACY:
    raise ValueError(f"objective.kind={kind!r} is not a known legacy objective; choose one of {list(_LEGACY)}.")
  name, fields = _LEGACY[kind]
  if "corruption" not in fields and d.get("corruption", "none") != "none":
    raise ValueError(f"objective.kind={kind!r} with corruption={d['corruption']!r}: method {name!r} has no "
                     "corruption option.")
  return config_from_dict({"name": name, **{new: d[old] for new, old in fields.items() if old in d}})


__all__ = [
    "CORRUPTIONS", "DETERMINISTIC", "Extra", "LossFn", "Method", "REGISTRY", "VARIATIONAL", "ae", "annealed_vae",
    "beta_tcvae", "beta_vae", "config_from_dict", "describe", "dip_vae_i", "dip_vae_ii", "factor_vae",
    "from_objective", "get", "is_config", "iwae", "make_corruption", "vae",
]
