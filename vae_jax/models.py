"""Autoencoder models: ``AutoEncoder``, ``VAE`` and ``StackedAutoEncoder``.

Models hold no randomness. The VAE takes its reparameterization key keyword-only; without one it takes the
deterministic path (the posterior mean), which is what evaluation wants. The denoising AE and the β-VAE are
*objectives* over these models (see :mod:`vae_jax.objectives`), never copies of them.

Every ``encode`` returns the same :class:`Posterior` ``(mean, logvar)``: a diagonal Gaussian for the VAE, and
``logvar=None`` for the deterministic autoencoders (their code is ``mean``), so callers read ``.mean`` for a
code of any model and never branch on its class. ``mean, logvar = encode(...)`` unpacks it (a 2-field NamedTuple).

Outputs are NamedTuples. ``outputs`` are the decoder's raw per-pixel outputs (logits for a Bernoulli likelihood,
means for a Gaussian one); ``reconstruct`` and ``sample`` return images in [0, 1] space via the likelihood's mean.
"""

from __future__ import annotations

import numbers

from collections.abc import Sequence
from typing import NamedTuple

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp

from vae_jax import likelihoods, noise
from vae_jax.dense import Dense
from vae_jax.modules import ACTIVATIONS, ObservationScale


class Posterior(NamedTuple):
  """q(z|x) of an encoder: ``mean [batch, latent]`` and ``logvar [batch, latent]``, or ``logvar=None``.

  ``logvar is None`` (see :attr:`deterministic`) marks a deterministic encoder (``AutoEncoder``,
  ``StackedAutoEncoder``): a point mass at ``mean``, the code. A ``None`` field is an empty pytree, so a
  ``Posterior`` passes through ``jax.jit`` and ``tree_map`` either way.
  """

  mean: jax.Array
  logvar: jax.Array | None = None

  @property
  def deterministic(self) -> bool:
    return self.logvar is None

  def sample(self, key: jax.Array | None = None, *, num_samples: int | None = None) -> jax.Array:
    """``z ~ q(z|x)`` (``[batch, latent]``, or ``[num_samples, batch, latent]``); the mean without a key or noise."""
    if key is None or self.logvar is None:
      return self.mean if num_samples is None else jnp.broadcast_to(self.mean, (num_samples, *self.mean.shape))
    return noise.reparameterize(key, self.mean, self.logvar, num_samples=num_samples)


class AEOutput(NamedTuple):
  outputs: jax.Array  # [batch, H, W, C] raw decoder outputs
  z: jax.Array  # [batch, latent] code
  log_scale: jax.Array  # observation log-scale ([] or [H, W, C])


class VAEOutput(NamedTuple):
  outputs: jax.Array  # [batch, H, W, C] raw decoder outputs for z
  mean: jax.Array  # [batch, latent] posterior mean
  logvar: jax.Array  # [batch, latent] posterior log-variance
  z: jax.Array  # [batch, latent] sample (or the mean when no key was given)
  log_scale: jax.Array  # observation log-scale ([] or [H, W, C])


def _decode_batched(decoder: nn.Module, z: jax.Array) -> jax.Array:
  """Decodes codes with any number of leading axes ``[..., latent]`` by flattening them into one batch axis."""
  lead = z.shape[:-1]
  out = decoder(z.reshape(-1, z.shape[-1]))
  return out.reshape(*lead, *out.shape[1:])


def _check_image(x: jax.Array, image_shape: tuple[int, ...], who: str) -> None:
  """``chex.assert_shape(x, [batch, *image_shape])`` at trace time, as a ``ValueError`` naming the caller."""
  chex.assert_shape(x, (None, *image_shape), exception_type=ValueError,
                    custom_message=f"{who}: expected images of shape [batch, {', '.join(map(str, image_shape))}], "
                                   f"got {list(x.shape)}")


