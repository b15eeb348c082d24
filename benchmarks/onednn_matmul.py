"""oneDNN's matmul primitive as a contender for the MLP step bound's products.

Issue #16 asks for a step bound "such that no implementation exceeds it". The MLP bound charged each product at the
faster of XLA's measurements of its shape (alone, and in one program); a hand-written step — the lead for the MLP
targets that XLA's code leaves out of reach (``benchmarks/README.md``) — would compute its products with a library
such as oneDNN, whose convolution primitives the conv β-VAE already uses and the conv bound already charges. This
module gives the bound oneDNN's matmul for each of the step's products (forward ``x·W``, weight gradient ``xᵀ·δ``,
input gradient ``δ·Wᵀ``), timed exactly as XLA's (one jitted call per product, ``stack`` calls back to back, the
fastest of ``reps``), so the own-shape bound charges whichever is faster: a product oneDNN computes faster than XLA
lowers the bound, never the reverse.

The handler (``benchmarks/csrc/onednn_matmul.cc``) is built on first use as :mod:`vae_jax.onednn_conv`'s are (g++,
oneDNN's headers, jaxlib's FFI headers; cached in ``$VAE_JAX_CACHE``). Without them :func:`available` is False and
the bound keeps XLA's products alone. Benchmark code only: the library's dense layers stay XLA's.
"""

from __future__ import annotations

import ctypes
import logging
import pathlib

import jax
import jax.numpy as jnp
import numpy as np

from vae_jax import ffi_build, onednn_conv

__all__ = ["available", "why_unavailable", "matmul", "product", "TRANSPOSES"]

_SOURCE = pathlib.Path(__file__).with_name("csrc") / "onednn_matmul.cc"
_TARGET = "vae_jax_bench_onednn_matmul"
_HANDLER = ffi_build.Handler(
    "oneDNN's matmul (benchmark contender) is", {_TARGET: "VaeJaxBenchOnednnMatmul"},
    lambda: ctypes.CDLL(str(onednn_conv.build_library(ffi_build.cache_dir(), _SOURCE))),
    fallback="the MLP step bound charges XLA's products only", logger=logging.getLogger(__name__))

available = _HANDLER.available  # built and registered? (builds on the first call)
why_unavailable = _HANDLER.why_unavailable

# The step bound's products (``benchmarks.bound.step_matmuls``' einsums) as (transpose a, transpose b).
TRANSPOSES = {"bi,io->bo": (False, False), "bi,bo->io": (True, False), "bo,io->bi": (False, True)}


def matmul(a: jax.Array, b: jax.Array, *, trans_a: bool = False, trans_b: bool = False) -> jax.Array:
  """``op(a) @ op(b)`` by oneDNN, ``op(m) = m.T`` where asked; float32 matrices on the CPU."""
  if a.ndim != 2 or b.ndim != 2 or a.dtype != jnp.float32 or b.dtype != jnp.float32:
    raise ValueError(f"onednn_matmul.matmul takes two float32 matrices, got {a.dtype}{list(a.shape)} and "
                     f"{b.dtype}{list(b.shape)}")
  m, k = a.shape[::-1] if trans_a else a.shape
  kb, n = b.shape[::-1] if trans_b else b.shape
  if k != kb:
    raise ValueError(f"onednn_matmul.matmul: op(a) is [{m}, {k}] and op(b) [{kb}, {n}]: inner sizes differ")
  if not available():
    raise RuntimeError(f"oneDNN's matmul is unavailable: {why_unavailable()}")
  call = jax.ffi.ffi_call(_TARGET, jax.ShapeDtypeStruct((m, n), jnp.float32), vmap_method="sequential")
  return call(a, b, trans_a=np.bool_(trans_a), trans_b=np.bool_(trans_b))


def product(einsum: str, x: jax.Array, y: jax.Array) -> jax.Array:
  """``jnp.einsum(einsum, x, y)`` by oneDNN for the step bound's three einsums (:data:`TRANSPOSES`)."""
  if einsum not in TRANSPOSES:
    raise ValueError(f"onednn_matmul.product computes {sorted(TRANSPOSES)}, not {einsum!r}")
  trans_a, trans_b = TRANSPOSES[einsum]
  return matmul(x, y, trans_a=trans_a, trans_b=trans_b)
