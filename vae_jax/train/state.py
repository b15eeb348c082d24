"""The train state every model trains with (autoencoders, methods with their own state, the classifier)."""

from __future__ import annotations

from typing import Any

import flax.struct
import jax
import jax.numpy as jnp
import optax

from vae_jax.methods import Extra

__all__ = ["TrainState", "create_train_state"]


class TrainState(flax.struct.PyTreeNode):
  """Everything a checkpoint needs: the step, the parameters, the optimizer state and the method's own state
  (``extra``: e.g. FactorVAE's discriminator and its optimizer; ``{}`` for most methods). No PRNG state."""

  step: jax.Array
  params: Any
  opt_state: Any
  extra: Any = flax.struct.field(default_factory=dict)

  @classmethod
  def fresh(cls, params: Any, tx: optax.GradientTransformation, extra: Any = None) -> TrainState:
    """Step 0 of ``params`` (given, e.g. pre-trained or a fresh init) with ``tx``'s initial state."""
    return cls(step=jnp.zeros((), jnp.int32), params=params, opt_state=tx.init(params),
               extra={} if extra is None else extra)


def create_train_state(model, tx: optax.GradientTransformation, key: jax.Array, sample_images: jax.Array, *,
                       extra: Extra | None = None) -> TrainState:
  """Initialises parameters from ``key`` with a sample batch ``[b, H, W, C]`` and the optimizer state.

  ``extra``: the method's own state and update (:func:`vae_jax.factory.make_extra`); then ``key`` is split into
  the model's and the extra state's init keys (without, the model's init uses ``key`` itself).
  """
  extra_state = {}
  if extra is not None:
    key, k_extra = jax.random.split(key)
    extra_state = extra.init(k_extra)
  params = model.init(key, sample_images)["params"]
  return TrainState.fresh(params, tx, extra_state)
