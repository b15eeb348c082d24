"""Timing and memory helpers shared by every contender: one timed repeat, summaries, peak RSS.

Method. A repeat is timed with ``time.perf_counter`` (wall) and ``time.process_time`` (CPU time of the whole
process, all threads) around work that ends in a device sync. Throughput is images per wall second; images per
CPU second is recorded too, because on a shared machine it moves much less with other people's load.

Peak RSS is ``resource.getrusage(RUSAGE_SELF).ru_maxrss`` of the process that ran the contender: every contender
runs in its own process (see :mod:`benchmarks.worker`), so the figure is that contender's high-water mark,
framework runtime and data included; on a GPU it is host memory only.
"""

from __future__ import annotations

import resource
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any


def peak_rss_mb() -> float:
  """High-water resident set size of this process in MiB (Linux reports KiB, macOS bytes)."""
  rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
  return rss / 2**20 if sys.platform == "darwin" else rss / 1024


def timed(fn: Callable[[], Any]) -> tuple[Any, float, float]:
  """``(fn(), wall seconds, process CPU seconds)``; ``fn`` must return only after the device has finished."""
  c0, t0 = time.process_time(), time.perf_counter()
  out = fn()
  return out, time.perf_counter() - t0, time.process_time() - c0


def throughput(images: int, wall: float, cpu: float, **extra) -> dict[str, Any]:
  """The result record of one repeat."""
  return {"images": images, "seconds": wall, "cpu_seconds": cpu, "images_per_s": images / wall,
          "images_per_cpu_s": images / cpu if cpu > 0 else None, **extra}


def summarize(values: list[float]) -> dict[str, float] | None:
  """Median, min, max and count of the finite values (None if there are none)."""
  xs = [float(v) for v in values if v is not None and v == v]
  if not xs:
    return None
  return {"median": statistics.median(xs), "min": min(xs), "max": max(xs), "n": len(xs)}


def block(tree: Any) -> Any:
  """Waits for every array in ``tree`` (JAX's asynchronous dispatch) and returns it."""
  import jax  # noqa: PLC0415  (torch-only workers never import jax)

  return jax.block_until_ready(tree)
