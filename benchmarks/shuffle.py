"""An epoch's shuffle: ``jax.random.permutation`` (XLA's sort) against the host-sorted one the loop uses.

    .venv/bin/python -m benchmarks.shuffle [--sizes 10000 60000] [--rounds 15]

The real loop and the sweep runner shuffle the training set once per epoch (``ArrayBatches.with_permutations``).
Contenders, each on ``fold_in(key, round)`` so no call repeats another's input, rounds interleaved:

* ``xla``: ``jax.jit(jax.random.permutation)`` — the library's shuffle before ``vae_jax.train.shuffle``;
* ``host``: :func:`vae_jax.train.shuffle.permutation` — the same random keys drawn by JAX, sorted on the host.

Both are checked equal, bit for bit, on every round before the times count. Prints the median ms per shuffle, the
ratio, and the share of one epoch of the MLP benchmark's real loop the difference is at a given images/s
(``--images-per-s``, default the 2026-12-07 Intel VM's 30,363 at batch 128: ``results/mlp-flat-gather-2026-12-07.md``).
"""

from __future__ import annotations

import argparse
import statistics
import time


def measure(n: int, rounds: int) -> dict:
  import jax  # noqa: PLC0415
  import numpy as np  # noqa: PLC0415

  from vae_jax.train import fast_key, shuffle  # noqa: PLC0415

  xla = jax.jit(jax.random.permutation, static_argnums=1)
  base = fast_key(jax.random.key(0))
  contenders = {"xla": lambda k: np.asarray(xla(k, n)), "host": lambda k: shuffle.permutation(k, n)}
  for run in contenders.values():
    run(base)  # compile
  times = {name: [] for name in contenders}
  for r in range(rounds):
    key, out = jax.random.fold_in(base, r), {}
    for name, run in contenders.items():
      t = time.perf_counter()
      out[name] = run(key)
      times[name].append(time.perf_counter() - t)
    np.testing.assert_array_equal(out["host"], out["xla"], err_msg=f"n={n}, round {r}: the shuffles differ")
  row = {"n": n, "rounds": rounds, "rounds_of_sort": shuffle.num_rounds(n)}
  for name, ts in times.items():
    row[f"{name}_ms"] = 1e3 * statistics.median(ts)
  row["xla_over_host"] = row["xla_ms"] / row["host_ms"]
  return row


def main(argv=None) -> list[dict]:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 60_000])
  parser.add_argument("--rounds", type=int, default=15)
  parser.add_argument("--images-per-s", type=float, default=30_363.0,
                      help="the real loop's speed, to express the saving as a share of one epoch")
  args = parser.parse_args(argv)
  from experiments import arg_types  # noqa: PLC0415  (here, not at the top: see experiments.arg_types)

  arg_types.require(parser, args, sizes=1, rounds=1)
  rows = []
  for n in args.sizes:
    row = measure(n, args.rounds)
    epoch_ms = 1e3 * n / args.images_per_s
    row["saved_share_of_epoch"] = (row["xla_ms"] - row["host_ms"]) / epoch_ms
    rows.append(row)
    print(f"n={n:>8,}  xla {row['xla_ms']:8.2f} ms  host {row['host_ms']:7.2f} ms"
          f"  xla/host {row['xla_over_host']:6.1f}×"
          f"  saved {100 * row['saved_share_of_epoch']:.1f} % of an epoch at {args.images_per_s:,.0f} images/s"
          f"  (median of {args.rounds}, bit-equal)")
  return rows


if __name__ == "__main__":
  main()
