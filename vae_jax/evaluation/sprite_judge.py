"""A judge of sprites: a network trained on real procedural sprites to name all five factors, whose penultimate
features are the space of a Fréchet distance ("FID for sprites").

The article claims a β-VAE's samples are sharper. Gradient-magnitude ratios (:mod:`vae_jax.evaluation.sharpness`)
reward any edge, even a wrong one; the Fréchet distance in the features of a factor classifier asks whether the
images look like sprites to a network that knows what a sprite's shape, scale, orientation and position are
(Heusel et al.'s FID with the Inception network replaced by a judge trained on the data itself)::

    judge = train_sprite_judge(key, resolution=32, hidden=(512, 256), num_steps=2000, batch_size=256)
    acc = factor_accuracy(judge, images, factors)                 # {"shape": 0.99, ...} on held-out sprites
    fd = frechet_distance(judge_features(judge, generated), judge_features(judge, real))
    scores = sprite_frechet(prior_key, judge, vae, vae_params, real)   # {"fd_gen", "fd_rec"}: lower = closer to real

The judge is an MLP on the flattened pixels (``modules.MLPEncoder``, so any resolution), one linear softmax head per
factor on its last hidden layer, trained with the sum of the five cross-entropies on sprites drawn afresh every step
(:class:`vae_jax.train.GeneratedBatches`, :func:`vae_jax.train.make_multi_step`): deterministic given its key.

References:
  Heusel et al., "GANs Trained by a Two Time-Scale Update Rule Converge to a Local Nash Equilibrium", NeurIPS 2017;
  Matthey et al., dSprites, 2017.
"""

from __future__ import annotations

import functools
import logging
import warnings
from collections.abc import Sequence
from typing import Any, NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
import scipy.linalg
from jax.typing import ArrayLike

from vae_jax import inference, modules, train
from vae_jax.data import sprites
from vae_jax.evaluation.sharpness import frechet_distance

__all__ = ["FactorJudge", "SpriteJudge", "factor_accuracy", "judge_features", "judge_loss", "predict_factors",
           "sprite_frechet", "train_sprite_judge"]

logger = logging.getLogger(__name__)


class FactorJudge(nn.Module):
  """An MLP trunk, then one linear softmax head per factor on its last hidden layer (the features).

  Attributes:
    hidden: the trunk's widths (``modules.MLPEncoder``); the features are its last layer, ``hidden[-1]`` wide.
    factor_sizes: classes per head (default: the sprites' five factors).
  """

  hidden: Sequence[int]
  factor_sizes: Sequence[int] = sprites.FACTOR_SIZES

  def setup(self):
    if not self.hidden:
      raise ValueError("FactorJudge: hidden must hold at least one layer (the features).")
    self.trunk = modules.MLPEncoder(tuple(self.hidden))
    self.heads = [nn.Dense(n, name=f"head_{i}") for i, n in enumerate(self.factor_sizes)]

  def features(self, x: jax.Array) -> jax.Array:
    """``[batch, hidden[-1]]`` penultimate features of images ``[batch, H, W, C]``."""
    return self.trunk(x)

  def __call__(self, x: jax.Array) -> tuple[jax.Array, ...]:
    """One logits array ``[batch, factor_sizes[i]]`` per factor."""
    h = self.trunk(x)
    return tuple(head(h) for head in self.heads)


class SpriteJudge(NamedTuple):
  """A trained :class:`FactorJudge`: the module, its parameters, and its training resolution."""

  model: FactorJudge
  params: Any
  resolution: int


