"""From validated configs to objects: the model, the objective (loss function) and the optimizer.

The only place where config strings become code; each mapping is an explicit table, never ``getattr``.
"""

from __future__ import annotations

import math

import flax.linen as nn
import optax

from vae_jax import models, modules, objectives
from vae_jax.configs import Config, ModelConfig, ObjectiveConfig, OptimizerConfig


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
    dec_hidden = tuple(reversed(cfg.hidden)) if cfg.decoder_hidden is None else cfg.decoder_hidden
    encoder = modules.MLPEncoder(cfg.hidden, activation=act)
    decoder = modules.MLPDecoder(dec_hidden, image_shape, activation=act)
  else:
    encoder = modules.ConvEncoder(cfg.conv_channels, cfg.conv_dense, activation=act)
    decoder = modules.ConvDecoder(image_shape, tuple(reversed(cfg.conv_channels))[1:], tuple(reversed(cfg.conv_dense)),
                                  activation=act, depth_to_space=cfg.conv_depth_to_space)
  cls = models.VAE if cfg.kind == "vae" else models.AutoEncoder
  return cls(encoder, decoder, cfg.latent_dim, image_shape, likelihood=cfg.likelihood, scale_mode=cfg.scale_mode,
             log_scale_init=cfg.log_scale_init)


def _beta_schedule(cfg: ObjectiveConfig):
  if cfg.beta_warmup_steps <= 0:
    return cfg.beta
  return optax.linear_schedule(0.0, cfg.beta, cfg.beta_warmup_steps)


def make_objective(cfg: ObjectiveConfig, model: nn.Module, *, dataset_size: int) -> objectives.LossFn:
  """The loss function ``(params, batch, key, step) -> (loss, metrics)`` for ``cfg.kind``."""
  corruption = objectives.make_corruption(cfg.corruption, cfg.noise_level)
  if cfg.kind in ("ae", "dae"):
    return objectives.autoencoder(model, corruption=corruption)
  if cfg.kind == "iwae":
    return objectives.iwae(model, num_samples=cfg.num_samples)
  regularizer = {
      "vae": lambda: objectives.kl_regularizer(beta=1.0),
      "beta_vae": lambda: objectives.kl_regularizer(beta=_beta_schedule(cfg)),
      "capacity_vae": lambda: objectives.capacity_regularizer(gamma=cfg.gamma, capacity_max=cfg.capacity_max,
                                                              num_steps=cfg.capacity_steps),
      "beta_tcvae": lambda: objectives.tc_regularizer(dataset_size=dataset_size, alpha=cfg.alpha,
                                                      beta=_beta_schedule(cfg), gamma=cfg.tc_gamma),
  }[cfg.kind]()
  return objectives.variational(model, regularizer=regularizer, corruption=corruption)


def make_optimizer(cfg: OptimizerConfig) -> optax.GradientTransformation:
  base = {
      "adam": lambda: optax.adam(cfg.learning_rate, b1=cfg.b1, b2=cfg.b2),
      "adamw": lambda: optax.adamw(cfg.learning_rate, b1=cfg.b1, b2=cfg.b2, weight_decay=cfg.weight_decay),
      "sgd": lambda: optax.sgd(cfg.learning_rate, momentum=cfg.b1),
  }[cfg.name]()
  if cfg.grad_clip_norm > 0:
    return optax.chain(optax.clip_by_global_norm(cfg.grad_clip_norm), base)
  return base


def describe(config: Config) -> str:
  """One line naming the run, for logs and figure titles."""
  m, o = config.model, config.objective
  extra = f" β={o.beta:g}" if o.kind in ("beta_vae", "beta_tcvae") else ""
  if o.corruption != "none":
    extra += f" {o.corruption}={o.noise_level:g}"
  return f"{o.kind}{extra} · {m.kind}/{m.architecture} latent={m.latent_dim} · {config.data.name}"
