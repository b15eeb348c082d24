"""``Dense``: flax's dense layer with the kernel's gradient formed in the kernel's own layout.

Why: JAX transposes ``y = x @ W`` into the kernel cotangent ``transpose(dot_general(g, x))`` — an [out, in] product
then a transpose to [in, out]. For one model XLA folds the transpose into the dot (it computes ``xᵀ g``). Under
``jax.vmap`` over sweep members the product is a batched dot, the fold does not happen, and for one member per
device XLA:CPU's layout assignment keeps each kernel, its gradient and its Adam moments transposed, then transposes
them back every update: the Higgins β-VAE (4096-1200-1200-10) trained as a one-member sweep ran at 0.46× the same
model trained alone (``benchmarks/SWEEP.md``, idle rerun) — one member per device is also what a sweep sharded over
as many devices as members runs. :func:`dot_general` computes the same three products as ``lax.dot_general`` (the
output, ``g Wᵀ`` and ``xᵀ g``, the last one directly as [in, out]), so a model alone compiles to the same program and
a member's kernels stay in their own layout.

It is a ``jax.custom_vjp``: reverse mode only (a ``jax.jvp`` through it raises), as ``space_to_depth.conv``.
"""

from __future__ import annotations

import functools

import flax.linen as nn
import jax
from jax import lax


@functools.partial(jax.custom_vjp, nondiff_argnums=(2, 3, 4))
def dot_general(x, kernel, dimension_numbers, precision=None, preferred_element_type=None):
  """``lax.dot_general(x, kernel, dimension_numbers, ...)`` for a dense layer: ``x`` [..., in] contracted on its
  last axis with ``kernel`` [in, out] on its first, no batch axes (what ``nn.Dense`` asks for); [..., out]."""
  _check(x, kernel, dimension_numbers)
  return lax.dot_general(x, kernel, dimension_numbers, precision=precision,
                         preferred_element_type=preferred_element_type)


def _check(x, kernel, dimension_numbers):
  want = (((x.ndim - 1,), (0,)), ((), ()))
  got = tuple(tuple(tuple(d) for d in pair) for pair in dimension_numbers)
  if kernel.ndim != 2 or got != want:
    raise ValueError(f"vae_jax.dense.dot_general computes a dense layer's product only: x [..., in] · kernel "
                     f"[in, out] with dimension_numbers {want}; got x {x.shape}, kernel {kernel.shape}, "
                     f"dimension_numbers {dimension_numbers}. Use lax.dot_general for other contractions.")


def _fwd(x, kernel, dimension_numbers, precision, preferred_element_type):
  return dot_general(x, kernel, dimension_numbers, precision, preferred_element_type), (x, kernel)


def _bwd(dimension_numbers, precision, preferred_element_type, residuals, g):
  x, kernel = residuals
  lead = tuple(range(x.ndim - 1))
  dx = lax.dot_general(g, kernel, (((g.ndim - 1,), (1,)), ((), ())), precision=precision)  # [..., in]
  dk = lax.dot_general(x, g, ((lead, lead), ((), ())), precision=precision)  # [in, out]: the kernel's layout
  return dx.astype(x.dtype), dk.astype(kernel.dtype)


dot_general.defvjp(_fwd, _bwd)

# ``nn.Dense`` with :func:`dot_general`: the same parameters (names, shapes, initialisers) and the same outputs.
Dense = functools.partial(nn.Dense, dot_general=dot_general)
