"""Compiling the library's XLA FFI handlers (``vae_jax/csrc/*.cc``) on first use, once per source and jaxlib.

The handlers are small C++ files built with the system compiler against jaxlib's FFI headers (and, for
:mod:`vae_jax.onednn_conv`, oneDNN's) into ``$VAE_JAX_CACHE`` (default ``~/.cache/vae_jax``). The file name carries a
digest of the source and the headers beside it that it includes, the flags, jaxlib's version and whatever else the
caller names (a library's version header), so a change of any of them builds anew and a stale build is never
loaded. The library is written to a temporary name and renamed into place: a concurrent build or a crash never
leaves a half-written file.
"""

from __future__ import annotations

import ctypes
import hashlib
import importlib.metadata
import logging
import os
import pathlib
import re
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable

import jax

__all__ = ["CompileError", "Handler", "build", "cache_dir", "compile_library", "local_headers"]


class CompileError(RuntimeError):
  """The compiler ran and failed (its last messages in the text): a broken toolchain or header, worth a warning;
  a missing compiler is a plain RuntimeError (an expected setup without g++)."""


def cache_dir() -> pathlib.Path:
  """``$VAE_JAX_CACHE`` or ``~/.cache/vae_jax``."""
  return pathlib.Path(os.environ.get("VAE_JAX_CACHE") or pathlib.Path.home() / ".cache" / "vae_jax")


def local_headers(source: pathlib.Path) -> list[pathlib.Path]:
  """The headers beside ``source`` that it includes (``#include "name"``), and theirs, in the order first met: the
  files besides ``source`` whose change must rebuild it (jaxlib's and the system's headers are covered by their
  versions)."""
  found, todo = [], [source]
  while todo:
    for name in re.findall(r'^\s*#\s*include\s+"([^"]+)"', todo.pop(0).read_text(), flags=re.MULTILINE):
      path = source.parent / name
      if path.is_file() and path not in found:
        found.append(path)
        todo.append(path)
  return found


def compile_library(source: pathlib.Path, cache: pathlib.Path, *, flags: list[str] = (), includes: list[str] = (),
                    libdirs: list[str] = (), libs: list[str] = (), digest_extra: bytes = b"") -> pathlib.Path:
  """The shared library built from ``source`` in ``cache`` (compiled unless a build for the same inputs is there).

  Raises RuntimeError, saying what is missing, when no compiler is found (``$CXX``, ``g++`` or ``c++``), and
  :class:`CompileError` when the compile fails (with the compiler's last messages).
  """
  requested = os.environ.get("CXX")
  cxx = shutil.which(requested) if requested else shutil.which("g++") or shutil.which("c++")
  if not cxx:
    raise RuntimeError(f"no C++ compiler ({'CXX=' + requested if requested else 'g++'} not found; install g++ "
                       "or set CXX)")
  flags = ["-std=c++17", "-shared", "-fPIC", "-w", *flags]
  headers = b"".join(h.name.encode() + b"\0" + h.read_bytes() for h in local_headers(source))
  digest = hashlib.sha256(source.read_bytes() + headers + importlib.metadata.version("jaxlib").encode()
                          + digest_extra + "\0".join([*flags, *includes, *libs]).encode())
  out = cache / f"{source.stem}-{digest.hexdigest()[:16]}.so"
  if out.exists():
    return out
  cache.mkdir(parents=True, exist_ok=True)
  with tempfile.TemporaryDirectory(dir=cache) as tmp:
    tmp_out = pathlib.Path(tmp) / out.name
    cmd = [cxx, *flags, str(source), "-o", str(tmp_out), f"-I{jax.ffi.include_dir()}", *(f"-I{i}" for i in includes),
           *(f"-L{d}" for d in libdirs), *(f"-Wl,-rpath,{d}" for d in libdirs), *(f"-l{lib}" for lib in libs)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
      raise CompileError(f"compiling {source.name} failed:\n{proc.stderr[-2000:]}")
    os.replace(tmp_out, out)
  return out


def build(source: pathlib.Path, **kwargs) -> ctypes.CDLL:
  """:func:`compile_library` into :func:`cache_dir`, loaded."""
  return ctypes.CDLL(str(compile_library(source, cache_dir(), **kwargs)))


class Handler:
  """Handlers built and registered with XLA:CPU on first use — once per process, thread-safe (models train on
  several threads, and a target must not be registered twice) — and why not, when they cannot be.

  ``name``: what the log line calls them. ``targets``: FFI target name → the symbol ``XLA_FFI_DEFINE_HANDLER_SYMBOL``
  defines. ``library``: builds (or finds cached) and loads the shared library, e.g. ``lambda: build(source,
  flags=…)``. ``fallback`` ends the log line when they are unavailable: what runs instead. A failed compile warns;
  a missing compiler or library is an expected setup and logs at info.
  """

  def __init__(self, name: str, targets: dict[str, str], library: Callable[[], ctypes.CDLL], *, fallback: str,
               logger: logging.Logger):
    self.name, self.targets, self._library, self.fallback, self._log = name, targets, library, fallback, logger
    self._lock = threading.Lock()
    self._outcome: tuple[bool, str] | None = None

  def load(self) -> tuple[bool, str]:
    """``(built and registered, why not)``; builds on the first call."""
    with self._lock:
      if self._outcome is None:
        self._outcome = self._load()
      return self._outcome

  def _load(self) -> tuple[bool, str]:
    try:
      lib = self._library()
      for target, symbol in self.targets.items():
        jax.ffi.register_ffi_target(target, jax.ffi.pycapsule(getattr(lib, symbol)), platform="cpu")
    except (RuntimeError, OSError) as e:
      (self._log.warning if isinstance(e, CompileError) else self._log.info)(
          "%s unavailable (%s); %s.", self.name, e, self.fallback)
      return False, str(e)
    return True, ""

  def available(self) -> bool:
    """Whether the handlers are built and registered (builds them on the first call; thread-safe)."""
    return self.load()[0]

  def why_unavailable(self) -> str:
    """Empty when :meth:`available`; otherwise what was missing."""
    return self.load()[1]

  def forget(self) -> None:
    """Drops the remembered outcome, so the next call loads again (tests: registration from threads)."""
    with self._lock:
      self._outcome = None
