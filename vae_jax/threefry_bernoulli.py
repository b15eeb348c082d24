"""Dynamic binarization's Bernoulli draw on XLA:CPU through an XLA FFI custom call: ``jax.random.bernoulli``'s bits.

Why: in the MLP VAE's jitted step, drawing a fresh binarization of the batch — a Threefry-2x32 hash per pixel and a
comparison — is one of the kernels the step bound does not charge (``benchmarks/README.md``, "Where the MLP step's
time goes"). XLA:CPU compiles the unrolled hash (:mod:`vae_jax.train.prng`) to 256-bit vector code; the handler
(``vae_jax/csrc/threefry_bernoulli.cc``) computes the same hash, counters and uniform mapping in 512-bit vectors
where the CPU has AVX-512, over XLA's intra-op threads (``python -m benchmarks.bernoulli_draw`` times both).

The result is ``jax.random.bernoulli(key, p).astype(float32)`` **bit for bit** — same hash, same counters, the same
float mapping — so switching it on or off changes no draw, no trained model and no committed result (tests compare
every element, vmapped members included). It applies to a Threefry key (``jax.random.key(seed)``, or the same bits
re-typed by :func:`vae_jax.train.fast_key`) under JAX's partitionable counters (the default) and float32
probabilities; anything else takes ``jax.random.bernoulli``. ``lax.platform_dependent`` keeps ``jax.random``'s
path for GPU and TPU in the same program.

The handler is compiled on first use with the system C++ compiler (:mod:`vae_jax.ffi_build`); without one
``jax.random`` is used and the reason logged once. ``VAE_JAX_FUSED_BERNOULLI``: ``0`` never, ``1`` always (an error
if the handler cannot be built), ``auto`` (default) on a single-device CPU process.
"""

from __future__ import annotations

import logging
import math
import pathlib

import jax
import jax.numpy as jnp

from vae_jax import env_switch, ffi_build

__all__ = ["applies", "available", "bernoulli", "enabled", "why_unavailable"]

_SOURCE = pathlib.Path(__file__).with_name("csrc") / "threefry_bernoulli.cc"
_TARGET = "vae_jax_threefry_bernoulli"
_HANDLER = ffi_build.Handler(
    "the Threefry Bernoulli handler is", {_TARGET: "VaeJaxThreefryBernoulli"},
    lambda: ffi_build.build(_SOURCE, flags=["-O3", "-march=native", "-mprefer-vector-width=512"]),
    fallback="jax.random.bernoulli is used", logger=logging.getLogger(__name__))


available = _HANDLER.available  # built and registered? (builds on the first call; thread-safe)
why_unavailable = _HANDLER.why_unavailable  # empty when available(); otherwise what was missing


def enabled() -> bool:
  """Whether :func:`vae_jax.data.binarize_dynamic` draws through the handler here (read when it is traced):
  ``VAE_JAX_FUSED_BERNOULLI`` as :func:`vae_jax.env_switch.cpu_custom_call` reads it."""
  return env_switch.cpu_custom_call("VAE_JAX_FUSED_BERNOULLI", _HANDLER.name, available, why_unavailable)


def applies(key: jax.Array, p: jax.Array) -> bool:
  """Whether the handler reproduces ``jax.random.bernoulli(key, p)`` for these (traced) arguments: one typed
  Threefry key, float32 ``p`` with fewer than 2³² elements, JAX's partitionable counters."""
  return (jnp.issubdtype(key.dtype, jax.dtypes.prng_key) and key.shape == ()
          and _threefry(key) and p.dtype == jnp.float32
          and 0 < math.prod(p.shape) < 2**32 and bool(jax.config.jax_threefry_partitionable))


def _threefry(key) -> bool:
  from vae_jax.train import prng  # noqa: PLC0415 (deferred: keeps `import vae_jax.data` light)

  impl = jax.random.key_impl(key)
  return impl == "threefry2x32" or impl == prng.UNROLLED_THREEFRY  # the second: the same bits, re-typed


def _handler(key, p):
  call = jax.ffi.ffi_call(_TARGET, jax.ShapeDtypeStruct(p.shape, jnp.float32), vmap_method="broadcast_all")
  # A draw's derivative in p is zero, as jax.random.bernoulli's comparison: stopped here, so a gradient taken
  # through a binarized batch is zeros, not a missing differentiation rule of the custom call.
  return call(jax.random.key_data(key), jax.lax.stop_gradient(p))


def _reference(key, p):
  return jax.random.bernoulli(key, p).astype(p.dtype)


def bernoulli(key: jax.Array, p: jax.typing.ArrayLike) -> jax.Array:
  """``jax.random.bernoulli(key, p).astype(p.dtype)``: 1.0 with probability ``p``, else 0.0; through the handler on
  the CPU backend where :func:`applies`, bit for bit the same numbers.

  Args:
    key: a typed key, ``jax.random.key(seed)`` (a Threefry key for the handler).
    p: float ``[...]`` Bernoulli means.

  Returns:
    ``[...]`` of ``p``'s dtype, each element 0 or 1.

  Call where :func:`enabled`; elsewhere ``jax.random.bernoulli`` is the same function.
  """
  p = jnp.asarray(p)
  if not applies(key, p):
    return _reference(key, p)
  if jax.default_backend() == "cpu" and not available():  # elsewhere only jax.random's branch is lowered
    raise RuntimeError(f"the Threefry Bernoulli handler is unavailable: {why_unavailable()}")
  return jax.lax.platform_dependent(key, p, cpu=_handler, default=_reference)

