"""Strided "SAME" convolutions on XLA:CPU computed by oneDNN, through XLA FFI custom calls.

XLA:CPU computes convolutions with Eigen; on the 2-core CPU its gradients of the conv β-VAE's strided 4×4
convolutions, even rewritten (:mod:`vae_jax.space_to_depth`), left the training step at 0.90–0.95× PyTorch's, whose
convolutions are oneDNN's (``benchmarks/README.md``). This module gives XLA:CPU the same library: the three products
of a strided convolution — forward, input gradient (a transposed convolution) and weight gradient — as FFI handlers
(``vae_jax/csrc/onednn_conv.cc``) that call oneDNN's convolution primitives on the NHWC / HWIO buffers.

The handlers are compiled on first use with the system C++ compiler against oneDNN's headers and jaxlib's FFI
headers (:mod:`vae_jax.ffi_build`), into ``$VAE_JAX_CACHE`` (default ``~/.cache/vae_jax``), once per source, jaxlib
and oneDNN version.
:func:`available` says whether that worked; when it did not (no compiler, no oneDNN: ``apt-get install
libdnnl-dev g++``), :mod:`vae_jax.space_to_depth` keeps XLA's own convolutions and logs why once.
:func:`enabled` says when the library path is taken (``VAE_JAX_ONEDNN``: ``0`` never, ``1`` always, default: on a
single-device CPU process).

Only float32 on the CPU backend; :mod:`vae_jax.space_to_depth` selects these functions with
``lax.platform_dependent``, so the same model code lowers to XLA's convolutions on GPU and TPU. Values equal
``lax.conv_general_dilated``'s up to float rounding (tests), so checkpoints are interchangeable.
"""

from __future__ import annotations

import ctypes
import logging
import os
import pathlib
import sys

import jax
import jax.numpy as jnp
import numpy as np

from vae_jax import env_switch, ffi_build

__all__ = ["enabled", "available", "why_unavailable", "forward", "backward_data", "backward_weights", "same_padding",
           "build_library"]


_SOURCE = pathlib.Path(__file__).with_name("csrc") / "onednn_conv.cc"
_TARGETS = {"forward": "VaeJaxConvForward", "backward_data": "VaeJaxConvBackwardData",
            "backward_weights": "VaeJaxConvBackwardWeights"}


def _include_dirs() -> list[str]:
  """Where ``dnnl.hpp`` may be: ``$DNNL_ROOT/include``, the environment's prefix, the system."""
  roots = [os.environ.get("DNNL_ROOT", ""), sys.prefix, "/usr/local", "/usr"]
  return [str(pathlib.Path(r) / "include") for r in roots if r and (pathlib.Path(r) / "include" / "dnnl.hpp").exists()]


def build_library(cache: pathlib.Path, source: pathlib.Path = _SOURCE) -> pathlib.Path:
  """Compiles ``source`` (default: this module's handlers) against oneDNN unless a build for this source, jaxlib and
  oneDNN is cached; returns the shared library. ``benchmarks/onednn_matmul.py`` builds its handler with it."""
  includes = _include_dirs()[:1]  # one oneDNN: its headers, its library (the handlers use the 2.x API)
  if not includes:
    raise RuntimeError("oneDNN's headers (dnnl.hpp) were not found: install libdnnl-dev or set DNNL_ROOT")
  version_h = pathlib.Path(includes[0]) / "oneapi" / "dnnl" / "dnnl_version.h"
  try:
    return ffi_build.compile_library(
        source, cache, flags=["-O2"], includes=includes, libdirs=[str(pathlib.Path(includes[0]).parent / "lib")],
        libs=["dnnl"], digest_extra=version_h.read_bytes() if version_h.exists() else includes[0].encode())
  except ffi_build.CompileError as e:
    raise ffi_build.CompileError(f"against oneDNN in {includes[0]}: {e}") from e


_HANDLER = ffi_build.Handler(
    "oneDNN convolutions are", {f"vae_jax_onednn_{name}": symbol for name, symbol in _TARGETS.items()},
    lambda: ctypes.CDLL(str(build_library(ffi_build.cache_dir()))), fallback="XLA's convolutions are used on the CPU",
    logger=logging.getLogger(__name__))


def enabled() -> bool:
  """Whether :mod:`vae_jax.space_to_depth` computes CPU convolutions here, read when a function is traced:
  ``VAE_JAX_ONEDNN`` as :func:`vae_jax.env_switch.cpu_custom_call` reads it (``auto``: a CPU process with one
  device; on a multi-device mesh XLA's own convolutions, which its partitioner can split)."""
  return env_switch.cpu_custom_call("VAE_JAX_ONEDNN", _HANDLER.name, available, why_unavailable)


available = _HANDLER.available  # built and registered? (builds on the first call; thread-safe)
why_unavailable = _HANDLER.why_unavailable  # empty when available(); otherwise what was missing


def same_padding(size: int, k: int, s: int) -> int:
  """The padding XLA's ``"SAME"`` puts before an axis of ``size`` for a ``k``-tap, stride-``s`` window."""
  out = -(-size // s)
  return max((out - 1) * s + k - size, 0) // 2


def _call(name: str, a: jax.Array, b: jax.Array, out_shape: tuple[int, ...], stride: int, in_hw: tuple[int, int],
          k: int) -> jax.Array:
  if not available():
    raise RuntimeError(f"oneDNN convolutions are unavailable: {why_unavailable()}")
  if a.dtype != jnp.float32 or b.dtype != jnp.float32:
    raise TypeError(f"oneDNN convolutions take float32, got {a.dtype} and {b.dtype}.")
  call = jax.ffi.ffi_call(f"vae_jax_onednn_{name}", jax.ShapeDtypeStruct(out_shape, jnp.float32),
                          vmap_method="sequential")
  return call(a, b, stride=np.int64(stride), pad_top=np.int64(same_padding(in_hw[0], k, stride)),
              pad_left=np.int64(same_padding(in_hw[1], k, stride)))


def forward(x: jax.Array, w: jax.Array, stride: int) -> jax.Array:
  """``lax.conv_general_dilated(x, w, (stride,) * 2, "SAME")`` for x ``[b, H, W, C]``, w ``[k, k, C, O]``."""
  b, h, wd, _ = x.shape
  out = (b, -(-h // stride), -(-wd // stride), w.shape[3])
  return _call("forward", x, w, out, stride, (h, wd), w.shape[0])


def backward_data(dy: jax.Array, w: jax.Array, stride: int, in_shape: tuple[int, ...]) -> jax.Array:
  """The adjoint of :func:`forward` in ``x`` (of shape ``in_shape``) applied to ``dy``: a transposed convolution."""
  return _call("backward_data", dy, w, tuple(in_shape), stride, tuple(in_shape[1:3]), w.shape[0])


def backward_weights(x: jax.Array, dy: jax.Array, stride: int, w_shape: tuple[int, ...]) -> jax.Array:
  """The adjoint of :func:`forward` in ``w`` (of shape ``w_shape``) applied to ``dy``: the weight gradient."""
  return _call("backward_weights", x, dy, tuple(w_shape), stride, tuple(x.shape[1:3]), w_shape[0])
