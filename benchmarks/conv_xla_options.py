"""The conv β-VAE's update under XLA:CPU's library-fusion options (issue #16's lead: "XLA:CPU flags that the library
can set safely for its own computations").

    .venv/bin/python -m benchmarks.conv_xla_options [--rounds 8] [--flax-layers]

Compiles one update of the benchmark's conv β-VAE (``benchmarks.profile_conv``'s: Higgins et al.'s net, 64×64
sprites rendered in the step, β = 4, Adam, batch 64) once per option set — passed as ``jax.jit(...,
compiler_options=...)`` to that function only, as ``vae_jax.evaluation.likelihood`` does for the IS-NLL — and times
them interleaved: each round runs every variant for 4 updates after one warm-up update; prints the median ms per
update over rounds, the ratio to XLA's defaults, the loss of the first update (an option that changes it took
effect) and the load average. ``--flax-layers``: the same with Flax's ``nn.Conv`` encoder (no space-to-depth
rewrite), to see whether a library convolution makes the rewrites unnecessary.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

OPTIONS = {
    "XLA defaults": None,
    "YNN dots": {"xla_cpu_experimental_ynn_fusion_type": "LIBRARY_FUSION_TYPE_INDIVIDUAL_DOT"},
    "YNN convolutions": {"xla_cpu_experimental_ynn_fusion_type": "LIBRARY_FUSION_TYPE_INDIVIDUAL_CONVOLUTION"},
    "YNN dots + convolutions": {"xla_cpu_experimental_ynn_fusion_type":
                                "LIBRARY_FUSION_TYPE_INDIVIDUAL_CONVOLUTION,LIBRARY_FUSION_TYPE_INDIVIDUAL_DOT"},
    "XNN convolutions": {"xla_cpu_experimental_xnn_fusion_type": "LIBRARY_FUSION_TYPE_INDIVIDUAL_CONVOLUTION"},
    "oneDNN": {"xla_cpu_use_onednn": True},
}


def main(argv: list[str] | None = None) -> dict:
  p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  p.add_argument("--rounds", type=int, default=8)
  p.add_argument("--batch", type=int, default=64)
  p.add_argument("--flax-layers", action="store_true")
  args = p.parse_args(argv)
  from experiments import arg_types  # noqa: PLC0415  (here, not at the top: see experiments.arg_types)

  arg_types.require(p, args, rounds=1, batch=1)

  import jax  # noqa: PLC0415

  from benchmarks import conv_jax  # noqa: PLC0415

  update, state0, key = conv_jax.one_update(args.batch, flax_layers=args.flax_layers)
  compiled, first_loss = {}, {}
  for name, opts in OPTIONS.items():
    try:
      compiled[name] = jax.jit(update, compiler_options=opts).lower(state0, key).compile()
    except Exception as e:  # noqa: BLE001  (an option this jaxlib does not know: reported, not fatal)
      print(f"{name}: not compiled ({type(e).__name__}: {str(e)[:120]})")
      continue
    first_loss[name] = float(compiled[name](state0, key)[1]["loss"])
  times: dict[str, list[float]] = {n: [] for n in compiled}
  load = os.getloadavg()
  for _ in range(args.rounds):
    for name, fn in compiled.items():
      state, m = fn(state0, key)
      jax.block_until_ready(m)
      t0 = time.perf_counter()
      for _ in range(4):
        state, m = fn(state, key)
      jax.block_until_ready(m)
      times[name].append((time.perf_counter() - t0) / 4)
  base = statistics.median(times["XLA defaults"])
  print(f"conv β-VAE update, batch {args.batch}, {'nn.Conv encoder' if args.flax_layers else 'library layers'}; "
        f"{args.rounds} rounds; load average {load[0]:.1f} at the start, {os.getloadavg()[0]:.1f} at the end")
  print("| XLA:CPU options | ms per update, median (min–max) | × defaults | first update's loss |")
  print("|---|---|---|---|")
  for name, ts in times.items():
    med = statistics.median(ts)
    print(f"| {name} | {med * 1e3:.0f} ({min(ts) * 1e3:.0f}–{max(ts) * 1e3:.0f}) | {base / med:.2f} | "
          f"{first_loss[name]:.4f} |")
  return {n: statistics.median(ts) for n, ts in times.items()}


if __name__ == "__main__":
  main()
