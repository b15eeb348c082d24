"""Throughput of the importance-sampled NLL (:func:`vae_jax.evaluation.likelihood.importance_sampled_nll`)
against its matmul bound, for the Flax example's MLP VAE (random parameters and binary images: the cost does
not depend on training or data).

One log-weight is one decoder pass ``[rows, 20]·[20, 500]`` and ``[rows, 500]·[500, 784]`` with ``rows =
batch_size · sample_chunk`` codes per product; the bound is the time of those two products per code times K,
plus one encoder pass per image, each product at the best of XLA's defaults, the library's compiler options for its
IS function and the 2048³ matmul peak (``benchmarks.bound.best_matmul_seconds``), measured in the same process each
repeat. The library's
defaults are used for ``batch_size`` and ``sample_chunk``. ``experiments/bench_likelihood.py`` is that module's
own, more detailed benchmark (settings sweeps, full-size extrapolation).
"""

from __future__ import annotations

from benchmarks import bound, timing


class ISNLL:
  def __init__(self, num_images: int, num_samples: int, batch_size: int = 0, sample_chunk: int = 0,
               fast_key: bool = False, peak_n: int = 2048):
    self.n, self.k, self.peak_n = num_images, num_samples, peak_n
    self.batch_size, self.sample_chunk, self.fast_key = batch_size, sample_chunk, fast_key

  def setup(self):
    import jax  # noqa: PLC0415
    import jax.numpy as jnp  # noqa: PLC0415
    import numpy as np  # noqa: PLC0415

    from vae_jax import models, modules, train  # noqa: PLC0415
    from vae_jax.evaluation import likelihood  # noqa: PLC0415

    self.lib = likelihood
    self.batch_size = min(self.batch_size or likelihood.DEFAULT_BATCH_SIZE, self.n)
    self.sample_chunk = min(self.sample_chunk or likelihood.DEFAULT_SAMPLE_CHUNK, self.k)
    init_key, data_key, self.key = jax.random.split(jax.random.key(0), 3)
    if self.fast_key:  # the same bits through the unrolled threefry (see vae_jax.train.prng.UNROLLED_THREEFRY)
      self.key = train.fast_key(self.key)
    self.model = models.VAE(modules.MLPEncoder((500,)), modules.MLPDecoder((500,), (28, 28, 1)), latent_dim=20,
                            image_shape=(28, 28, 1), likelihood="bernoulli")
    self.params = jax.jit(self.model.init)(init_key, jnp.zeros((1, 28, 28, 1), jnp.float32))["params"]
    self.images = np.asarray(jax.random.bernoulli(data_key, 0.13, (self.n, 28, 28, 1)), np.float32)
    _, compile_s, _ = timing.timed(lambda: self._estimate(self.images[:self.batch_size]))
    return {"compile_s": compile_s, "batch_size": self.batch_size, "sample_chunk": self.sample_chunk,
            "num_samples": self.k, "num_images": self.n, "fast_key": self.fast_key}

  def _estimate(self, images):
    return self.lib.importance_sampled_nll(self.key, self.model, self.params, images, num_samples=self.k,
                                           batch_size=self.batch_size, sample_chunk=self.sample_chunk)

  def run(self):
    res, wall, cpu = timing.timed(lambda: self._estimate(self.images))
    rows = self.batch_size * self.sample_chunk
    # Each product at the best of XLA's defaults, the library's own compiler options for its IS function, and
    # the n³ matmul peak: a bound no implementation should exceed (the first bound timed only the defaults, and
    # the library, compiled with its options, ran above it).
    kw = dict(peak=bound.peak_gflop_s(self.peak_n, reps=2), reps=2, options=(None, self.lib.CPU_COMPILER_OPTIONS))
    per_image = (self.k * bound.decoder_seconds_per_row(rows, **kw)
                 + bound.encoder_seconds_per_row(self.batch_size, **kw))
    return timing.throughput(self.n, wall, cpu, log_weights_per_s=self.n * self.k / wall,
                             bound_images_per_s=1.0 / per_image, nll_mean=res["nll_mean"])


CONTENDERS = {"is_nll": ISNLL}
