"""Configs: one module per experiment, plus the single-model training configs of ``experiments.main``.

``experiments/configs/<name>.py`` holds experiment ``<name>``'s protocol (``experiments/<name>.py`` runs it):
``SIZES`` (the sizes it has: at least ``smoke``, ``quick`` and ``full``), ``get_config(size) ->
ml_collections.ConfigDict`` (built with :func:`sized`) and, where the experiment trains models,
``variants(cfg) -> dict[str, vae_jax.configs.Config]``. What several experiments train lives in one module they all
import (``fashion_pretrain``: the Fashion-MNIST encoders of semi_supervised, attribute_vectors and interpolation);
configs may import configs, never scripts. The other modules (``quickstart``, ``tiny``, ``flax_vae_fashion``,
``stacked_fashion``) are one training config each, for ``python -m experiments.main --config``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import ml_collections

SIZES = ("smoke", "quick", "full")


def sized(size: str, full: Mapping[str, Any], **others: Mapping[str, Any]) -> ml_collections.ConfigDict:
  """The protocol at ``size``: ``full``, with the fields ``others[size]`` changes (locked: a typo raises).

  Args:
    size: ``"full"`` or a key of ``others``.
    full: every field of the protocol at its full size.
    **others: per other size, the fields that differ from ``full``.

  Raises:
    ValueError: for an unknown size (the message names the valid ones), or when a size changes a field ``full``
      does not have.
  """
  valid = ("full", *others)
  if size not in valid:
    raise ValueError(f"unknown size {size!r}; valid sizes: {', '.join(valid)}")
  changes = others.get(size, {})
  unknown = sorted(set(changes) - set(full))
  if unknown:
    raise ValueError(f"size {size!r} sets {unknown}, which the full size does not have ({sorted(full)})")
  cfg = ml_collections.ConfigDict({**full, **changes, "size": size})
  cfg.lock()
  return cfg