def judge_loss(model: FactorJudge):
  """``loss_fn(params, batch, key, step) -> (loss, metrics)``: the sum over factors of the softmax cross-entropy of
  ``batch["image"]`` ``[b, H, W, C]`` against ``batch["factors"]`` ``[b, num_factors]``, per example (nats),
  averaged over the batch. ``metrics``: ``loss`` and ``acc_<i>`` (batch accuracy of factor ``i``)."""

  def loss_fn(params, batch, key, step):
    del key, step
    logits = model.apply({"params": params}, batch["image"])
    labels = batch["factors"]
    if labels.ndim != 2 or labels.shape[1] != len(logits):
      raise ValueError(f"judge_loss: factors must be [batch, {len(logits)}], got {list(labels.shape)}.")
    per_example = sum(optax.softmax_cross_entropy_with_integer_labels(lg, labels[:, i]) for i, lg in enumerate(logits))
    loss = jnp.mean(per_example)
    acc = {f"acc_{i}": jnp.mean((jnp.argmax(lg, -1) == labels[:, i]).astype(jnp.float32))
           for i, lg in enumerate(logits)}
    return loss, {"loss": loss, **acc}

  return loss_fn


@functools.lru_cache(maxsize=8)
def _init(model: FactorJudge):
  return jax.jit(model.init)  # compiles once per (equal) model: seconds on a CPU


@functools.lru_cache(maxsize=8)
def _training(model: FactorJudge, learning_rate: float, batch_size: int, resolution: int):
  # One optimizer and one batch source per setting: the fused steps below then compile once for equal settings.
  return optax.adam(learning_rate), train.sprite_batches(batch_size, resolution)


@functools.lru_cache(maxsize=8)
def _multi_step(model: FactorJudge, learning_rate: float, batch_size: int, resolution: int, num_steps: int):
  tx, _ = _training(model, learning_rate, batch_size, resolution)
  return train.make_multi_step(judge_loss(model), tx, num_steps=num_steps, loop="scan")


def train_sprite_judge(key: jax.Array, *, resolution: int, hidden: Sequence[int], num_steps: int, batch_size: int,
                       learning_rate: float = 1e-3, log_every: int | None = None) -> SpriteJudge:
  """A :class:`FactorJudge` trained with Adam on real sprites drawn afresh every step (a pure function of ``key``).

  Args:
    key: split into the initialisation and the training key (the batches of step ``t`` come from it and ``t``).
    resolution: the sprites' side in pixels (the judge only accepts images of this size).
    hidden: the trunk's widths; num_steps, batch_size, learning_rate: the training budget.
    log_every: steps fused per call between host syncs (default: all in one call).

  Returns:
    The trained :class:`SpriteJudge`; its last chunk's mean training loss and accuracies are logged.
  """
  if num_steps < 1 or batch_size < 1:
    raise ValueError(f"train_sprite_judge: num_steps and batch_size must be >= 1, got {num_steps} and {batch_size}.")
  k_init, k_train = jax.random.split(key)
  model = FactorJudge(tuple(hidden))
  params = _init(model)(k_init, jnp.zeros((1, resolution, resolution, 1), jnp.float32))["params"]
  chunk = min(log_every or num_steps, num_steps)
  tx, source = _training(model, learning_rate, batch_size, resolution)
  state = train.TrainState.fresh(params, tx)
  done, last = 0, {}
  while done < num_steps:
    n = min(chunk, num_steps - done)
    state, metrics = _multi_step(model, learning_rate, batch_size, resolution, n)(state, {}, source, k_train)
    metrics = jax.device_get(metrics)
    train.check_finite(metrics, done, stopped=lambda: "the judge's training stopped", remedy="Lower learning_rate.")
    done += n
    last = {k: float(np.mean(v)) for k, v in metrics.items()}
  logger.info("sprite judge (%dx%d, MLP %s, %d steps of %d): train loss %.3f, accuracy %s", resolution, resolution,
              list(hidden), num_steps, batch_size, last["loss"],
              {name: round(last[f"acc_{i}"], 3) for i, name in enumerate(sprites.FACTOR_NAMES)})
  return SpriteJudge(model, state.params, resolution)


@functools.partial(jax.jit, static_argnames="model")
def _features(params, x, *, model):
  return model.apply({"params": params}, x, method="features")


@functools.partial(jax.jit, static_argnames="model")
def _predict(params, x, *, model):
  return jnp.stack([jnp.argmax(lg, -1) for lg in model.apply({"params": params}, x)], axis=-1)


