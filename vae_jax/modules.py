"""Linen building blocks: MLP and convolutional encoder trunks and decoders. No randomness inside.

Encoders map images ``[batch, H, W, C]`` to a feature vector ``[batch, features]``; the models add the latent heads
(one for an autoencoder, mean and log-variance for a VAE). Decoders map codes ``[batch, latent]`` to per-pixel
outputs ``[batch, H, W, C]`` (logits or means, as the model's likelihood says).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from vae_jax import depth_to_space as d2s
from vae_jax.dense import Dense
from vae_jax import space_to_depth as s2d

Activation = Callable[[jax.Array], jax.Array]

# The activations a config may name (the one table; models and the factory look names up here).
ACTIVATIONS: dict[str, Activation] = {"relu": nn.relu, "elu": nn.elu, "tanh": jnp.tanh, "sigmoid": nn.sigmoid,
                                      "gelu": nn.gelu, "leaky_relu": nn.leaky_relu}


class MLPEncoder(nn.Module):
  """Flattens the input and applies Dense layers with ``activation`` after each.

  ``MLPEncoder((500,))`` is the Flax example's encoder trunk (784-500); Higgins et al.'s dSprites MLP is
  ``MLPEncoder((1200, 1200))``. An empty ``hidden`` returns the flattened input.
  """

  hidden: Sequence[int]
  activation: Activation = nn.relu

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    h = x.reshape(x.shape[0], -1)
    for i, width in enumerate(self.hidden):
      h = self.activation(Dense(width, name=f"dense_{i}")(h))
    return h


class MLPDecoder(nn.Module):
  """Dense layers with ``activation``, then a linear layer to ``prod(output_shape)`` reshaped to the image."""

  hidden: Sequence[int]
  output_shape: tuple[int, int, int]
  activation: Activation = nn.relu

  @nn.compact
  def __call__(self, z: jax.Array) -> jax.Array:
    h = z
    for i, width in enumerate(self.hidden):
      h = self.activation(Dense(width, name=f"dense_{i}")(h))
    out = Dense(math.prod(self.output_shape), name="out")(h)
    return out.reshape(z.shape[0], *self.output_shape)


class ConvEncoder(nn.Module):
  """Strided 4×4 convolutions then Dense layers.

  The defaults are Higgins et al.'s dSprites encoder: conv 32-32-64-64 (4×4, stride 2), FC 256
  (β-VAE, ICLR 2017, Table 1; Burgess et al. 2018, App. A.1). ``space_to_depth`` computes the convolutions with
  :class:`vae_jax.space_to_depth.Conv` (the same function and parameters as ``nn.Conv``, with gradients that avoid
  XLA:CPU's slow input-dilated convolutions); ``False`` uses ``nn.Conv``.
  """

  channels: Sequence[int] = (32, 32, 64, 64)
  dense: Sequence[int] = (256,)
  kernel_size: int = 4
  activation: Activation = nn.relu
  space_to_depth: bool = True

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    if x.ndim != 4:
      raise ValueError(f"ConvEncoder expects [batch, H, W, C] images, got shape {list(x.shape)}.")
    h = x
    for i, ch in enumerate(self.channels):
      layer = (s2d.Conv(ch, (self.kernel_size,) * 2, strides=(2, 2), name=f"conv_{i}") if self.space_to_depth else
               nn.Conv(ch, (self.kernel_size,) * 2, strides=(2, 2), padding="SAME", name=f"conv_{i}"))
      h = self.activation(layer(h))
    h = h.reshape(h.shape[0], -1)
    for i, width in enumerate(self.dense):
      h = self.activation(Dense(width, name=f"dense_{i}")(h))
    return h


class ConvDecoder(nn.Module):
  """Dense layers, a reshape to ``[s, s, channels[0]]``, then strided 4×4 transposed convolutions.

  Mirrors :class:`ConvEncoder`: with the defaults and a 64×64×1 output this is Higgins et al.'s dSprites decoder
  (FC 256, FC 4·4·64, deconv 64-32-32-1). The start size is ``ceil(H / 2**len(channels))``; the output is cropped
  to ``output_shape`` when H is not a multiple of it (e.g. 28×28). ``depth_to_space`` computes the transposed
  convolutions with :class:`vae_jax.depth_to_space.ConvTranspose` (the same function and parameters, faster on
  XLA:CPU: ``benchmarks/README.md``); ``False`` uses ``nn.ConvTranspose`` throughout.
  """

  output_shape: tuple[int, int, int]
  channels: Sequence[int] = (64, 32, 32)
  dense: Sequence[int] = (256,)
  kernel_size: int = 4
  activation: Activation = nn.relu
  depth_to_space: bool = True

  @nn.compact
  def __call__(self, z: jax.Array) -> jax.Array:
    height, width, out_ch = self.output_shape
    n_up = len(self.channels) + 1
    sh, sw = -(-height // 2**n_up), -(-width // 2**n_up)
    h = z
    for i, w in enumerate(self.dense):
      h = self.activation(Dense(w, name=f"dense_{i}")(h))
    first = self.channels[0] if self.channels else out_ch
    h = self.activation(Dense(sh * sw * first, name="to_grid")(h)).reshape(z.shape[0], sh, sw, first)
    names = [f"deconv_{i}" for i in range(len(self.channels))] + ["out"]
    for i, (ch, name) in enumerate(zip([*self.channels, out_ch], names, strict=True)):
      layer = (d2s.ConvTranspose(ch, (self.kernel_size,) * 2, strides=(2, 2), name=name) if self.depth_to_space else
               nn.ConvTranspose(ch, (self.kernel_size,) * 2, strides=(2, 2), padding="SAME", name=name))
      h = layer(h)
      if i < len(self.channels):
        h = self.activation(h)
    return h[:, :height, :width, :]


class BroadcastDecoder(nn.Module):
  """Watters et al.'s spatial broadcast decoder: the code tiled over the image grid beside two coordinate channels,
  then stride-1 convolutions — every pixel's output a function of (z, x, y).

  Why: a decoder that must *draw* a sprite at the position a latent names has to turn one number into a moving
  pattern; MLP and transposed-convolution decoders do it by superposing learned pieces, and most VAEs trained with
  them here encoded position in folded or radial codes (``experiments.factor_response``). With the coordinates as
  inputs, moving a sprite is a shift of (x, y) against the latents — the decoder Watters et al. found gives
  position its own ordered latents (Spatial Broadcast Decoder, arXiv:1901.07017, 2019).

  The first layer is a 1×1 convolution of ``[z, x, y]``, computed as ``Dense(z)`` broadcast over the grid plus
  ``Dense(x, y)`` per pixel (the same function, without materialising the tiled code); the later layers are
  ``kernel_size``² convolutions with SAME padding (1: a per-pixel MLP), the last one to ``output_shape[-1]``
  channels, no activation (logits or means, as the likelihood says). Coordinates run over [-1, 1]: x along the width
  (axis 2, left to right), y along the height (axis 1, top to bottom).
  """

  output_shape: tuple[int, int, int]
  channels: Sequence[int] = (64, 64)
  kernel_size: int = 1
  activation: Activation = nn.relu

  @nn.compact
  def __call__(self, z: jax.Array) -> jax.Array:
    if z.ndim != 2:
      raise ValueError(f"BroadcastDecoder expects codes [batch, latent], got shape {list(z.shape)}.")
    if not self.channels:
      raise ValueError("BroadcastDecoder needs at least one hidden layer (channels), got ().")
    height, width, out_ch = self.output_shape
    grid = coordinate_grid(height, width)
    h = (Dense(self.channels[0], name="from_code")(z)[:, None, None, :]
         + Dense(self.channels[0], use_bias=False, name="from_coords")(grid)[None])
    h = self.activation(h)
    layer = lambda ch, name: (Dense(ch, name=name) if self.kernel_size == 1 else  # noqa: E731
                              nn.Conv(ch, (self.kernel_size,) * 2, padding="SAME", name=name))
    for i, ch in enumerate(self.channels[1:]):
      h = self.activation(layer(ch, f"conv_{i}")(h))
    return layer(out_ch, "out")(h)


def coordinate_grid(height: int, width: int) -> jax.Array:
  """``[height, width, 2]`` float32: channel 0 is x (over the width), channel 1 is y (over the height), each
  running linearly from -1 to 1 (a one-pixel side is 0)."""
  ys = jnp.linspace(-1.0, 1.0, height) if height > 1 else jnp.zeros((1,))
  xs = jnp.linspace(-1.0, 1.0, width) if width > 1 else jnp.zeros((1,))
  return jnp.stack(jnp.meshgrid(xs, ys, indexing="xy"), axis=-1).astype(jnp.float32)


class ObservationScale(nn.Module):
  """Log standard deviation of a Gaussian observation model: fixed, or learned as a scalar or per pixel."""

  mode: str = "fixed"  # "fixed" | "scalar" | "per_pixel"
  init: float = 0.0
  shape: tuple[int, ...] = ()

  @nn.compact
  def __call__(self) -> jax.Array:
    if self.mode == "fixed":
      return jnp.full((), self.init, jnp.float32)
    if self.mode == "scalar":
      return self.param("log_scale", nn.initializers.constant(self.init), ())
    if self.mode == "per_pixel":
      return self.param("log_scale", nn.initializers.constant(self.init), self.shape)
    raise ValueError(f"ObservationScale.mode must be 'fixed', 'scalar' or 'per_pixel', got {self.mode!r}.")