class AutoEncoder(nn.Module):
  """Deterministic autoencoder: encoder trunk → linear bottleneck of ``latent_dim`` → decoder.

  Attributes:
    encoder: trunk mapping ``[batch, H, W, C]`` to ``[batch, features]``.
    decoder: maps ``[batch, latent_dim]`` to ``[batch, H, W, C]`` raw outputs.
    latent_dim: size of the bottleneck.
    image_shape: ``(H, W, C)``, checked on input.
    likelihood: name in :data:`vae_jax.likelihoods.LIKELIHOODS`.
    scale_mode, log_scale_init: observation scale for a Gaussian likelihood (see ``ObservationScale``).
  """

  encoder: nn.Module
  decoder: nn.Module
  latent_dim: int
  image_shape: tuple[int, int, int]
  likelihood: str = "bernoulli"
  scale_mode: str = "fixed"
  log_scale_init: float = 0.0

  def setup(self):
    self.to_code = Dense(self.latent_dim, name="code")
    self.obs_scale = ObservationScale(self.scale_mode, self.log_scale_init, tuple(self.image_shape))

  def encode(self, x: jax.Array) -> Posterior:
    """The code as a deterministic posterior: ``Posterior(mean=z [batch, latent], logvar=None)``."""
    _check_image(x, self.image_shape, "AutoEncoder.encode")
    return Posterior(self.to_code(self.encoder(x)))

  def decode(self, z: jax.Array) -> jax.Array:
    return _decode_batched(self.decoder, z)

  def observation_log_scale(self) -> jax.Array:
    """Log standard deviation of the Gaussian observation model ([] or [H, W, C]); unused by Bernoulli."""
    return self.obs_scale()

  def __call__(self, x: jax.Array) -> AEOutput:
    z = self.encode(x).mean
    return AEOutput(self.decode(z), z, self.obs_scale())

  def reconstruct(self, x: jax.Array) -> jax.Array:
    """Images in [0, 1] space: the likelihood's mean of the decoded code."""
    return likelihoods.get(self.likelihood).mean(self(x).outputs)


class VAE(nn.Module):
  """Variational autoencoder with a diagonal-Gaussian posterior and a N(0, I) prior.

  Attributes: as :class:`AutoEncoder`; the encoder trunk feeds two linear heads, ``mean`` and ``logvar``.
  """

  encoder: nn.Module
  decoder: nn.Module
  latent_dim: int
  image_shape: tuple[int, int, int]
  likelihood: str = "bernoulli"
  scale_mode: str = "fixed"
  log_scale_init: float = 0.0

  def setup(self):
    self.mean_head = Dense(self.latent_dim, name="mean")
    self.logvar_head = Dense(self.latent_dim, name="logvar")
    self.obs_scale = ObservationScale(self.scale_mode, self.log_scale_init, tuple(self.image_shape))

  def encode(self, x: jax.Array) -> Posterior:
    """Returns the posterior ``Posterior(mean, logvar)``, each ``[batch, latent]``."""
    _check_image(x, self.image_shape, "VAE.encode")
    h = self.encoder(x)
    return Posterior(self.mean_head(h), self.logvar_head(h))

  def decode(self, z: jax.Array) -> jax.Array:
    """Raw decoder outputs for codes ``[..., latent]`` → ``[..., H, W, C]``."""
    return _decode_batched(self.decoder, z)

  def observation_log_scale(self) -> jax.Array:
    """Log standard deviation of the Gaussian observation model ([] or [H, W, C]); unused by Bernoulli."""
    return self.obs_scale()

  def __call__(self, x: jax.Array, *, key: jax.Array | None = None) -> VAEOutput:
    mean, logvar = self.encode(x)
    z = mean if key is None else noise.reparameterize(key, mean, logvar)
    return VAEOutput(self.decode(z), mean, logvar, z, self.obs_scale())

  def reconstruct(self, x: jax.Array, *, key: jax.Array | None = None) -> jax.Array:
    """Images in [0, 1] space; decodes the posterior mean unless a key asks for a sample."""
    return likelihoods.get(self.likelihood).mean(self(x, key=key).outputs)

  def sample(self, num_samples: int, *, key: jax.Array) -> jax.Array:
    """Generates ``num_samples`` images: z ~ N(0, I), then the likelihood's mean of the decoder output."""
    if isinstance(num_samples, bool) or not isinstance(num_samples, numbers.Integral) or num_samples < 1:
      raise ValueError(f"VAE.sample: num_samples must be a positive int, got {num_samples!r} "
                       f"({type(num_samples).__name__}).")
    z = jax.random.normal(key, (num_samples, self.latent_dim), jnp.float32)
    return likelihoods.get(self.likelihood).mean(self.decode(z))


