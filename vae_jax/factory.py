"""From validated configs to objects: the model, the method's loss (and extra state) and the optimizer.

Config strings become code through explicit tables, never ``getattr``: the models and optimizers here, the methods
in :data:`vae_jax.methods.REGISTRY`.
"""

from __future__ import annotations

import math

import flax.linen as nn
import optax

from vae_jax import fused_adam, methods, models, modules
from vae_jax.configs import Config, ModelConfig, OptimizerConfig


def make_model(cfg: ModelConfig, image_shape: tuple[int, int, int]) -> nn.Module:
  """Builds the model for images of ``image_shape`` (H, W, C)."""
  image_shape = tuple(int(s) for s in image_shape)
  if cfg.kind == "stacked_ae":
    return models.StackedAutoEncoder(sizes=(math.prod(image_shape), *cfg.stacked_sizes),
                                     image_shape=image_shape, likelihood=cfg.likelihood, activation=cfg.activation,
                                     activate_code=cfg.stacked_activate_code,
                                     activate_output=cfg.stacked_activate_output)
  act = modules.ACTIVATIONS[cfg.activation]
  if cfg.architecture == "mlp":
    encoder = modules.MLPEncoder(cfg.hidden, activation=act)
  else:
    encoder = modules.ConvEncoder(cfg.conv_channels, cfg.conv_dense, activation=act)
  if cfg.decoder == "broadcast":
    decoder = modules.BroadcastDecoder(image_shape, cfg.broadcast_channels, cfg.broadcast_kernel, activation=act)
  elif cfg.architecture == "mlp":  # the decoder that mirrors the encoder
    dec_hidden = tuple(reversed(cfg.hidden)) if cfg.decoder_hidden is None else cfg.decoder_hidden
    decoder = modules.MLPDecoder(dec_hidden, image_shape, activation=act)
  else:
    decoder = modules.ConvDecoder(image_shape, tuple(reversed(cfg.conv_channels))[1:], tuple(reversed(cfg.conv_dense)),
                                  activation=act, depth_to_space=cfg.conv_depth_to_space)
  cls = models.VAE if cfg.kind == "vae" else models.AutoEncoder
  return cls(encoder, decoder, cfg.latent_dim, image_shape, likelihood=cfg.likelihood, scale_mode=cfg.scale_mode,
             log_scale_init=cfg.log_scale_init)


def make_loss(cfg, model: nn.Module, *, dataset_size: int) -> methods.LossFn:
  """The method's loss ``(params, batch, key, step) -> (loss, metrics)`` for the method config ``cfg``."""
  return methods.get(cfg.name).make_loss(model, cfg, dataset_size=dataset_size)


def make_extra(cfg, model: nn.Module) -> methods.Extra | None:
  """The method's own state and update (e.g. FactorVAE's discriminator), or None for most methods."""
  method = methods.get(cfg.name)
  return None if method.make_extra is None else method.make_extra(model, cfg)


def make_optimizer(cfg: OptimizerConfig) -> optax.GradientTransformation:
  base = {
      "adam": lambda: fused_adam.adam(cfg.learning_rate, b1=cfg.b1, b2=cfg.b2),  # optax.adam, fusable
      "adamw": lambda: optax.adamw(cfg.learning_rate, b1=cfg.b1, b2=cfg.b2, weight_decay=cfg.weight_decay),
      "sgd": lambda: optax.sgd(cfg.learning_rate, momentum=cfg.b1),
  }[cfg.name]()
  if cfg.grad_clip_norm > 0:
    return optax.chain(optax.clip_by_global_norm(cfg.grad_clip_norm), base)
  return base


def describe(config: Config) -> str:
  """One line naming the run, for logs and figure titles."""
  m = config.model
  return f"{methods.describe(config.method)} · {m.kind}/{m.architecture} latent={m.latent_dim} · {config.data.name}"
