"""DCI's classifiers one after another vs in threads (``vae_jax.evaluation.dci``'s ``workers``): seconds per score.

    .venv/bin/python -m benchmarks.dci [--train 3000] [--test 1500] [--estimators 20] [--rounds 3] [--name N]

DCI fits one gradient-boosted-trees classifier per factor; at disentanglement_lib's sizes (10,000 / 5,000 codes, 100
stages) on dSprites' factors that is minutes per model, the largest part of a study's scoring. The classifiers are
independent and sklearn builds trees without holding the GIL, so ``dci`` fits them in threads. This script scores the
same codes both ways in each round (order alternated), checks the scores are equal, and prints the median seconds
and the median of the rounds' ratios. Codes: 10 latents, five of them a noisy copy of dSprites' five factors (3
shapes, 6 scales, 40 orientations, 32 × 32 positions) and five noise — a stand-in whose cost, not whose score,
matters here. ``--name`` writes ``benchmarks/results/NAME.json`` (``benchmarks.records``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

FACTOR_SIZES = (3, 6, 40, 32, 32)  # dSprites' factors without colour


def codes(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
  """``[n, 10]`` codes and ``[n, 5]`` factors: each factor's value, scaled and noised, in one latent; five noise."""
  rng = np.random.default_rng(seed)
  factors = np.stack([rng.integers(0, s, n) for s in FACTOR_SIZES], axis=1)
  signal = factors / np.asarray(FACTOR_SIZES) + 0.05 * rng.normal(size=factors.shape)
  return np.concatenate([signal, rng.normal(size=(n, 5))], axis=1), factors


def main(argv: list[str] | None = None) -> dict:
  p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  p.add_argument("--train", type=int, default=3000, help="training codes (disentanglement_lib: 10000)")
  p.add_argument("--test", type=int, default=1500, help="test codes (disentanglement_lib: 5000)")
  p.add_argument("--estimators", type=int, default=20, help="boosting stages (disentanglement_lib: 100)")
  p.add_argument("--rounds", type=int, default=3)
  p.add_argument("--name", default=None, help="write benchmarks/results/NAME.json (refused if it exists)")
  p.add_argument("--out-dir", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "results"))
  args = p.parse_args(argv)
  from experiments import arg_types  # noqa: PLC0415  (here, not at the top: see experiments.arg_types)

  arg_types.require(p, args, train=1, test=1, estimators=1, rounds=1)
  from benchmarks import records  # noqa: PLC0415
  from vae_jax.evaluation import dci  # noqa: PLC0415
  from vae_jax.evaluation.dci import default_workers  # noqa: PLC0415

  path, t0, load = records.path(args), time.perf_counter(), os.getloadavg()
  (tr, ftr), (te, fte) = codes(args.train, 0), codes(args.test, 1)
  modes = {"one after another": 1, "threads": None}
  seconds: dict[str, list[float]] = {m: [] for m in modes}
  scores = {}
  for r in range(args.rounds):
    for mode in (list(modes) if r % 2 == 0 else list(modes)[::-1]):
      t = time.perf_counter()
      out = dci(tr, ftr, te, fte, n_estimators=args.estimators, workers=modes[mode])
      seconds[mode].append(time.perf_counter() - t)
      scores[mode] = {k: np.asarray(v).tolist() for k, v in out.items()}
      print(f"round {r + 1}/{args.rounds} {mode:18s} {seconds[mode][-1]:.2f} s", flush=True)
  if scores["threads"] != scores["one after another"]:
    raise SystemExit("dci: the threaded scores differ from the sequential ones")
  ratio = statistics.median(a / b for a, b in zip(seconds["one after another"], seconds["threads"], strict=True))
  result = {"seconds": seconds, "median_s": {m: statistics.median(s) for m, s in seconds.items()},
            "speedup_threads": ratio, "threads": default_workers(len(FACTOR_SIZES)),
            "scores_equal": True, "disentanglement": scores["threads"]["disentanglement"]}
  print(f"\n{args.train}/{args.test} codes, {args.estimators} stages, {result['threads']} threads, load average at "
        f"start {load[0]:.2f}: one after another {result['median_s']['one after another']:.2f} s, threads "
        f"{result['median_s']['threads']:.2f} s; × {ratio:.2f} (median of the rounds' ratios); scores equal")
  if path:
    records.write(path, module="benchmarks.dci", argv=argv, args=args, wall_s=time.perf_counter() - t0,
                  load_start=load, results=result)
  return result


if __name__ == "__main__":
  main()
