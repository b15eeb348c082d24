"""Strided convolutions and their transposes with gradients that avoid XLA:CPU's slow dilated-convolution path.

``lax.conv_general_dilated(x, w, (s, s), "SAME")`` — a strided convolution ``S`` — is fast on XLA:CPU, but its
input gradient is a transposed (input-dilated) convolution that XLA:CPU computes on a slow path, and so is the
forward pass of ``lax.conv_transpose``, which is the adjoint of ``S`` in its input. The same linear map can be
written as space-to-depth of the padded input followed by a stride-1 convolution with an ``⌈k/s⌉×⌈k/s⌉`` kernel
(the stored kernel, zero-padded to a multiple of ``s`` and rearranged); the adjoint of *that* form is a stride-1
convolution followed by depth-to-space, which XLA:CPU runs on its fast path. The custom gradients here route each
of the three products of a strided convolution to its fast form:

* :func:`conv` (``S(x, w)``): forward by ``lax``'s strided convolution (patches + one matmul for an input with
  few channels, :func:`_few_channels`); input gradient by the space-to-depth form's
  adjoint (a stride-1 convolution + depth-to-space); weight gradient by ``lax`` or by one matmul per tap
  (:func:`_weight_grad`, whichever was faster for the shape class).
* :func:`conv_adjoint` (``Sᵀ(y, w)``, a transposed convolution): forward by the space-to-depth form's adjoint (for
  few channels: one matmul and the patches' adjoint, an overlap-add of the space-to-depth blocks); input gradient
  by ``S``'s forward (``⟨Sᵀy, g⟩ = ⟨y, Sg⟩``); weight gradient as :func:`conv`'s.

``lax.conv_transpose(x, k, (s, s), "SAME")`` (kernel not flipped, Flax's default) equals
``conv_adjoint(x, flip(k)ᵀ)`` with ``flip(k)ᵀ[a, b, i, o] = k[K-1-a, K-1-b, o, i]``, which is how
:func:`vae_jax.depth_to_space.conv_transpose` computes it. All functions are exact rewrites (tests compare values
and gradients with ``lax.conv_general_dilated`` / ``lax.conv_transpose``); :class:`Conv` has ``nn.Conv``'s
parameters, so checkpoints are interchangeable.

Why: on XLA:CPU the input gradient of the 32×32×32 → 16×16×32 layer of the conv β-VAE took several times the
time of its forward pass through ``lax``, and about as long as the forward pass through this rewrite (layer timings:
``benchmarks/README.md``).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from vae_jax import onednn_conv

__all__ = ["Conv", "conv", "conv_adjoint"]

_DN = ("NHWC", "HWIO", "NHWC")


def _check(x: jax.Array, w: jax.Array, stride: int, name: str, channel_axis_of_w: int) -> None:
  if x.ndim != 4 or w.ndim != 4 or w.shape[0] != w.shape[1] or w.shape[channel_axis_of_w] != x.shape[-1]:
    raise ValueError(f"{name} needs x [batch, H, W, C] and a square kernel [k, k, ·, ·] whose axis "
                     f"{channel_axis_of_w} is C; got x {list(x.shape)}, kernel {list(w.shape)}.")
  if stride < 1:
    raise ValueError(f"stride must be ≥ 1, got {stride}")


def _lax_conv(x: jax.Array, w: jax.Array, stride: int) -> jax.Array:
  return jax.lax.conv_general_dilated(x, w.astype(x.dtype), (stride, stride), "SAME", dimension_numbers=_DN)


def _forward(x: jax.Array, w: jax.Array, stride: int) -> jax.Array:
  """``S(x, w)``: ``lax``'s strided convolution, or patches + matmul for few input channels."""
  return _patch_conv(x, w, stride) if _few_channels(x.shape[-1], stride) else _lax_conv(x, w, stride)


