"""A value computed once: an identity that XLA:CPU cannot fuse through, so a cheap-looking producer is not
recomputed inside every consumer.

Why: XLA fuses an elementwise producer into each of its consumers, and recomputes it there, whenever it judges the
producer cheap. The sprite renderer (:func:`vae_jax.data.sprites.render`: a rotation, three shape tests and a select
per pixel) is elementwise, so in the conv β-VAE's step XLA:CPU rendered every image again inside the pad before the
first layer's weight gradient, inside the loss and inside the pad of the loss's gradient, while oneDNN's first
convolution (a custom call) read the one rendering it must have in memory — ``benchmarks/README.md``, "Sprites
rendered once". ``lax.optimization_barrier`` does not prevent it: XLA removes it before fusion. A custom call does:
its operand is materialized, and its result — the same buffer, aliased, nothing copied — is what every consumer
reads. The values are the same numbers (an identity), so it changes no trained model.

:func:`fusion_barrier` is the identity on every backend; on XLA:CPU, when :func:`enabled`, it is that custom call
(``vae_jax/csrc/fusion_barrier.cc``, compiled on first use with the system C++ compiler, :mod:`vae_jax.ffi_build`;
without one the plain identity is used and the reason logged once). ``lax.platform_dependent`` keeps the plain
identity for GPU and TPU in the same program. ``VAE_JAX_FUSION_BARRIER``: ``0`` never, ``1`` always (an error if
the handler cannot be built), ``auto`` (default) on a single-device CPU process (XLA's partitioner cannot split a
custom call across a mesh).
"""

from __future__ import annotations

import logging
import pathlib

import jax

from vae_jax import env_switch, ffi_build

__all__ = ["available", "enabled", "fusion_barrier", "why_unavailable"]

_SOURCE = pathlib.Path(__file__).with_name("csrc") / "fusion_barrier.cc"
_TARGET = "vae_jax_fusion_barrier"
_HANDLER = ffi_build.Handler(
    "the fusion barrier handler is", {_TARGET: "VaeJaxFusionBarrier"},
    lambda: ffi_build.build(_SOURCE, flags=["-O2"]),
    fallback="the plain identity is used (XLA may recompute the value in each consumer)",
    logger=logging.getLogger(__name__))

available = _HANDLER.available  # built and registered? (builds on the first call; thread-safe)
why_unavailable = _HANDLER.why_unavailable  # empty when available(); otherwise what was missing


def enabled() -> bool:
  """Whether :func:`fusion_barrier` is the custom call here (read when it is traced): ``VAE_JAX_FUSION_BARRIER`` as
  :func:`vae_jax.env_switch.cpu_custom_call` reads it."""
  return env_switch.cpu_custom_call("VAE_JAX_FUSION_BARRIER", _HANDLER.name, available, why_unavailable)


@jax.custom_jvp
def _barrier(x: jax.Array) -> jax.Array:
  call = jax.ffi.ffi_call(_TARGET, jax.ShapeDtypeStruct(x.shape, x.dtype), input_output_aliases={0: 0},
                          vmap_method="broadcast_all")
  return call(x)


@_barrier.defjvp
def _barrier_jvp(primals, tangents):
  """The identity's derivative, stated: a gradient through the barrier is the identity, not a missing rule."""
  return _barrier(primals[0]), tangents[0]


def fusion_barrier(x: jax.typing.ArrayLike) -> jax.Array:
  """``x``, the same array, computed once before its consumers (see the module docstring).

  Args:
    x: any array.

  Returns:
    ``x`` (same shape, dtype and values). On XLA:CPU where :func:`enabled`, the result of a custom call that XLA
    cannot fuse through; elsewhere ``x`` itself.
  """
  x = jax.numpy.asarray(x)
  if x.size == 0 or not enabled():
    return x
  return jax.lax.platform_dependent(x, cpu=_barrier, default=lambda x: x)