class StackedAutoEncoder(nn.Module):
  """A deep MLP autoencoder made of stacked single-layer stages.

  ``sizes = (d0, d1, …, dK)``: stage k encodes d_k → d_{k+1} (``enc_k``) and decodes d_{k+1} → d_k (``dec_k``).
  The full model encodes through ``enc_0 … enc_{K-1}`` and decodes through ``dec_{K-1} … dec_0``. Hidden layers use
  ``activation``; the code layer is linear; ``dec_0`` emits the raw outputs of ``likelihood``. Parameter names
  match the stages of the greedy procedure (:mod:`vae_jax.stacked`), so trained stages copy straight in.

  A greedy stage is a one-stage model (``sizes=(d_k, d_{k+1})``) whose layers must compute what they compute
  inside the stack, so two flags (both off for the full model) put back the activations the stack applies around
  them: ``activate_code`` for a stage below the top (its code is a hidden layer of the stack, activated), and
  ``activate_output`` for a stage above the first (``dec_k`` of the stack is followed by the activation, and the
  stage reconstructs an activated code — e.g. ≥ 0 after ReLU — which a linear output would not match).
  """

  sizes: Sequence[int]
  image_shape: tuple[int, int, int]
  likelihood: str = "bernoulli"
  activation: str = "relu"
  activate_code: bool = False
  activate_output: bool = False

  def setup(self):
    if len(self.sizes) < 2:
      raise ValueError(f"StackedAutoEncoder needs at least two sizes (input, code), got {tuple(self.sizes)}.")
    if self.activation not in ACTIVATIONS:
      raise ValueError(f"StackedAutoEncoder: unknown activation {self.activation!r}; choose one of "
                       f"{sorted(ACTIVATIONS)}.")
    k = len(self.sizes) - 1
    self.encoders = [Dense(self.sizes[i + 1], name=f"enc_{i}") for i in range(k)]
    self.decoders = [Dense(self.sizes[i], name=f"dec_{i}") for i in range(k)]
    self.obs_scale = ObservationScale("fixed", 0.0, tuple(self.image_shape))

  def _act(self, h):
    return ACTIVATIONS[self.activation](h)

  def encode(self, x: jax.Array, *, depth: int | None = None) -> Posterior:
    """``Posterior(mean=code, logvar=None)``: the code after ``depth`` stages (all by default); the last layer
    applied is linear unless ``activate_code``."""
    depth = len(self.encoders) if depth is None else depth
    h = x.reshape(x.shape[0], -1)
    for i in range(depth):
      h = self.encoders[i](h)
      if i < depth - 1 or self.activate_code:
        h = self._act(h)
    return Posterior(h)

  def decode(self, z: jax.Array) -> jax.Array:
    h = z
    for i in reversed(range(len(self.decoders))):
      h = self.decoders[i](h)
      if i > 0 or self.activate_output:
        h = self._act(h)
    return h.reshape(z.shape[0], *self.image_shape)

  def observation_log_scale(self) -> jax.Array:
    """Log standard deviation of the Gaussian observation model ([] or [H, W, C]); unused by Bernoulli."""
    return self.obs_scale()

  def __call__(self, x: jax.Array) -> AEOutput:
    _check_image(x, self.image_shape, "StackedAutoEncoder")
    z = self.encode(x).mean
    return AEOutput(self.decode(z), z, self.obs_scale())

  def reconstruct(self, x: jax.Array) -> jax.Array:
    return likelihoods.get(self.likelihood).mean(self(x).outputs)
