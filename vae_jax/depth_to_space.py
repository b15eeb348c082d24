"""Stride-``s`` transposed convolutions computed as a stride-1 convolution followed by depth-to-space.

:class:`ConvTranspose` computes exactly what ``flax.linen.ConvTranspose(features, (k, k), strides=(s, s),
padding="SAME")`` computes (Flax's default ``transpose_kernel=False``), with the same parameters — ``kernel``
``[k, k, in, out]`` and ``bias`` ``[out]``, the same initialisers — so checkpoints are interchangeable. A SAME
transposed convolution is the adjoint (in its input) of the SAME strided convolution with the flipped kernel;
:func:`vae_jax.space_to_depth.conv_adjoint` computes that adjoint as a stride-1 convolution with an
``⌈k/s⌉×⌈k/s⌉`` kernel followed by depth-to-space, and its gradients as a strided convolution (the input's) and
``lax``'s weight gradient of the strided convolution (the kernel's).

Why: XLA:CPU computes ``lax.conv_transpose`` and its gradient (input-dilated convolutions) on a slow path. The
first version of this module (one 3×3 stride-1 convolution with ``s²·out`` channels, a quarter of them zero taps)
made the 64×64 conv β-VAE train several times faster (``benchmarks/results/conv-depth-to-space.json``); the
adjoint form has no zero taps and serves the one-channel output layer too (timings: ``benchmarks/README.md``)."""

from __future__ import annotations

import jax

from vae_jax import space_to_depth as s2d

__all__ = ["ConvTranspose", "conv_transpose"]


def conv_transpose(x: jax.Array, kernel: jax.Array, stride: int) -> jax.Array:
  """``lax.conv_transpose(x, kernel, (stride, stride), "SAME")`` for NHWC / HWIO, via depth-to-space.

  Args:
    x: ``[batch, H, W, in]``.
    kernel: ``[k, k, in, out]``, square, not flipped (``transpose_kernel=False``).
    stride: the stride of both spatial axes, ≥ 1.

  Returns:
    ``[batch, stride·H, stride·W, out]``.
  """
  if x.ndim != 4 or kernel.ndim != 4 or kernel.shape[0] != kernel.shape[1] or kernel.shape[2] != x.shape[-1]:
    raise ValueError(f"conv_transpose needs x [batch, H, W, C] and a square kernel [k, k, C, out]; got x "
                     f"{list(x.shape)}, kernel {list(kernel.shape)}.")
  if stride < 1:
    raise ValueError(f"stride must be ≥ 1, got {stride}")
  b, h, w, _ = x.shape
  # lax's SAME transposed convolution is the adjoint of the SAME strided convolution with the flipped kernel,
  # input and output channels swapped (checked against lax for every kernel/stride/size the tests list).
  return s2d.conv_adjoint(x, kernel[::-1, ::-1].swapaxes(2, 3), stride, (b, stride * h, stride * w, kernel.shape[-1]))


class ConvTranspose(s2d.Conv):
  """``nn.ConvTranspose(features, (k, k), strides=(s, s), padding="SAME")`` computed by :func:`conv_transpose`
  (the same parameters as ``nn.ConvTranspose``; :class:`vae_jax.space_to_depth.Conv` with this op)."""

  def op(self, x: jax.Array, kernel: jax.Array, stride: int) -> jax.Array:
    return conv_transpose(x, kernel, stride)
