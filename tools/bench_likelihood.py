"""Throughput of the importance-sampled NLL (``vae_jax.evaluation.likelihood``) against the matmul bound.

Model: the Flax example's MLP VAE (encoder 784-500 → 20-d Gaussian posterior, decoder 20-500-784, Bernoulli).
Random-init parameters and random binary images: the cost does not depend on training or on the data.

One log-weight is one decoder pass, 2·(20·500 + 500·784) = 804,000 FLOP; the encoder, 2·(784·500 + 500·2·20)
= 824,000 FLOP, is needed once per image. The script times XLA's own matmuls of the decoder's shapes
(``[rows, 20]×[20, 500]`` and ``[rows, 500]×[500, 784]``, rows = batch_size·sample_chunk) in the same process,
turns them into a lower bound on the time ("matmul bound"), and prints the fraction of it reached.

Commands (run from the repository root):

  # full size (Burda et al.'s protocol: 10,000 test images × K = 5000, 4.0·10¹³ FLOP): minutes on a 2-core CPU
  # with the YNNPACK workaround below, seconds on a GPU (measured times: tools/README.md)
  .venv/bin/python tools/bench_likelihood.py --ynn-fusion-types=-reduce --progress
  # reduced size, extrapolated to the full one (a minute or two)
  .venv/bin/python tools/bench_likelihood.py --num-images 200 --ynn-fusion-types=-reduce
  # try several (batch_size, sample_chunk) settings on a small problem
  .venv/bin/python tools/bench_likelihood.py --num-images 200 --num-samples 1000 --sweep
  # smoke test (seconds)
  .venv/bin/python tools/bench_likelihood.py --num-images 8 --num-samples 64

Expected result: the YNNPACK reduction fusion of XLA:CPU is slow here (the same workaround as jax-ml/jax#37465),
so ``--ynn-fusion-types=-reduce`` (or ``''``, no YNNPACK fusions, or ``dot,individual_dot``) should reach a clearly
larger fraction of the matmul bound than XLA's defaults; the ``(batch_size, sample_chunk)`` setting should matter
little over a wide range, as the ``[rows, 20]×[20, 500]`` matmul turns memory-bound for large ``rows``. When other
jobs share the cores compare CPU seconds rather than wall time. Measured figures (CPU and GPU): ``tools/README.md``.

What is not matmul: the Bernoulli log-likelihood (a softplus over 784 logits per sample), the memory traffic of
the [rows, 784] logits, the encoder (run once per image and chunk, 1/sample_chunk of the decoder's FLOP) and the
per-sample RNG.

``--ynn-fusion-types`` sets ``--xla_cpu_experimental_ynn_fusion_type`` in ``XLA_FLAGS`` before jax starts (an
experimental XLA flag: check it still exists when jax is upgraded).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time

ENC_FLOP = 2 * (784 * 500 + 500 * 2 * 20)
DEC_FLOP = 2 * (20 * 500 + 500 * 784)


def _parse(argv):
  p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  p.add_argument("--num-images", type=int, default=10_000)
  p.add_argument("--num-samples", type=int, default=5000, help="K importance samples per image")
  p.add_argument("--batch-size", type=int, default=None, help="default: the library's default")
  p.add_argument("--sample-chunk", type=int, default=None, help="default: the library's default")
  p.add_argument("--sweep", action="store_true", help="time several (batch_size, sample_chunk) settings")
  p.add_argument("--repeats", type=int, default=1, help="timed runs per setting (the minimum is reported)")
  p.add_argument("--ynn-fusion-types", default=None, metavar="TYPES",
                 help="set XLA:CPU's --xla_cpu_experimental_ynn_fusion_type (e.g. 'dot,individual_dot'; '' for "
                      "none); default: leave XLA's default")
  p.add_argument("--progress", action="store_true")
  p.add_argument("--seed", type=int, default=0)
  p.add_argument("--out", default=None, help="write a results JSON here")
  return p.parse_args(argv)


def main(argv=None):
  args = _parse(argv)
  if args.ynn_fusion_types is not None:
    flag = f"--xla_cpu_experimental_ynn_fusion_type={args.ynn_fusion_types}"
    os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {flag}".strip()

  import flax  # noqa: PLC0415  (after XLA_FLAGS)
  import jax  # noqa: PLC0415
  import jaxlib  # noqa: PLC0415
  import jax.numpy as jnp  # noqa: PLC0415
  import numpy as np  # noqa: PLC0415

  from vae_jax import models, modules  # noqa: PLC0415
  from vae_jax.evaluation import likelihood  # noqa: PLC0415

  init_key, data_key, eval_key = jax.random.split(jax.random.key(args.seed), 3)
  model = models.VAE(modules.MLPEncoder((500,)), modules.MLPDecoder((500,), (28, 28, 1)), latent_dim=20,
                     image_shape=(28, 28, 1), likelihood="bernoulli")
  params = jax.jit(model.init)(init_key, jnp.zeros((1, 28, 28, 1), jnp.float32))["params"]
  images = np.asarray(jax.random.bernoulli(data_key, 0.13, (args.num_images, 28, 28, 1)), np.float32)
  n, k = args.num_images, args.num_samples

  def matmul_rate(rows):
    """XLA's matmuls of the decoder's shapes, [rows, 20]×[20, 500] and [rows, 500]×[500, 784].

    Returns GFLOP/s of each (best wall time of 5) and the seconds one decoder pass (both matmuls) takes at those
    rates, per wall-clock second and per CPU second (process time: robust to other jobs sharing the cores).
    """
    mm = jax.jit(lambda a, b: a @ b)
    rates, wall_per_sample, cpu_per_sample = [], 0.0, 0.0
    for kdim, ndim in ((20, 500), (500, 784)):
      a = jax.random.normal(jax.random.key(1), (rows, kdim), jnp.float32)
      b = jax.random.normal(jax.random.key(2), (kdim, ndim), jnp.float32)
      mm(a, b).block_until_ready()
      wall = cpu = math.inf
      for _ in range(5):
        t, c = time.perf_counter(), time.process_time()
        mm(a, b).block_until_ready()
        wall, cpu = min(wall, time.perf_counter() - t), min(cpu, time.process_time() - c)
      rates.append(2 * rows * kdim * ndim / wall / 1e9)
      wall_per_sample += wall / rows
      cpu_per_sample += cpu / rows
    return rates, wall_per_sample, cpu_per_sample

  def run(batch_size, sample_chunk):
    bs, sc = min(batch_size, n), min(sample_chunk, k)
    t = time.perf_counter()  # compile (and one batch) on the same shapes as the timed run
    likelihood.importance_sampled_nll(eval_key, model, params, images[:bs], num_samples=k, batch_size=bs,
                                      sample_chunk=sc)
    compile_s = time.perf_counter() - t
    best, best_cpu, result = math.inf, math.inf, None
    for _ in range(args.repeats):
      t, c = time.perf_counter(), time.process_time()
      result = likelihood.importance_sampled_nll(eval_key, model, params, images, num_samples=k, batch_size=bs,
                                                 sample_chunk=sc, progress=args.progress)
      best, best_cpu = min(best, time.perf_counter() - t), min(best_cpu, time.process_time() - c)
    padded_n = -(-n // bs) * bs
    computed = padded_n * -(-k // sc) * sc  # log-weights actually evaluated (padding, last chunk)
    (r1, r2), wall_per_sample, cpu_per_sample = matmul_rate(bs * sc)
    flop = n * ENC_FLOP + n * k * DEC_FLOP
    bound_s, bound_cpu_s = n * k * wall_per_sample, n * k * cpu_per_sample
    row = {
        "batch_size": bs, "sample_chunk": sc, "wall_s": best, "cpu_s": best_cpu, "compile_and_one_batch_s": compile_s,
        "images_per_s": n / best, "log_weights_per_s": n * k / best,
        "gflop": flop / 1e9, "achieved_gflop_s": flop / best / 1e9,
        "matmul_gflop_s": {"20x500": r1, "500x784": r2},
        "matmul_bound_s": bound_s, "fraction_of_bound": bound_s / best,
        "matmul_bound_cpu_s": bound_cpu_s, "fraction_of_bound_cpu": bound_cpu_s / best_cpu,
        "overhead_log_weights": computed / (n * k) - 1.0,
        "nll_mean": result["nll_mean"], "ess_mean": float(np.mean(result["ess"])),
    }
    print(f"batch {bs:5d} × chunk {sc:5d}: {best:8.2f} s  ({n / best:8.1f} img/s, "
          f"{n * k / best / 1e6:6.3f} M log-w/s, {flop / best / 1e9:6.1f} GFLOP/s; matmul {r1:5.1f}/{r2:5.1f} "
          f"GFLOP/s → bound {bound_s:7.2f} s, reached {100 * bound_s / best:5.1f} %; CPU time {best_cpu:7.2f} s "
          f"vs bound {bound_cpu_s:7.2f} s, {100 * bound_cpu_s / best_cpu:5.1f} %; compile+1 batch {compile_s:5.2f} s)",
          flush=True)
    return row

  print(f"jax {jax.__version__} on {jax.devices()[0].device_kind} ({os.cpu_count()} CPUs, "
        f"{platform.processor() or platform.machine()}), XLA_FLAGS={os.environ.get('XLA_FLAGS', '')!r}")
  print(f"{n} images × K={k}: {n * k / 1e6:.1f} M log-weights, "
        f"{(n * ENC_FLOP + n * k * DEC_FLOP) / 1e12:.3f} TFLOP (decoder {DEC_FLOP} FLOP per sample, encoder "
        f"{ENC_FLOP} per image)", flush=True)
  if args.sweep:
    settings = [(25, 100), (50, 100), (100, 50), (100, 100), (100, 200), (200, 100), (250, 200), (500, 50),
                (50, 500)]
  else:
    settings = [(args.batch_size or likelihood.DEFAULT_BATCH_SIZE,
                 args.sample_chunk or likelihood.DEFAULT_SAMPLE_CHUNK)]
  settings = list(dict.fromkeys((min(bs, n), min(sc, k)) for bs, sc in settings))  # clamped, deduplicated
  rows = [run(bs, sc) for bs, sc in settings]
  best = min(rows, key=lambda r: r["wall_s"])
  scale = 10_000 * 5000 / (n * k)
  cpus = os.cpu_count() or 1
  print(f"best: batch {best['batch_size']} × chunk {best['sample_chunk']}; extrapolated to 10,000 images × "
        f"K=5000: {scale * best['wall_s'] / 60:.1f} min at this run's {best['log_weights_per_s'] / 1e6:.3f} M "
        f"log-weights/s; from its CPU time, ≈ {scale * best['cpu_s'] / cpus / 60:.1f} min on {cpus} idle cores")
  if args.out:
    with open(args.out, "w") as f:
      json.dump({"config": vars(args), "seed": args.seed, "jax": jax.__version__, "jaxlib": jaxlib.__version__,
                 "flax": flax.__version__, "numpy": np.__version__, "python": sys.version.split()[0], "device": jax.devices()[0].device_kind,
                 "cpus": os.cpu_count(), "xla_flags": os.environ.get("XLA_FLAGS", ""), "results": rows}, f,
                indent=2)


if __name__ == "__main__":
  main()
