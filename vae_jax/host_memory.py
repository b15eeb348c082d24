"""Keep freed host memory mapped, so that a jitted function called once per step does not page-fault every call.

XLA:CPU allocates each execution's output and temporary buffers with the C library's ``malloc`` and frees them when
the execution ends. glibc serves requests above its mmap threshold (128 KiB, raised dynamically up to 32 MiB) with
a fresh ``mmap`` and returns them with ``munmap``, trims the heap's top above 128 KiB, and serves a request above
64 MiB made in a thread with its own arena (whose heaps are at most that) by ``mmap`` whatever it is told: every
host-stepped update of the conv β-VAE touched thousands of fresh pages, each a minor page fault that the kernel
zero-fills (counts and timings: ``benchmarks/README.md``, "Host memory"). TensorFlow and PyTorch users get the same
effect by preloading tcmalloc; a library can't preload anything, but it can set glibc's knobs with ``mallopt``:

* :func:`keep_freed_memory` — ``M_MMAP_MAX = 0`` (no request is served by ``mmap``: large buffers come from a
  heap, where the next call of the same size reuses the freed block) and ``M_TRIM_THRESHOLD = 2³¹ − 1`` bytes
  (the largest ``mallopt`` takes: a heap's freed top below 2 GiB is not handed back to the kernel). The
  host-stepped training loops call it on a CPU backend (:func:`vae_jax.train.multi_step.host_stepped`); that is
  enough where the buffers come from the main heap (oneDNN's convolutions).
* :func:`one_arena` — ``M_ARENA_MAX = 1``: threads that have not allocated yet share the main heap, which grows
  to any size and whose top the setting above keeps, instead of per-thread arenas. XLA:CPU's own convolutions run
  in such threads, so they kept faulting until the process started with one arena. It only reaches threads that
  have not called ``malloc`` yet, so it is called at start-up, before JAX's first computation: the ``experiments``
  package does it on import (every ``python -m experiments.…``, whose batched conv inference it speeds up too);
  in your own program call it first, or set ``MALLOC_ARENA_MAX=1`` in the environment, or preload tcmalloc. One
  arena means one lock for every thread's ``malloc``: XLA's executions allocate a few buffers each, but a program
  whose threads allocate heavily may lose.

The cost of both: the process's resident size no longer shrinks after a peak (a training loop reuses the same
buffers, so its peak is what it holds anyway). ``VAE_JAX_KEEP_FREED_MEMORY=0`` turns both off. Where the C library
is not glibc nothing is changed; with tcmalloc or jemalloc preloaded, glibc's settings are inert (and not needed).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import threading

from vae_jax import env_switch

__all__ = ["ENV", "keep_freed_memory", "one_arena"]

ENV = "VAE_JAX_KEEP_FREED_MEMORY"
_M_TRIM_THRESHOLD, _M_MMAP_MAX, _M_ARENA_MAX = -1, -4, -8  # glibc's <malloc.h>
_TRIM_THRESHOLD = 2**31 - 1  # mallopt's value is an int

_lock = threading.Lock()
_done: dict[str, bool] = {}
logger = logging.getLogger(__name__)


def _mallopt():
  """glibc's ``mallopt``, or ``None`` where the C library is not glibc."""
  try:
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    libc.gnu_get_libc_version  # noqa: B018 — glibc only
    mallopt = libc.mallopt
  except (OSError, AttributeError):
    return None
  mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
  return mallopt


def _enabled() -> bool:
  return env_switch.read(ENV, "1", meaning=" (1: keep freed host memory mapped, the default; 0: glibc's own "
                         "settings)") == "1"


def _once(name: str, options: tuple[tuple[int, int], ...]) -> bool:
  with _lock:
    if name not in _done:
      mallopt = _mallopt() if _enabled() else None
      ok = mallopt is not None and all(mallopt(option, value) == 1 for option, value in options)
      if mallopt is not None and not ok:
        logger.warning("glibc's mallopt refused %s; host-stepped loops may page-fault.", name)
      _done[name] = ok
    return _done[name]


def keep_freed_memory() -> bool:
  """Sets glibc's ``M_MMAP_MAX = 0`` and ``M_TRIM_THRESHOLD = 2³¹ − 1`` for this process, once.

  Returns whether the setting is in force: ``False`` when ``VAE_JAX_KEEP_FREED_MEMORY=0``, when the C library is
  not glibc, or when ``mallopt`` refused. Idempotent and thread-safe; the environment variable is read at the
  first call (a value other than 0/1 is a ``ValueError``).
  """
  return _once("keep_freed_memory", ((_M_MMAP_MAX, 0), (_M_TRIM_THRESHOLD, _TRIM_THRESHOLD)))


def one_arena() -> bool:
  """Sets glibc's ``M_ARENA_MAX = 1`` and :func:`keep_freed_memory`'s settings, once; call it before JAX's first
  computation (threads that already allocated keep their arenas). Returns whether both are in force."""
  return keep_freed_memory() and _once("one_arena", ((_M_ARENA_MAX, 1),))
