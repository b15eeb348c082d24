"""argparse checks for the command lines' counts and sizes (``experiments`` and ``benchmarks`` alike).

``type=at_least(1)`` turns ``--steps 0`` or ``--steps x`` into argparse's usage error, naming the flag and what it
takes (``argument --steps: a whole number of at least 1, got '0'``), exit status 2, before any work is done —
instead of a ZeroDivisionError, an empty median or a run of nothing, minutes later.

:func:`require` says the same after parsing, for the benchmark scripts: they import this module inside ``main``
once past their ``--worker`` branch, because their workers may run beside another checkout's packages (a
``--baseline`` older than this module), parsing with plain ``type=int``.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

__all__ = ["at_least", "require"]


def _wanted(low: int, got) -> str:
  """The message both checks give: what the flag takes and what it got."""
  return f"a whole number of at least {low}, got '{got}'"


def at_least(low: int) -> Callable[[str], int]:
  """An argparse ``type`` accepting whole numbers ≥ ``low`` (``at_least(0)``: a count where 0 means "none" or
  "all", as its help says; ``at_least(1)``: a size or count that must hold something)."""

  def parse(text: str) -> int:
    try:
      n = int(text)
    except ValueError:
      n = None
    if n is None or n < low:
      raise argparse.ArgumentTypeError(_wanted(low, text))
    return n

  parse.__name__ = f"at_least_{low}"  # argparse names the type in some messages
  return parse


def require(parser: argparse.ArgumentParser, args: argparse.Namespace, **low: int) -> None:
  """``parser.error`` (usage, the message, exit status 2) for the first flag whose value — or any of its values,
  for a list — is below its minimum: ``require(p, args, batch=1, rounds=0)``. ``None`` (a flag left to its
  default) passes."""
  for name, minimum in low.items():
    value = getattr(args, name)
    for x in value if isinstance(value, (list, tuple)) else [value]:
      if x is not None and x < minimum:
        parser.error(f"argument --{name.replace('_', '-')}: {_wanted(minimum, x)}")
