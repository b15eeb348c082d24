"""Sprites rendered once (:mod:`vae_jax.fusion_barrier`) against XLA:CPU re-rendering them inside each consumer.

    .venv/bin/python -m benchmarks.fusion_barrier [--rounds 6] [--calls 5] [--conv-steps 8] [--members 8]
                                                  [--sweep-steps 8]

Two of the library's programs that render sprites in the step, each run in fresh processes with
``VAE_JAX_FUSION_BARRIER=0`` (the renderer fused into its consumers, as before) and ``1`` (rendered once behind the
barrier) — a process per variant and round, the order alternating between rounds, as a user's run is one program
in one process (two variants compiled in one process measured 1.01× where fresh processes measured 1.09×: the
process each program runs in is part of what is timed):

* ``conv``: ``benchmarks.conv_jax.ConvSprites`` — the conv β-VAE of ``python -m benchmarks.run --only conv``
  (oneDNN's convolutions where built, the scanned loop), ``--conv-steps`` updates of 64 per call;
* ``higgins_sweep``: the fused program of ``benchmarks.sweep``'s ``higgins_sprites`` case (the disentanglement
  study's Higgins MLP on 64×64 sprites, batch 64) for ``--members`` vmapped members, ``--sweep-steps`` updates per
  call.

A process compiles its variant, runs it once, then times ``--calls`` calls (its figure: their median images/s) and
hashes the parameters it ends with: both variants start from the same state and keys, so equal hashes say the
barrier changed no bit of the training. Prints images/s (medians over rounds) and the per-round ratio with the
barrier to without.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import time

SWITCH = "VAE_JAX_FUSION_BARRIER"


class _Conv:
  def __init__(self, steps: int):
    from benchmarks import conv_jax  # noqa: PLC0415

    self.contender = conv_jax.ConvSprites(64, steps)
    self.contender.setup()  # compiles and runs a first call

  def images_per_s(self) -> float:
    return self.contender.run()["images_per_s"]

  def params(self):
    return self.contender.state.params


class _Sweep:
  def __init__(self, members: int, steps: int, span: int):
    import jax  # noqa: PLC0415

    from benchmarks import sweep  # noqa: PLC0415

    self.fn, self.args, self.next_args, _, _ = sweep._program("higgins_sprites", members, steps, span)
    self.images, self.call = steps * 64 * members, 0
    self.out = jax.block_until_ready(self.fn(*self.args))  # compiles

  def images_per_s(self) -> float:
    import jax  # noqa: PLC0415

    self.call += 1
    self.args = self.next_args(self.args, self.out, self.call)
    t = time.perf_counter()
    self.out = jax.block_until_ready(self.fn(*self.args))
    return self.images / (time.perf_counter() - t)

  def params(self):
    return self.out[0].members.params


def _digest(params) -> str:
  import jax  # noqa: PLC0415
  import numpy as np  # noqa: PLC0415

  h = hashlib.sha256()
  for leaf in jax.tree_util.tree_leaves(jax.device_get(params)):
    h.update(np.ascontiguousarray(leaf).tobytes())
  return h.hexdigest()


def worker(case: str, calls: int, conv_steps: int, members: int, sweep_steps: int) -> dict:
  """One variant in this process (the switch is this process's environment): compile, one call, ``calls`` timed."""
  built = _Conv(conv_steps) if case == "conv" else _Sweep(members, sweep_steps, sweep_steps * (calls + 2))
  speeds = [built.images_per_s() for _ in range(calls)]
  return {"images_per_s": statistics.median(speeds), "params_sha256": _digest(built.params())}


def _run_worker(case: str, switch: str, args) -> dict:
  cmd = [sys.executable, "-m", "benchmarks.fusion_barrier", "--worker", case, "--calls", str(args.calls),
         "--conv-steps", str(args.conv_steps), "--members", str(args.members), "--sweep-steps", str(args.sweep_steps)]
  out = subprocess.run(cmd, env={**os.environ, SWITCH: switch}, capture_output=True, text=True,
                       cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
  lines = [line for line in out.stdout.splitlines() if line.startswith("@@result ")]
  if out.returncode or not lines:
    raise RuntimeError(f"the {case} worker ({SWITCH}={switch}) failed:\n{out.stderr[-3000:]}")
  return json.loads(lines[-1][len("@@result "):])


def measure(case: str, args) -> dict:
  speeds: dict[str, list[float]] = {"0": [], "1": []}
  digests = set()
  for r in range(args.rounds):
    for switch in (("0", "1") if r % 2 == 0 else ("1", "0")):
      res = _run_worker(case, switch, args)
      speeds[switch].append(res["images_per_s"])
      digests.add(res["params_sha256"])
  ratios = sorted(b / a for a, b in zip(speeds["0"], speeds["1"]))
  return {"case": case, "rounds": args.rounds, "fused_images_per_s": statistics.median(speeds["0"]),
          "barrier_images_per_s": statistics.median(speeds["1"]), "ratio": statistics.median(ratios),
          "ratio_min": ratios[0], "ratio_max": ratios[-1], "same_params": len(digests) == 1}


def main(argv=None) -> list[dict]:
  ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  ap.add_argument("--rounds", type=int, default=6)
  ap.add_argument("--calls", type=int, default=5, help="timed calls per process")
  ap.add_argument("--conv-steps", type=int, default=8, help="conv updates per call (0: skip the conv case)")
  ap.add_argument("--members", type=int, default=8, help="sweep members (0: skip the sweep case)")
  ap.add_argument("--sweep-steps", type=int, default=8, help="sweep updates per call")
  ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
  args = ap.parse_args(argv)
  if args.worker:
    print("@@result " + json.dumps(worker(args.worker, args.calls, args.conv_steps, args.members, args.sweep_steps)))
    return []
  from vae_jax import fusion_barrier  # noqa: PLC0415

  if not fusion_barrier.available():
    print(f"fusion barrier unavailable ({fusion_barrier.why_unavailable()}): nothing to compare")
    return []
  print(f"load average at the start: {' / '.join(f'{x:.2f}' for x in os.getloadavg())} (1 / 5 / 15 min)")
  cases = (["conv"] if args.conv_steps else []) + (["higgins_sweep"] if args.members else [])
  results = []
  t0 = time.perf_counter()
  for case in cases:
    res = measure(case, args)
    results.append(res)
    print(f"{case}: {res['fused_images_per_s']:,.0f} images/s with the renderer fused into its consumers, "
          f"{res['barrier_images_per_s']:,.0f} rendered once — {res['ratio']:.3f}× per round "
          f"({res['ratio_min']:.3f}–{res['ratio_max']:.3f}, {res['rounds']} rounds of fresh processes); parameters "
          f"after the same calls {'equal' if res['same_params'] else 'NOT equal'} bit for bit", flush=True)
  print(f"{time.perf_counter() - t0:.0f} s; load average at the end: "
        f"{' / '.join(f'{x:.2f}' for x in os.getloadavg())}")
  return results


if __name__ == "__main__":
  main()