def _space_to_depth(x: jax.Array, k: int, s: int) -> jax.Array:
  """The SAME-padded input of a stride-``s`` ``k×k`` convolution as ``[batch, out + m - 1, ·, s²·C]`` blocks."""
  b, h, wd, c = x.shape
  m = -(-k // s)  # taps per axis after space-to-depth
  pads = []
  for size in (h, wd):
    out, lo = -(-size // s), onednn_conv.same_padding(size, k, s)  # XLA's SAME: the smaller half below
    pads.append((lo, s * (out + m - 1) - size - lo, 0))  # may be negative: rows only zero taps would read
  xp = jax.lax.pad(x, jnp.zeros((), x.dtype), ((0, 0, 0), pads[0], pads[1], (0, 0, 0)))
  hs, ws = xp.shape[1] // s, xp.shape[2] // s
  return xp.reshape(b, hs, s, ws, s, c).transpose(0, 1, 3, 2, 4, 5).reshape(b, hs, ws, s * s * c)


def _kernel_to_depth(w: jax.Array, s: int) -> jax.Array:
  """``[k, k, C, out]`` → ``[m, m, s²·C, out]``, zero taps added to make ``k`` a multiple ``m·s`` of ``s``."""
  k, _, c, n_out = w.shape
  m = -(-k // s)
  wp = jnp.pad(w, ((0, m * s - k), (0, m * s - k), (0, 0), (0, 0)))
  return wp.reshape(m, s, m, s, c, n_out).transpose(0, 2, 1, 3, 4, 5).reshape(m, m, s * s * c, n_out)


def _s2d_conv(x: jax.Array, w: jax.Array, s: int) -> jax.Array:
  """``_lax_conv(x, w, s)`` as space-to-depth of the padded input and a stride-1 VALID convolution."""
  z = _space_to_depth(x, w.shape[0], s)
  return jax.lax.conv_general_dilated(z, _kernel_to_depth(w, s).astype(x.dtype), (1, 1), "VALID",
                                      dimension_numbers=_DN)


def _few_channels(in_channels: int, stride: int) -> bool:
  """Whether a strided convolution with this many input channels is computed as patches + one matmul.

  With one input channel (the conv β-VAE's first and last layers) XLA:CPU's convolution, and the space-to-depth
  form's 4-channel one, ran far below its matmul speed on the 2-core CPU (``benchmarks/README.md``); the patches
  of such an input are small (``k²·C`` values per output pixel), so gathering them costs little.
  """
  return in_channels * stride * stride <= 16


def _patches(x: jax.Array, k: int, s: int) -> jax.Array:
  """``[batch, out_h, out_w, m·m·s²·C]``: the SAME-padded ``k×k`` windows at stride ``s``, as the ``m×m`` shifted
  views of the space-to-depth blocks (:func:`_space_to_depth`), in :func:`_kernel_to_depth`'s tap order.

  Gathered from the blocks rather than by ``k²`` strided slices of the input: the adjoint
  (``jax.linear_transpose``, the overlap-add of a transposed convolution) is then ``m²`` shifted adds of the
  blocks and one depth-to-space, not ``k²`` interior-padded copies of the full-resolution image.
  """
  z = _space_to_depth(x, k, s)
  m = -(-k // s)
  return jnp.concatenate(_shifted_blocks(z, m, z.shape[1] - m + 1, z.shape[2] - m + 1), axis=-1)


def _shifted_blocks(z: jax.Array, m: int, ho: int, wo: int) -> list[jax.Array]:
  """The ``m×m`` shifted ``[batch, ho, wo, s²·C]`` views of space-to-depth blocks, taps ``(i, j)`` row-major (the
  order of :func:`_kernel_to_depth`): the columns of :func:`_patches` and the operands of :func:`_weight_grad`."""
  return [z[:, i:i + ho, j:j + wo, :] for i in range(m) for j in range(m)]


def _kernel_matrix(w: jax.Array, s: int) -> jax.Array:
  """``[m·m·s²·C, out]``: the kernel's rows in :func:`_patches`' order (zero rows for the padding taps)."""
  return _kernel_to_depth(w, s).reshape(-1, w.shape[-1])


def _patch_conv(x: jax.Array, w: jax.Array, s: int) -> jax.Array:
  """``_lax_conv(x, w, s)`` as patches times the kernel matrix."""
  return jnp.einsum("bhwk,ko->bhwo", _patches(x, w.shape[0], s), _kernel_matrix(w, s).astype(x.dtype))


def _adjoint(y: jax.Array, w: jax.Array, s: int, in_shape: tuple[int, ...]) -> jax.Array:
  """``Sᵀ y``: the transpose of ``x ↦ S(x, w)`` through the space-to-depth form (stride-1 conv + depth-to-space)."""
  spec = jax.ShapeDtypeStruct(in_shape, y.dtype)
  if _few_channels(in_shape[-1], s):  # patches' adjoint (overlap-add) of one matmul's columns
    cols = jnp.einsum("bhwo,ko->bhwk", y, _kernel_matrix(w, s).astype(y.dtype))
    return jax.linear_transpose(lambda x: _patches(x, w.shape[0], s), spec)(cols)[0]
  return jax.linear_transpose(lambda x: _s2d_conv(x, w, s), spec)(y)[0]


def _matmul_weight_grad(in_channels: int, stride: int, out_h: int, out_w: int) -> bool:
  """Whether :func:`_weight_grad` uses matmuls: few input channels or small output maps.

  On the 2-core CPU (``benchmarks/README.md``) ``lax``'s window-dilated convolution was the faster weight gradient
  only for the conv β-VAE's 32×32 → 16×16 layers with 32 channels; the matmuls were faster for one input channel
  (its first and last layers) and for maps of 8×8 and smaller.
  """
  return in_channels * stride * stride <= 16 or out_h * out_w <= 64


def _weight_grad(x: jax.Array, g: jax.Array, s: int, w_shape: tuple[int, ...], w_dtype) -> jax.Array:
  """``∂⟨S(x, w), g⟩/∂w``: ``lax``'s (a window-dilated convolution) or one matmul per space-to-depth tap."""
  spec = jax.ShapeDtypeStruct(w_shape, x.dtype)
  if not _matmul_weight_grad(x.shape[-1], s, g.shape[1], g.shape[2]):
    return jax.linear_transpose(lambda w: _lax_conv(x, w, s), spec)(g)[0].astype(w_dtype)
  z = _space_to_depth(x, w_shape[0], s)
  m, (ho, wo) = -(-w_shape[0] // s), g.shape[1:3]
  dk = jnp.stack([jnp.einsum("bhwk,bhwo->ko", view, g) for view in _shifted_blocks(z, m, ho, wo)])
  dk = dk.reshape(m, m, *dk.shape[1:])
  return jax.linear_transpose(lambda w: _kernel_to_depth(w, s), spec)(dk)[0].astype(w_dtype)


def _by_platform(library, xla, *args):
  """``library(*args)`` on the CPU backend when oneDNN's convolutions are enabled (:func:`vae_jax.onednn_conv.enabled`)
  and the operands are float32, else ``xla(*args)``; ``lax.platform_dependent`` lowers only the backend's branch."""
  if not (all(a.dtype == jnp.float32 for a in args) and onednn_conv.enabled()):
    return xla(*args)
  return jax.lax.platform_dependent(*args, cpu=library, default=xla)


def _S(x, w, stride):
  """``S(x, w)`` on the fastest path of the backend."""
  return _by_platform(lambda x, w: onednn_conv.forward(x, w, stride), lambda x, w: _forward(x, w, stride), x, w)


def _S_adjoint(y, w, stride, in_shape):
  """``Sᵀ(y, w)`` on the fastest path of the backend: for few input channels the patches' overlap-add everywhere
  (on the 2-core CPU it beat oneDNN's backward-data primitive for one channel, ``benchmarks/README.md``)."""
  if _few_channels(in_shape[-1], stride):
    return _adjoint(y, w, stride, in_shape)
  return _by_platform(lambda y, w: onednn_conv.backward_data(y, w, stride, in_shape),
                      lambda y, w: _adjoint(y, w, stride, in_shape), y, w)


def _S_weight_grad(x, g, stride, w_shape, w_dtype):
  """``∂⟨S(x, w), g⟩/∂w`` on the fastest path of the backend: for few input channels the per-tap matmuls everywhere
  (they beat oneDNN's backward-weights primitive for one channel, as for :func:`_S_adjoint`)."""
  if _few_channels(x.shape[-1], stride):
    return _weight_grad(x, g, stride, w_shape, w_dtype)
  return _by_platform(lambda x, g: onednn_conv.backward_weights(x, g, stride, w_shape),
                      lambda x, g: _weight_grad(x, g, stride, w_shape, jnp.float32), x, g).astype(w_dtype)


@functools.partial(jax.custom_vjp, nondiff_argnums=(2,))
def _conv(x, w, stride):
  return _S(x, w, stride)


def _conv_fwd(x, w, stride):
  return _S(x, w, stride), (x, w)


def _conv_bwd(stride, res, g):
  x, w = res
  return _S_adjoint(g, w, stride, x.shape), _S_weight_grad(x, g, stride, w.shape, w.dtype)


_conv.defvjp(_conv_fwd, _conv_bwd)


def conv(x: jax.Array, kernel: jax.Array, stride: int) -> jax.Array:
  """``lax.conv_general_dilated(x, kernel, (stride, stride), "SAME")`` for NHWC / HWIO, fast gradients.

  Args:
    x: ``[batch, H, W, in]``.
    kernel: ``[k, k, in, out]``.
    stride: the stride of both spatial axes, ≥ 1.

  Returns:
    ``[batch, ⌈H/stride⌉, ⌈W/stride⌉, out]``.
  """
  _check(x, kernel, stride, "conv", 2)
  return _conv(x, kernel, int(stride))


@functools.partial(jax.custom_vjp, nondiff_argnums=(2, 3))
def _conv_adjoint(y, w, stride, in_shape):
  return _S_adjoint(y, w, stride, in_shape)


def _adjoint_fwd(y, w, stride, in_shape):
  return _S_adjoint(y, w, stride, in_shape), (y, w)


def _adjoint_bwd(stride, in_shape, res, g):
  y, w = res
  # ⟨Sᵀ(y, w), g⟩ = ⟨y, S(g, w)⟩: the input gradient is a strided convolution, the weight gradient S's with x = g.
  return _S(g, w, stride), _S_weight_grad(g, y, stride, w.shape, w.dtype)


_conv_adjoint.defvjp(_adjoint_fwd, _adjoint_bwd)


def conv_adjoint(y: jax.Array, kernel: jax.Array, stride: int, in_shape: Sequence[int]) -> jax.Array:
  """The adjoint of :func:`conv` in its input: ``vjp(lambda x: conv(x, kernel, stride), x)(y)`` for ``x`` of
  shape ``in_shape``, i.e. a transposed convolution, fast in value and gradients.

  Args:
    y: ``[batch, ⌈H/stride⌉, ⌈W/stride⌉, out]``.
    kernel: ``[k, k, in, out]`` (the kernel of the strided convolution this is the adjoint of).
    stride: ≥ 1.
    in_shape: ``(batch, H, W, in)``.

  Returns:
    ``[batch, H, W, in]``.
  """
  _check(y, kernel, stride, "conv_adjoint", 3)
  in_shape = tuple(int(d) for d in in_shape)
  s = int(stride)
  if len(in_shape) != 4 or in_shape[0] != y.shape[0] or in_shape[3] != kernel.shape[2] or tuple(
      -(-d // s) for d in in_shape[1:3]) != y.shape[1:3]:
    raise ValueError(f"conv_adjoint: in_shape {list(in_shape)} does not map to y {list(y.shape)} with stride {s} "
                     f"and kernel {list(kernel.shape)}.")
  return _conv_adjoint(y, kernel, s, in_shape)


class Conv(nn.Module):
  """``nn.Conv(features, (k, k), strides=(s, s), padding="SAME")`` computed by :func:`conv` (same parameters)."""

  features: int
  kernel_size: Sequence[int]
  strides: Sequence[int] = (2, 2)
  use_bias: bool = True

  def op(self, x: jax.Array, kernel: jax.Array, stride: int) -> jax.Array:
    """The layer's product; a subclass with another op keeps the same parameters (``ConvTranspose``)."""
    return conv(x, kernel, stride)

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    for name, pair in (("kernel_size", self.kernel_size), ("strides", self.strides)):
      if len(pair) != 2 or pair[0] != pair[1] or pair[0] < 1:
        raise ValueError(f"{name} must be two equal positive ints, got {tuple(pair)}.")
    k, s = int(self.kernel_size[0]), int(self.strides[0])
    kernel = self.param("kernel", nn.initializers.lecun_normal(), (k, k, x.shape[-1], self.features), jnp.float32)
    y = self.op(x, kernel, s)
    if self.use_bias:
      bias = self.param("bias", nn.initializers.zeros_init(), (self.features,), jnp.float32)
      y = y + bias.reshape(1, 1, 1, self.features)
    return y
