"""The library's switches read from the environment (``VAE_JAX_ONEDNN``, ``VAE_JAX_KEEP_FREED_MEMORY``).

One reader and one vocabulary for all of them: ``0`` / ``1`` (also ``false``/``no``/``off`` and ``true``/``yes``/
``on``, in any case) and, for a switch that has it, ``auto``. Anything else stops with an error that names the
variable, what it holds and what it accepts — a typo must not silently pick a code path.
"""

from __future__ import annotations

import os

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