def _checked(judge: SpriteJudge, images: ArrayLike, who: str) -> np.ndarray:
  x = np.asarray(images, np.float32)
  if x.ndim != 4 or x.shape[1:] != (judge.resolution, judge.resolution, 1):
    raise ValueError(f"{who}: the judge takes images [N, {judge.resolution}, {judge.resolution}, 1], got "
                     f"{list(x.shape)}.")
  return x


def judge_features(judge: SpriteJudge, images: ArrayLike, *, batch_size: int = 500) -> np.ndarray:
  """``[N, hidden[-1]]`` penultimate features of images ``[N, H, W, 1]`` (host array)."""
  x = _checked(judge, images, "judge_features")
  return inference.map_batches(functools.partial(_features, judge.params, model=judge.model), x,
                               batch_size=min(batch_size, len(x)))


def predict_factors(judge: SpriteJudge, images: ArrayLike, *, batch_size: int = 500) -> np.ndarray:
  """``[N, num_factors]`` the judge's arg-max factor indices for images ``[N, H, W, 1]``."""
  x = _checked(judge, images, "predict_factors")
  return inference.map_batches(functools.partial(_predict, judge.params, model=judge.model), x,
                               batch_size=min(batch_size, len(x)))


def factor_accuracy(judge: SpriteJudge, images: ArrayLike, factors: ArrayLike, *,
                    names: Sequence[str] = sprites.FACTOR_NAMES) -> dict[str, float]:
  """``{factor name: fraction of images whose factor the judge names exactly}``."""
  pred, factors = predict_factors(judge, images), np.asarray(factors)
  if factors.shape != pred.shape:
    raise ValueError(f"factor_accuracy: factors {list(factors.shape)} for predictions {list(pred.shape)}.")
  return {name: float(np.mean(pred[:, i] == factors[:, i])) for i, name in enumerate(names)}


def sprite_frechet(key: jax.Array, judge: SpriteJudge, model, params, real: ArrayLike, *,
                   reference: ArrayLike | None = None, batch_size: int = 500) -> dict[str, float]:
  """Fréchet distances, in the judge's features, of a model's generated samples and reconstructions to real sprites.

  The same images as :func:`vae_jax.evaluation.relative_sharpness` with the same ``key`` and ``real``.

  Args:
    key: draws the ``len(real)`` prior codes ``z ~ N(0, I)`` decoded into the generated samples.
    judge: a trained :class:`SpriteJudge` at the images' resolution.
    model, params: a trained model with a ``latent_dim`` (anything :mod:`vae_jax.inference` accepts).
    real: ``[N, H, W, 1]`` real sprites: the reference, and the images reconstructed.
    reference: another draw of real sprites (``[M, H, W, 1]``, best ``M = N``): adds ``fd_real``, its distance to
      ``real``, the floor a perfect model would reach at this N.

  Returns:
    ``fd_gen`` (samples vs real) and ``fd_rec`` (reconstructions vs the real images they reconstruct), and with
    ``reference`` ``fd_real``; lower is closer to real, 0 only for identical feature statistics. Two independent
    real draws are not at 0 (the estimate's bias at finite N): compare models on the same N.
  """
  real = np.asarray(real, np.float32)
  recon = inference.reconstruct(model, params, real, batch_size=batch_size)
  z = np.asarray(jax.random.normal(key, (len(real), model.latent_dim)))
  generated = inference.decode(model, params, z, batch_size=batch_size)
  f_real = judge_features(judge, real, batch_size=batch_size)
  with warnings.catch_warnings():  # ReLU units that never fire make the covariances singular: sqrtm still holds
    warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
    fd = {"fd_gen": frechet_distance(judge_features(judge, generated, batch_size=batch_size), f_real),
          "fd_rec": frechet_distance(judge_features(judge, recon, batch_size=batch_size), f_real)}
    if reference is not None:
      fd["fd_real"] = frechet_distance(judge_features(judge, reference, batch_size=batch_size), f_real)
  return fd
