"""A disentanglement-study sweep's fixed costs on this backend: its first chunk (compilation) against its steady rate,
and the β-VAE + FactorVAE metrics' interventions at several chunk sizes.

    python -m benchmarks.study_startup [--size gpu_lease] [--steps 5000] [--seeds 5] [--chunks 256 4096] [--out F]

Sizes a GPU lease for ``experiments.disentanglement_study``: the first lease of the ``gpu_lease`` size (2026-12-04,
``experiments/results/gpu/README.md``) spent ≈ 100 s in the first 1,000-update chunk of a 10-member conv sweep and
30–45 s per member in the interventions, at 256 images per encoder call. This script trains the size's β-VAE sweep
(every β of its grid × ``--seeds``) for ``--steps`` updates in a temporary folder (``vae_jax.sweep.train_sweep``:
``first_call_s`` is the first chunk, compilation included; ``images_per_sec`` the later chunks'), then times the two
intervention metrics on member 0's parameters at each ``--chunks`` size (the same draws, so the scores must agree)
at ``--points`` training points. Run it under different ``XLA_FLAGS`` to compare compilers' settings. Prints one
JSON record, also written to ``--out``, and logs each phase as it ends (a run cut by a lease's limit still says
how far it got).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import tempfile
import time

import jax

from experiments.configs import disentanglement_study as study
from vae_jax import factory, inference, sweep, train
from vae_jax.evaluation.beta_vae_metric import beta_vae_metric
from vae_jax.evaluation.factor_vae_metric import factor_vae_metric

logger = logging.getLogger("benchmarks.study_startup")


def main(argv: list[str] | None = None) -> dict:
  p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  p.add_argument("--size", default="gpu_lease", choices=study.SIZES)
  p.add_argument("--steps", type=int, default=5000, help="updates (a multiple of 5 × the size's log_every)")
  p.add_argument("--seeds", type=int, default=5)
  p.add_argument("--points", type=int, default=2000, help="β-VAE/FactorVAE metric training points (half to eval)")
  p.add_argument("--chunks", type=int, nargs="+", default=[256, 4096], help="images per encoder call")
  p.add_argument("--out", default=None, help="also write the record here")
  args = p.parse_args(argv)
  from experiments import arg_types  # noqa: PLC0415  (here, not at the top: see experiments.arg_types)

  arg_types.require(p, args, steps=1, seeds=1, points=1, chunks=1)
  logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", force=True)
  t0 = time.perf_counter()
  cfg = study.get_config(args.size, args.steps)
  name, method, base, grid = study.sweeps(cfg, [cfg.reference[0]])[0]
  spec = study.sweep_spec(base, grid, range(args.seeds))
  with tempfile.TemporaryDirectory() as tmp:
    res = sweep.train_sweep(spec, os.path.join(tmp, name))
  record = {"size": args.size, "sweep": name, "members": len(spec.members()), "steps": args.steps,
            "log_every": cfg.log_every, "xla_flags": os.environ.get("XLA_FLAGS", ""),
            "environment": train.environment(), "sweep_wall_s": res["wall_time_s"],
            "first_call_s": res["first_call_s"], "images_per_sec": res["images_per_sec"]}
  logger.info("sweep trained: %s", json.dumps({k: v for k, v in record.items() if k != "environment"}, default=str))
  model = factory.make_model(base.model, (cfg.resolution, cfg.resolution, 1))
  params = jax.tree_util.tree_map(lambda a: a[0], res["state"].members.params)
  represent, sampler, n = inference.code_fn(model, params), study.sampler(cfg), args.points
  record["interventions"] = []
  for rnd in range(2):  # the first round compiles each chunk size's encoder
    for chunk in args.chunks:
      t = time.perf_counter()
      b = beta_vae_metric(jax.random.key(1), represent, sampler, num_train=n, num_eval=n // 2, chunk_size=chunk)
      f = factor_vae_metric(jax.random.key(2), represent, sampler, num_train=n, num_eval=n // 2,
                            num_variance_estimate=n, chunk_size=chunk)
      record["interventions"].append({"round": rnd, "chunk": chunk, "seconds": time.perf_counter() - t,
                                      "beta_vae_metric": b["eval_accuracy"], "factor_vae_metric": f["eval_accuracy"]})
      logger.info("interventions: %s", record["interventions"][-1])
  record["wall_s"] = time.perf_counter() - t0
  text = json.dumps(record, indent=1, default=str)
  if args.out:
    with open(args.out, "w") as fh:
      fh.write(text)
  print(text)
  return record


if __name__ == "__main__":
  main()
