"""The library's switches read from the environment (``VAE_JAX_ONEDNN``, ``VAE_JAX_FUSED_ADAM``,
``VAE_JAX_FUSED_BERNOULLI``, ``VAE_JAX_FUSION_BARRIER``, ``VAE_JAX_KEEP_FREED_MEMORY``).

One reader and one vocabulary for all of them: ``0`` / ``1`` (also ``false``/``no``/``off`` and ``true``/``yes``/
``on``, in any case) and, for a switch that has it, ``auto``. Anything else stops with an error that names the
variable, what it holds and what it accepts — a typo must not silently pick a code path. :func:`cpu_custom_call`
is the one decision for the CPU custom calls built on first use (:mod:`vae_jax.onednn_conv`,
:mod:`vae_jax.fused_adam`, :mod:`vae_jax.threefry_bernoulli`, :mod:`vae_jax.fusion_barrier`).
"""

from __future__ import annotations

import os
from collections.abc import Callable

_OFF, _ON = ("0", "false", "no", "off"), ("1", "true", "yes", "on")


def read(name: str, default: str, *, auto: bool = False, meaning: str = "") -> str:
  """``"0"``, ``"1"`` or (with ``auto``) ``"auto"``: environment variable ``name`` normalised, ``default`` if unset.

  ``meaning``: appended to the error, e.g. what each value does.
  """
  raw = os.environ.get(name, default)
  value = raw.strip().lower()
  if value in _OFF:
    return "0"
  if value in _ON:
    return "1"
  if auto and value == "auto":
    return "auto"
  raise ValueError(f"{name}={raw!r}: must be {'0, 1 or auto' if auto else '0 or 1'}{meaning}.")


def cpu_custom_call(name: str, what: str, available: Callable[[], bool], why_unavailable: Callable[[], str]) -> bool:
  """Whether a CPU custom call is used here, from switch ``name``: ``0`` never; ``1`` always (a RuntimeError naming
  ``what`` and why, if its handler cannot be built); ``auto`` (default) on a CPU process that sees one device, when
  ``available()`` builds it. XLA's partitioner cannot split a custom call across a mesh (it would gather the whole
  batch onto every device), and on a GPU or TPU process the CPU branch is never lowered, so ``auto`` builds nothing
  there."""
  import jax  # noqa: PLC0415 (here: host_memory reads its switch before anything imports JAX)

  switch = read(name, "auto", auto=True)
  if switch == "0":
    return False
  if switch == "1":
    if not available():
      raise RuntimeError(f"{name}=1 but {what} unavailable: {why_unavailable()}")
    return True
  return jax.default_backend() == "cpu" and jax.device_count() == 1 and available()
