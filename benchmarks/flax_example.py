"""The Flax example's VAE training step as shipped (``google/flax`` ``examples/vae``), re-implemented for timing.

What the example does, reproduced here (written afresh from reading it, not copied):

* model: encoder ``Dense(500) → relu`` then two ``Dense(latents)`` heads (mean, log-variance); decoder
  ``Dense(500) → relu → Dense(784)`` giving logits; ``z = mean + exp(½·logvar)·ε``; inputs are flat ``[batch, 784]``
  float32;
* loss: per-example binary cross-entropy written with ``log_sigmoid`` and ``log(−expm1(·))``, and the analytic KL,
  each ``jax.vmap``-ed over the batch and averaged; ``jax.grad`` of the sum; ``TrainState.apply_gradients`` with
  ``optax.adam(1e-3)``;
* the step function is **not** wrapped in ``jax.jit`` (it takes ``latents`` as a plain argument and rebuilds
  the model on every call), so every primitive is dispatched eagerly from Python; the training loop also splits
  the PRNG key on the host at every step.

Batches are host NumPy arrays (a pool of pre-made, statically binarized batches cycled through), so the
example's ``tf.data`` pipeline is not part of what is timed: only its step.
"""

from __future__ import annotations


from benchmarks import data, timing

LATENTS = 20


def _modules():
  import flax.linen as nn  # noqa: PLC0415
  import jax  # noqa: PLC0415
  import jax.numpy as jnp  # noqa: PLC0415

  class Encoder(nn.Module):
    latents: int

    @nn.compact
    def __call__(self, x):
      h = nn.relu(nn.Dense(500, name="fc1")(x))
      return nn.Dense(self.latents, name="fc2_mean")(h), nn.Dense(self.latents, name="fc2_logvar")(h)

  class Decoder(nn.Module):
    @nn.compact
    def __call__(self, z):
      return nn.Dense(784, name="fc2")(nn.relu(nn.Dense(500, name="fc1")(z)))

  class VAE(nn.Module):
    latents: int = LATENTS

    def setup(self):
      self.encoder = Encoder(self.latents)
      self.decoder = Decoder()

    def __call__(self, x, z_rng):
      mean, logvar = self.encoder(x)
      eps = jax.random.normal(z_rng, logvar.shape)
      return self.decoder(mean + eps * jnp.exp(0.5 * logvar)), mean, logvar

  return VAE


def _losses():
  import flax.linen as nn  # noqa: PLC0415
  import jax  # noqa: PLC0415
  import jax.numpy as jnp  # noqa: PLC0415

  @jax.vmap
  def kl_divergence(mean, logvar):
    return -0.5 * jnp.sum(1 + logvar - jnp.square(mean) - jnp.exp(logvar))

  @jax.vmap
  def binary_cross_entropy_with_logits(logits, labels):
    log_p = nn.log_sigmoid(logits)
    return -jnp.sum(labels * log_p + (1.0 - labels) * jnp.log(-jnp.expm1(log_p)))

  return kl_divergence, binary_cross_entropy_with_logits


def make_train_step():
  """``train_step(state, batch, z_rng, latents) -> state``, un-jitted, as in the example."""
  import jax  # noqa: PLC0415

  vae_cls = _modules()
  kl_divergence, bce = _losses()

  def train_step(state, batch, z_rng, latents):
    def loss_fn(params):
      recon_x, mean, logvar = vae_cls(latents=latents).apply({"params": params}, batch, z_rng)
      return bce(recon_x, batch).mean() + kl_divergence(mean, logvar).mean()

    grads = jax.grad(loss_fn)(state.params)
    return state.apply_gradients(grads=grads)

  return vae_cls, train_step


class FlaxExampleStep:
  """``steps`` calls of the example's step at ``batch``, with its per-step host key split."""

  def __init__(self, batch: int, steps: int, pool: int = 8):
    self.batch, self.steps, self.pool = batch, steps, pool

  def setup(self):
    import jax  # noqa: PLC0415
    import jax.numpy as jnp  # noqa: PLC0415
    import optax  # noqa: PLC0415
    from flax.training import train_state  # noqa: PLC0415

    vae_cls, self.train_step = make_train_step()
    images, source = data.fashion_mnist_u8(self.batch * self.pool)
    flat = data.binarize_static(images).reshape(-1, 784)
    self.batches = [flat[i * self.batch:(i + 1) * self.batch] for i in range(self.pool)]
    rng = jax.random.key(0)
    rng, key = jax.random.split(rng)
    model = vae_cls(latents=LATENTS)
    with jax.numpy_dtype_promotion("standard"):  # optax's step count meets Python floats (cf. vae_jax.train.step)
      params = model.init(key, jnp.ones((self.batch, 784), jnp.float32), rng)["params"]
      self.state = train_state.TrainState.create(apply_fn=model.apply, params=params, tx=optax.adam(1e-3))
    self.rng = rng
    _, warm_s, _ = timing.timed(lambda: timing.block(self._loop(2)))  # fills the eager per-primitive caches
    return {"compile_s": warm_s, "data": source, "jitted": False}

  def _loop(self, n: int):
    import jax  # noqa: PLC0415

    state, rng = self.state, self.rng
    with jax.numpy_dtype_promotion("standard"):
      for i in range(n):
        rng, key = jax.random.split(rng)
        state = self.train_step(state, self.batches[i % self.pool], key, LATENTS)
    self.state, self.rng = state, rng
    return state.params

  def run(self):
    _, wall, cpu = timing.timed(lambda: timing.block(self._loop(self.steps)))
    return timing.throughput(self.steps * self.batch, wall, cpu)


CONTENDERS = {"flax_example": FlaxExampleStep}
