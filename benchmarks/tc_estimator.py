"""β-TCVAE's minibatch estimate of q(z): the library's blocked form against the direct ``[batch, batch, latent]`` one.

    .venv/bin/python -m benchmarks.tc_estimator [--rounds 5] [--members 5] [--batches 256 1024] [--name NAME]

Times the value and gradient (w.r.t. z, means and log-variances) of ``Σ (mi + tc + dwkl)`` from
``vae_jax.losses.tc_decomposition`` — the part of a β-TCVAE update that grows with the batch squared — vmapped over
``--members`` models as a sweep trains them, for both estimators, against the direct form the library used before
(every pairwise density materialised at once, ``[i, j, d]`` layout; written out below as the baseline). Rounds
interleave the contenders; prints the median ms per evaluation, the ratio, the largest difference of the two
forms' gradients relative to their scale, and the load average; ``--name`` also writes them, with the command, date,
CPU and versions, to ``benchmarks/results/NAME.json``. Codes: 10 latents, posterior means near the
samples, log-variances near −2 (a trained code's scale).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shlex
import statistics
import sys
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


def main(argv: list[str] | None = None) -> dict:
  p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  p.add_argument("--rounds", type=int, default=5)
  p.add_argument("--members", type=int, default=5)
  p.add_argument("--batches", type=int, nargs="+", default=[256, 1024])
  p.add_argument("--latents", type=int, default=10)
  p.add_argument("--name", default=None, help="write benchmarks/results/NAME.json (refused if it exists)")
  p.add_argument("--out-dir", default=os.path.join(os.path.dirname(__file__), "results"))
  args = p.parse_args(argv)
  path = os.path.join(args.out_dir, f"{args.name}.json") if args.name else None
  if path and os.path.exists(path):
    raise SystemExit(f"{path} exists: pick another --name (results are never overwritten).")
  load, out, t0 = os.getloadavg(), {}, time.perf_counter()
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
  end_load = os.getloadavg()
  print(f"load average {load[0]:.1f} at the start, {end_load[0]:.1f} at the end")
  if path:
    from benchmarks import run  # noqa: PLC0415

    record = {"name": args.name, "command": " ".join(shlex.quote(a) for a in [
                  sys.executable, "-m", "benchmarks.tc_estimator", *(sys.argv[1:] if argv is None else argv)]),
              "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
              "machine": {"processor": run._cpu_model(), "cpu_count": os.cpu_count(), "jax": jax.__version__,
                          "device": jax.devices()[0].device_kind, "loadavg_start": load, "loadavg_end": end_load},
              "args": vars(args), "wall_s": time.perf_counter() - t0, "results": out}
    os.makedirs(args.out_dir, exist_ok=True)
    with open(path, "w") as f:
      json.dump(record, f, indent=2)
    print(f"wrote {path}")
  return out


if __name__ == "__main__":
  main()
