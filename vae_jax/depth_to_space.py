"""Stride-``s`` transposed convolutions computed as one stride-1 convolution followed by depth-to-space.

:class:`ConvTranspose` computes exactly what ``flax.linen.ConvTranspose(features, (k, k), strides=(s, s),
padding="SAME")`` computes (Flax's default ``transpose_kernel=False``), with the same parameters — ``kernel``
``[k, k, in, out]`` and ``bias`` ``[out]``, the same initialisers — so checkpoints are interchangeable. Each of the
``s²`` output phases of a transposed convolution is a stride-1 convolution of the input; one convolution with
``s²·out`` output channels computes them all, and a reshape puts every phase in its place. The rearranged kernel
is an ``einsum`` of the stored kernel with a constant 0/1 index tensor, so gradients reach the stored kernel.

Why: XLA:CPU computes the gradient of ``lax.conv_transpose`` (an input-dilated convolution) on a slow path. The
64×64 conv β-VAE trains 2.7× faster with this decoder on the 2-core dev CPU (``python -m benchmarks.run --only
conv``: 434 vs 163 images/s, ``benchmarks/results/conv-depth-to-space.json``). In one-off layer timings (not kept
in the repo) the rearranged convolution was the slower one with a single output channel, so
:class:`vae_jax.modules.ConvDecoder` keeps Flax's layer for its output, and the mirror trick for strided forward
convolutions (space-to-depth) was slower too, so the encoder uses ``nn.Conv``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["ConvTranspose", "conv_transpose"]

_DN = ("NHWC", "HWIO", "NHWC")


def _phase_index(k: int, s: int) -> tuple[np.ndarray, int]:
  """``G[a, c, r] = 1`` where kernel tap ``a`` feeds output phase ``r`` from input offset ``c + omin``; (G, omin).

  ``lax.conv_transpose`` (SAME, kernel not flipped) dilates the input by ``s``, pads it by ``pad_a`` below and
  convolves: output ``s·m + r`` reads dilated position ``s·m + r + a − pad_a``, which is input
  ``m + (r + a − pad_a)/s`` when the division is exact and a zero otherwise.
  """
  pad_a = k - 1 if s > k - 1 else math.ceil((k + s - 2) / 2)
  taps = [(a, (r + a - pad_a) // s, r) for r in range(s) for a in range(k) if (r + a - pad_a) % s == 0]
  omin = min(o for _, o, _ in taps)
  omax = max(o for _, o, _ in taps)
  g = np.zeros((k, omax - omin + 1, s), np.float32)
  for a, o, r in taps:
    g[a, o - omin, r] = 1.0
  return g, omin


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
  s, k = stride, kernel.shape[0]
  b, h, w, _ = x.shape
  g, omin = _phase_index(k, s)
  size = g.shape[1]
  pads = ((0, 0, 0), (-omin, omin + size - 1, 0), (-omin, omin + size - 1, 0), (0, 0, 0))
  xp = jax.lax.pad(x, jnp.zeros((), x.dtype), pads)
  n_out = kernel.shape[-1]
  k2 = jnp.einsum("ahr,bws,abio->hwirso", g, g, kernel).reshape(size, size, kernel.shape[2], s * s * n_out)
  y = jax.lax.conv_general_dilated(xp, k2.astype(x.dtype), (1, 1), "VALID", dimension_numbers=_DN)
  return y.reshape(b, h, w, s, s, n_out).transpose(0, 1, 3, 2, 4, 5).reshape(b, h * s, w * s, n_out)


class ConvTranspose(nn.Module):
  """``nn.ConvTranspose(features, (k, k), strides=(s, s), padding="SAME")`` computed by :func:`conv_transpose`."""

  features: int
  kernel_size: Sequence[int]
  strides: Sequence[int] = (2, 2)
  use_bias: bool = True

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    for name, pair in (("kernel_size", self.kernel_size), ("strides", self.strides)):
      if len(pair) != 2 or pair[0] != pair[1] or pair[0] < 1:
        raise ValueError(f"{name} must be two equal positive ints, got {tuple(pair)}.")
    k, s = int(self.kernel_size[0]), int(self.strides[0])
    kernel = self.param("kernel", nn.initializers.lecun_normal(), (k, k, x.shape[-1], self.features), jnp.float32)
    y = conv_transpose(x, kernel, s)
    if self.use_bias:
      bias = self.param("bias", nn.initializers.zeros_init(), (self.features,), jnp.float32)
      y = y + bias.reshape(1, 1, 1, self.features)
    return y
