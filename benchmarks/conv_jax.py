"""vae_jax's conv β-VAE on procedural 64×64 sprites, the images rendered on device inside the fused step.

Higgins et al.'s dSprites architecture (``ModelConfig(architecture="conv", conv_channels=(32, 32, 64, 64),
conv_dense=(256,), latent_dim=10)``), Bernoulli likelihood, β = 4, Adam 1e-3 (as the PyTorch baseline).
One repeat is one call of :func:`vae_jax.train.make_multi_step` over ``steps`` updates with ``loop="auto"``
(on CPU a step with XLA convolutions is stepped from the host, one with oneDNN's runs as one scan, as
``train_and_evaluate`` does: :func:`vae_jax.train.choose_loop`); each update
draws fresh sprite factors from its data key and renders them (``GeneratedBatches``), as ``train_and_evaluate``
does for ``data.name="sprites"``. ``flax_layers=True`` builds the same model from Flax's ``nn.Conv`` and
``nn.ConvTranspose`` instead of :mod:`vae_jax.space_to_depth` / :mod:`vae_jax.depth_to_space` (same parameters);
``loop="host"`` / ``"scan"`` force one way; ``VAE_JAX_ONEDNN=0`` in the environment keeps XLA's convolutions.
"""

from __future__ import annotations

import resource

from benchmarks import timing


def one_update(batch: int, *, flax_layers: bool = False, resolution: int = 64):
  """``(update, state, key)``: one update of this benchmark's conv β-VAE as ``make_multi_step(loop="host")`` calls
  it — ``update(state, key) -> (state, metrics)``, sprites drawn from ``fold_in(key, state.step)`` and rendered
  in the step — for the tools that compile or profile that one function (``benchmarks.profile_conv``,
  ``benchmarks.conv_xla_options``). ``flax_layers``: the encoder from Flax's ``nn.Conv`` (no space-to-depth)."""
  import jax.numpy as jnp  # noqa: PLC0415

  from vae_jax import configs, factory, methods, train  # noqa: PLC0415

  shape = (resolution, resolution, 1)
  model = factory.make_model(configs.ModelConfig(kind="vae", architecture="conv", conv_channels=(32, 32, 64, 64),
                                                 conv_dense=(256,), latent_dim=10), shape)
  if flax_layers:
    model = model.clone(encoder=model.encoder.clone(space_to_depth=False))
  loss_fn = factory.make_loss(methods.beta_vae.Config(beta=4.0), model, dataset_size=737_280)
  tx = factory.make_optimizer(configs.OptimizerConfig(name="adam", learning_rate=1e-3))
  source = train.sprite_batches(batch, resolution)

  def update(state, key):
    k_data, k_loss = train.step_keys(key, state.step)
    return train.step.update(loss_fn, tx, state, source.batch({}, None, k_data), k_loss)

  keys = train.run_keys(0)
  state = train.create_train_state(model, tx, keys.init, jnp.zeros((2, *shape), jnp.float32))
  return update, state, train.fast_key(keys.train)


class ConvSprites:
  def __init__(self, batch: int, steps: int, resolution: int = 64, channels=(32, 32, 64, 64), dense=(256,),
               latent: int = 10, depth_to_space: bool = True, flax_layers: bool = False,
               loop: str = "auto", one_arena: bool = False):
    self.batch, self.steps, self.resolution = batch, steps, resolution
    self.depth_to_space, self.flax_layers = depth_to_space and not flax_layers, flax_layers
    self.channels, self.dense, self.latent, self.loop = tuple(channels), tuple(dense), latent, loop
    self.one_arena = one_arena

  def setup(self):
    import jax  # noqa: PLC0415
    import jax.numpy as jnp  # noqa: PLC0415

    from vae_jax import configs, factory, host_memory, methods, train  # noqa: PLC0415

    if self.one_arena:  # before this process's first computation, as importing experiments does
      host_memory.one_arena()

    shape = (self.resolution, self.resolution, 1)
    model = factory.make_model(configs.ModelConfig(kind="vae", architecture="conv", conv_channels=self.channels,
                                                   conv_dense=self.dense, latent_dim=self.latent,
                                                   conv_depth_to_space=self.depth_to_space), shape)
    if self.flax_layers:  # nn.Conv / nn.ConvTranspose throughout: what the rewrites are measured against
      model = model.clone(encoder=model.encoder.clone(space_to_depth=False))
    loss_fn = factory.make_loss(methods.beta_vae.Config(beta=4.0), model, dataset_size=737_280)
    tx = factory.make_optimizer(configs.OptimizerConfig(name="adam", learning_rate=1e-3))
    keys = train.run_keys(0)
    self.state = train.create_train_state(model, tx, keys.init, jnp.zeros((2, *shape), jnp.float32))
    self.source = train.sprite_batches(self.batch, self.resolution)
    self.key = keys.train
    self.multi = train.make_multi_step(loss_fn, tx, num_steps=self.steps, loop=self.loop)  # "auto": as train
    (self.state, _), compile_s, _ = timing.timed(
        lambda: timing.block(self.multi(self.state, {}, self.source, self.key)))
    return {"compile_s": compile_s, "platform": jax.devices()[0].platform}

  def run(self):
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    (self.state, _), wall, cpu = timing.timed(
        lambda: timing.block(self.multi(self.state, {}, self.source, self.key)))
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults  # vae_jax/host_memory.py says why
    return timing.throughput(self.steps * self.batch, wall, cpu, page_faults_per_update=faults / self.steps)


CONTENDERS = {"conv_sprites": ConvSprites}
