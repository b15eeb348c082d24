"""The minimal fused epoch: the MLP VAE (784-500-20) with nothing but the math, as a reference row (issue #16).

One ``jax.jit``-ed ``lax.scan`` over an epoch's steps; the training set binarized once on the host (static
binarization, ``benchmarks.data.binarize_static``) and laid out on the device as ``[steps, batch, 784]`` float32,
scanned in order (no shuffle, no gather); per step ``fold_in(key, step)`` for the reparameterization noise, the
loss (Bernoulli NLL on logits as ``softplus(l) − x·l`` summed over pixels, plus the analytic KL, averaged over the
batch), ``jax.grad`` and a plain ``optax.adam(1e-3)`` update; no metrics, no gradient norm, no logging, parameters
and optimizer state donated. Written in plain ``jnp`` (no Flax, no vae_jax) with the layer shapes of
``benchmarks.bound.MLP_LAYERS``.

It differs from the real loop's task in the data pipeline (no shuffle, no dynamic binarization: no random bits per
pixel, no uint8 gather) and the metrics; it shows what XLA does with the step's math alone, next to the step bound.
"""

from __future__ import annotations

import functools

from benchmarks import bound, data, timing


def init_params(key):
  """Dense layers as Flax's defaults (LeCun-normal weights, zero biases), by the names of ``bound.MLP_LAYERS``."""
  import jax  # noqa: PLC0415
  import jax.numpy as jnp  # noqa: PLC0415

  keys = jax.random.split(key, len(bound.MLP_LAYERS))
  return {name: {"w": jax.random.normal(k, (fan_in, fan_out), jnp.float32) / jnp.sqrt(fan_in),
                 "b": jnp.zeros((fan_out,), jnp.float32)}
          for (name, fan_in, fan_out, _), k in zip(bound.MLP_LAYERS, keys)}


def loss_fn(params, x, key):
  """Mean over the batch of the negative ELBO (nats per example); ``x``: ``[batch, 784]`` in {0, 1}."""
  import jax  # noqa: PLC0415
  import jax.numpy as jnp  # noqa: PLC0415

  def dense(name, h):
    return h @ params[name]["w"] + params[name]["b"][None, :]  # explicit rank: no implicit promotion

  h = jax.nn.relu(dense("enc", x))
  mean, logvar = dense("mean", h), dense("logvar", h)
  z = mean + jnp.exp(0.5 * logvar) * jax.random.normal(key, mean.shape, mean.dtype)
  logits = dense("dec_out", jax.nn.relu(dense("dec_hidden", z)))
  nll = jnp.sum(jax.nn.softplus(logits) - x * logits, axis=-1)
  kl = 0.5 * jnp.sum(jnp.exp(logvar) + jnp.square(mean) - 1.0 - logvar, axis=-1)
  return jnp.mean(nll + kl)


def make_epoch(tx):
  """``epoch((params, opt_state, step), batches [steps, B, 784], key) -> (params, opt_state, step)``, jitted."""
  import jax  # noqa: PLC0415
  import optax  # noqa: PLC0415

  def body(carry, x, key):
    params, opt_state, step = carry
    grads = jax.grad(loss_fn)(params, x, jax.random.fold_in(key, step))
    with jax.numpy_dtype_promotion("standard"):  # optax's step count meets Python floats (cf. vae_jax.train.step)
      updates, opt_state = tx.update(grads, opt_state, params)
    return (optax.apply_updates(params, updates), opt_state, step + 1), None

  @functools.partial(jax.jit, donate_argnums=0)
  def epoch(carry, batches, key):
    return jax.lax.scan(functools.partial(body, key=key), carry, batches)[0]

  return epoch


class BareEpoch:
  """The minimal fused epoch over ``num_train`` images (0 = all 60,000), ``batch`` per step."""

  def __init__(self, batch: int, num_train: int = 0):
    self.batch, self.num_train = batch, num_train

  def setup(self):
    import jax  # noqa: PLC0415
    import jax.numpy as jnp  # noqa: PLC0415
    import optax  # noqa: PLC0415

    images, source = data.fashion_mnist_u8(self.num_train)
    self.num_steps = len(images) // self.batch
    if self.num_steps < 1:
      raise ValueError(f"{len(images)} images, fewer than one batch of {self.batch}.")
    bits = data.binarize_static(images[:self.num_steps * self.batch])
    self.batches = jax.device_put(bits.reshape(self.num_steps, self.batch, -1))
    del bits
    init_key, self.key = jax.random.split(jax.random.key(0))
    tx = optax.adam(1e-3)
    params = init_params(init_key)
    self.carry = (params, tx.init(params), jnp.int32(0))
    self.epoch = make_epoch(tx)
    self.carry, compile_s, _ = timing.timed(lambda: timing.block(self.epoch(self.carry, self.batches, self.key)))
    return {"compile_s": compile_s, "data": source, "steps_per_call": self.num_steps,
            "platform": jax.devices()[0].platform}

  def run(self):
    self.carry, wall, cpu = timing.timed(lambda: timing.block(self.epoch(self.carry, self.batches, self.key)))
    return timing.throughput(self.num_steps * self.batch, wall, cpu)


CONTENDERS = {"bare_epoch": BareEpoch}
