"""Batched inference of the conv VAE on a CPU with and without one malloc arena from the start (issue #16).

    .venv/bin/python -m benchmarks.host_memory [--images 4000] [--batch 1000] [--rounds 3] [--name NAME]

Each round runs two fresh processes, alternating which goes first: ``vae_jax.inference.reconstruct`` of
``images`` random 64×64 images through Higgins' conv VAE (the disentanglement study's net), ``batch`` images per
call, three passes after a warm-up. One process calls :func:`vae_jax.host_memory.one_arena` before JAX's first
computation (as ``import experiments`` does); the other runs with ``VAE_JAX_KEEP_FREED_MEMORY=0`` (glibc's
defaults). Prints and records the median seconds per pass and the minor page faults per call
(``vae_jax/host_memory.py`` says why they matter).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

MODES = ("one_arena", "glibc_default")


def measure(images: int, batch: int) -> dict:
  import resource  # noqa: PLC0415

  from vae_jax import host_memory  # noqa: PLC0415

  applied = host_memory.one_arena()  # before any computation; a no-op under VAE_JAX_KEEP_FREED_MEMORY=0
  import jax  # noqa: PLC0415
  import jax.numpy as jnp  # noqa: PLC0415
  import numpy as np  # noqa: PLC0415

  from vae_jax import configs, factory, inference  # noqa: PLC0415

  shape = (64, 64, 1)
  model = factory.make_model(configs.ModelConfig(kind="vae", architecture="conv", conv_channels=(32, 32, 64, 64),
                                                 conv_dense=(256,), latent_dim=10), shape)
  params = jax.jit(model.init)(jax.random.key(0), jnp.zeros((2, *shape)))["params"]
  x = np.random.default_rng(0).random((images, *shape), dtype=np.float32)
  inference.reconstruct(model, params, x[:batch], batch_size=batch)  # compiles
  faults, passes = resource.getrusage(resource.RUSAGE_SELF).ru_minflt, []
  for _ in range(3):
    t0 = time.perf_counter()
    inference.reconstruct(model, params, x, batch_size=batch)
    passes.append(time.perf_counter() - t0)
  calls = 3 * -(-images // batch)
  return {"one_arena": applied, "pass_s": passes,
          "faults_per_call": (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults) / calls}


def main(argv: list[str] | None = None) -> dict:
  p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  p.add_argument("--images", type=int, default=4000)
  p.add_argument("--batch", type=int, default=1000)
  p.add_argument("--rounds", type=int, default=3)
  p.add_argument("--name", default=None, help="write benchmarks/results/NAME.json (refused if it exists)")
  p.add_argument("--out-dir", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "results"))
  p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
  args = p.parse_args(argv)
  if args.worker:
    print("@@host_memory " + json.dumps(measure(args.images, args.batch)), flush=True)
    return {}
  from experiments import arg_types  # noqa: PLC0415  (here, not at the top: see experiments.arg_types)

  arg_types.require(p, args, images=1, batch=1, rounds=1)
  from benchmarks import records  # noqa: PLC0415

  path, t0, load = records.path(args), time.perf_counter(), os.getloadavg()
  runs: dict[str, list[dict]] = {m: [] for m in MODES}
  for r in range(args.rounds):
    for mode in (MODES if r % 2 == 0 else MODES[::-1]):
      env = {**os.environ, "VAE_JAX_KEEP_FREED_MEMORY": "1" if mode == "one_arena" else "0"}
      out = subprocess.run([sys.executable, "-m", "benchmarks.host_memory", "--worker", "--images", str(args.images),
                            "--batch", str(args.batch)], env=env, capture_output=True, text=True, check=True,
                           cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__)))).stdout
      rec = json.loads(next(line for line in out.splitlines() if line.startswith("@@host_memory "))[14:])
      runs[mode].append(rec)
      print(f"round {r + 1}/{args.rounds} {mode:14s} {statistics.median(rec['pass_s']):.2f} s per pass, "
            f"{rec['faults_per_call']:,.0f} page faults per call", flush=True)
  out = {m: {"pass_s": statistics.median(statistics.median(r["pass_s"]) for r in rs),
             "faults_per_call": statistics.median(r["faults_per_call"] for r in rs), "runs": rs}
         for m, rs in runs.items()}
  ratio = statistics.median(statistics.median(d["pass_s"]) / statistics.median(a["pass_s"])
                            for a, d in zip(runs["one_arena"], runs["glibc_default"], strict=True))
  out["speedup_one_arena"] = ratio
  print(f"\n{args.images} images, batch {args.batch}; load average at start {load[0]:.2f}: one arena "
        f"{out['one_arena']['pass_s']:.2f} s per pass, glibc's default {out['glibc_default']['pass_s']:.2f} s; "
        f"× {ratio:.2f} (median of the rounds' ratios)")
  if path:
    records.write(path, module="benchmarks.host_memory", argv=argv, args=args, wall_s=time.perf_counter() - t0,
                  load_start=load, results=out)
  return out


if __name__ == "__main__":
  main()
