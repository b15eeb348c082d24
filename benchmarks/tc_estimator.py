"""β-TCVAE's minibatch estimate of q(z): the library's blocked form against the direct ``[batch, batch, latent]`` one.

    .venv/bin/python -m benchmarks.tc_estimator [--rounds 5] [--members 5] [--batches 256 1024] [--name NAME]
    .venv/bin/python -m benchmarks.tc_estimator --study-update --baseline /path/to/other/checkout [--rounds 3]

Times the value and gradient (w.r.t. z, means and log-variances) of ``Σ (mi + tc + dwkl)`` from
``vae_jax.losses.tc_decomposition`` — the part of a β-TCVAE update that grows with the batch squared — vmapped over
``--members`` models as a sweep trains them, for both estimators, against the direct form the library used before
(every pairwise density materialised at once, ``[i, j, d]`` layout; written out below as the baseline). Rounds
interleave the contenders; prints the median ms per evaluation, the ratio, the largest difference of the two
forms' gradients relative to their scale, and the load average; ``--name`` also writes them, with the command, date,
CPU and versions, to ``benchmarks/results/NAME.json``. Codes: 10 latents, posterior means near the
samples, log-variances near −2 (a trained code's scale).

``--study-update``: the whole update instead — the fused program the sweep loop runs for the disentanglement
study's β-TCVAE sweep (``--size``, default ``cpu1024_mss_beta2``: 5 members at batch 1,024, stratified
estimator; forward, backward, Adam, sprites rendered inside), ``--steps`` updates per call, timed over 2 calls
after a compiling one in a fresh process per round and contender: this checkout, and ``--baseline DIR`` (another
checkout's ``vae_jax`` and ``experiments``, e.g. a ``git worktree`` of the commit before) in the same rounds; the
ratio is the median of the per-round ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np

from vae_jax import losses

_N = 737_280  # the sprites' combinations


def direct(z, mean, logvar, *, dataset_size, estimator):
  """The direct form: ``[i, j, d]`` pairwise densities built whole (vae_jax before the blocked form)."""
  m, n = z.shape[0], float(dataset_size)
  pair = losses.gaussian_log_density(z[:, None, :], mean[None, :, :], logvar[None, :, :], sum_last=False)
  if estimator == "mws":
    log_w = jnp.full((m, m), -np.log(n * m), z.dtype)
  else:
    log_w = jnp.where(jnp.eye(m, dtype=bool), -np.log(n), np.log((n - 1.0) / (n * (m - 1)))).astype(z.dtype)
  log_qz = jax.nn.logsumexp(jnp.sum(pair, axis=-1) + log_w, axis=1)
  log_prod_qzd = jnp.sum(jax.nn.logsumexp(pair + log_w[:, :, None], axis=1), axis=-1)
  log_qz_x = losses.gaussian_log_density(z, mean, logvar)
  log_pz = losses.gaussian_log_density(z, jnp.zeros_like(z), jnp.zeros_like(z))
  return {"mi": log_qz_x - log_qz, "tc": log_qz - log_prod_qzd, "dwkl": log_prod_qzd - log_pz}


def _objective(fn, estimator):
  def total(z, mean, logvar):
    parts = fn(z, mean, logvar, dataset_size=_N, estimator=estimator)
    return jnp.sum(parts["mi"] + 2.0 * parts["tc"] + parts["dwkl"])
  return jax.jit(jax.vmap(jax.value_and_grad(total, argnums=(0, 1, 2))))


def study_update(steps: int, calls: int, size: str = "cpu1024_mss_beta2") -> dict:
  """Images/s of the study's β-TCVAE sweep program (run in a worker process whose ``vae_jax`` is the checkout's).

  It builds the program as ``benchmarks.sweep._program`` does, from the library's ``_Setup`` and
  ``engine.make_sweep_multi_step`` alone, instead of importing a helper shared with that module: the worker runs with
  the baseline checkout first on ``PYTHONPATH``, and that checkout's ``benchmarks`` may predate any such helper,
  while those two library entry points exist in every checkout since the sweep engine."""
  from experiments.configs import disentanglement_study as study  # noqa: PLC0415
  from vae_jax import sweep  # noqa: PLC0415
  from vae_jax.sweep import engine  # noqa: PLC0415
  from vae_jax.sweep.run import _Setup  # noqa: PLC0415

  cfg = study.get_config(size)
  _, _, base, grid = next(s for s in study.sweeps(cfg, ["beta_tcvae"]) if s[1] == "beta_tcvae")
  spec = sweep.make_sweep(base, dict([grid]), seeds=range(cfg.seeds))
  setup = _Setup(spec)
  fn = engine.make_sweep_multi_step(spec.base, setup.model, setup.dataset_size, setup.mesh, num_steps=steps,
                                    data_shared=True, loop="scan", mask=False)
  state = setup.initial_state()
  fixed = (setup.hparams(), setup.data, setup.source(0, steps * (calls + 1)), setup.key_data("train"))
  times = []
  for call in range(calls + 1):
    t0 = time.perf_counter()
    state = jax.block_until_ready(fn(state, *fixed, jnp.int32(call * steps))[0])
    times.append(time.perf_counter() - t0)
  images = steps * base.batch_size * len(spec.members())
  return {"images_per_s": images / statistics.median(times[1:]), "first_call_s": times[0], "members":
          len(spec.members()), "batch": base.batch_size, "estimator": spec.base.method.estimator}


def _study_rounds(args) -> dict:
  """``--study-update``: this checkout and the baseline, a fresh worker process each per round, order alternated."""
  from benchmarks import records  # noqa: PLC0415

  runs = records.checkout_rounds(__file__, [str(args.steps), "--size", args.size], "tc", args.rounds, args.baseline,
                                 lambda rec: f"{rec['images_per_s']:,.0f} images/s")
  rates = {name: [rec["images_per_s"] for rec in recs] for name, recs in runs.items()}
  out = {name: {"images_per_s": rs, "median": statistics.median(rs)} for name, rs in rates.items()}
  if args.baseline:
    out["ratio_per_round"] = [a / b for a, b in zip(rates["this checkout"], rates["baseline"])]
    out["ratio_median"] = statistics.median(out["ratio_per_round"])
    print(f"this checkout × baseline: {out['ratio_median']:.2f} (per round "
          f"{', '.join(f'{x:.2f}' for x in out['ratio_per_round'])})")
  return out


def _micro(args) -> dict:
  """The decomposition alone: both forms, both estimators, each batch size (the table in the docstring)."""
  out = {}
  print(f"β-TCVAE q(z) estimate, value + gradient, {args.members} members vmapped, {args.latents} latents; "
        f"{args.rounds} rounds; {jax.devices()[0].device_kind}")
  print("| estimator | batch | direct ms (median) | blocked ms (median) | × direct | max grad diff / grad scale |")
  print("|---|---|---|---|---|---|")
  for estimator in losses.TC_ESTIMATORS:
    for m in args.batches:
      k = jax.random.split(jax.random.key(m), 3)
      shape = (args.members, m, args.latents)
      z = jax.random.normal(k[0], shape)
      mean = z + 0.3 * jax.random.normal(k[1], shape)
      logvar = -2.0 + 0.5 * jax.random.normal(k[2], shape)
      fns = {"direct": _objective(direct, estimator), "blocked": _objective(losses.tc_decomposition, estimator)}
      res = {name: jax.block_until_ready(f(z, mean, logvar)) for name, f in fns.items()}
      scale = max(float(jnp.max(jnp.abs(g))) for g in res["direct"][1])
      diff = max(float(jnp.max(jnp.abs(a - b))) for a, b in zip(res["direct"][1], res["blocked"][1]))
      times = {name: [] for name in fns}
      for _ in range(args.rounds):
        for name, f in fns.items():
          t0 = time.perf_counter()
          jax.block_until_ready(f(z, mean, logvar))
          times[name].append(time.perf_counter() - t0)
      med = {name: statistics.median(ts) for name, ts in times.items()}
      out[f"{estimator}@{m}"] = {**{f"{n}_ms": v * 1e3 for n, v in med.items()},
                                 "speedup": med["direct"] / med["blocked"], "grad_rel_diff": diff / scale}
      print(f"| {estimator} | {m} | {med['direct'] * 1e3:.0f} | {med['blocked'] * 1e3:.0f} | "
            f"{med['direct'] / med['blocked']:.2f} | {diff / scale:.1e} |", flush=True)
  return out


def main(argv: list[str] | None = None) -> dict:
  p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  p.add_argument("--rounds", type=int, default=5)
  p.add_argument("--members", type=int, default=5)
  p.add_argument("--batches", type=int, nargs="+", default=[256, 1024])
  p.add_argument("--latents", type=int, default=10)
  p.add_argument("--name", default=None, help="write benchmarks/results/NAME.json (refused if it exists)")
  p.add_argument("--out-dir", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "results"))
  p.add_argument("--study-update", action="store_true", help="time the study's whole β-TCVAE sweep update instead")
  p.add_argument("--baseline", default=None, metavar="DIR", help="with --study-update: another checkout, same rounds")
  p.add_argument("--steps", type=int, default=4, help="with --study-update: updates per timed call")
  p.add_argument("--size", default="cpu1024_mss_beta2", help="with --study-update: the study size whose β-TCVAE "
                 "sweep is timed")
  p.add_argument("--worker", type=int, default=None, help=argparse.SUPPRESS)
  args = p.parse_args(argv)
  if args.worker is not None:
    record = study_update(args.worker, 2, args.size)
    print("@@tc " + json.dumps(record), flush=True)
    return record
  from experiments import arg_types  # noqa: PLC0415  (here, not at the top: see experiments.arg_types)

  arg_types.require(p, args, rounds=1, members=1, batches=1, latents=1, steps=1)
  from benchmarks import records  # noqa: PLC0415  (not at the top: a worker imports this file beside an older checkout)

  path = records.path(args)
  load, t0 = os.getloadavg(), time.perf_counter()
  out = _study_rounds(args) if args.study_update else _micro(args)
  print(f"load average {load[0]:.1f} at the start, {os.getloadavg()[0]:.1f} at the end")
  if path:
    records.write(path, module="benchmarks.tc_estimator", argv=argv, args=args, wall_s=time.perf_counter() - t0,
                  load_start=load, results=out)
  return out


if __name__ == "__main__":
  main()
