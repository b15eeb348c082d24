"""Sprites rendered once (:mod:`vae_jax.fusion_barrier`) against XLA:CPU re-rendering them inside each consumer.

    .venv/bin/python -m benchmarks.fusion_barrier [--rounds 6] [--calls 5] [--conv-steps 8] [--members 8]
                                                  [--sweep-steps 8]

Two of the library's programs that render sprites in the step, each run in fresh worker processes
(:mod:`benchmarks.worker`, started by :class:`benchmarks.driver.Worker` with the environment every benchmark worker
gets) with ``VAE_JAX_FUSION_BARRIER=0`` (the renderer fused into its consumers, as before) and ``1`` (rendered once
behind the barrier) — a process per variant and round, the order alternating between rounds. Fresh processes, not
two compilations in one: a user's run is one program in its own process, and the two measure differently
(``benchmarks/README.md``, "Sprites rendered once").

* ``conv``: ``benchmarks.conv_jax.ConvSprites`` — the conv β-VAE of ``python -m benchmarks.run --only conv``
  (oneDNN's convolutions where built, the scanned loop), ``--conv-steps`` updates of 64 per call;
* ``higgins_sweep``: the fused program of ``benchmarks.sweep``'s ``higgins_sprites`` case (the disentanglement
  study's Higgins MLP on 64×64 sprites, batch 64) for ``--members`` vmapped members, ``--sweep-steps`` updates per
  call.

A process compiles its variant, runs it once, then times ``--calls`` calls (its figure: their median images/s); the
last call also hashes the parameters it ends with: both variants start from the same state and keys, so equal
hashes say the barrier changed no bit of the training. Prints images/s (medians over rounds) and the per-round ratio
with the barrier to without.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import time

from benchmarks import driver, timing

SWITCH = "VAE_JAX_FUSION_BARRIER"


def _digest(params) -> str:
  """sha256 of every leaf's bytes: equal digests, equal parameters bit for bit."""
  import jax  # noqa: PLC0415
  import numpy as np  # noqa: PLC0415

  h = hashlib.sha256()
  for leaf in jax.tree_util.tree_leaves(jax.device_get(params)):
    h.update(np.ascontiguousarray(leaf).tobytes())
  return h.hexdigest()


class Conv:
  """``benchmarks.conv_jax.ConvSprites`` at batch 64; its ``calls``-th run also hashes the parameters."""

  def __init__(self, steps: int, calls: int):
    self.steps, self.calls, self.done = steps, calls, 0

  def setup(self) -> dict:
    from benchmarks import conv_jax  # noqa: PLC0415

    self.contender = conv_jax.ConvSprites(64, self.steps)
    return self.contender.setup()  # compiles and runs a first call

  def run(self) -> dict:
    out, self.done = self.contender.run(), self.done + 1
    return {**out, "params_sha256": _digest(self.contender.state.params) if self.done == self.calls else None}


class HigginsSweep:
  """The fused program of ``benchmarks.sweep``'s ``higgins_sprites`` case for ``members`` members, ``steps`` updates
  per call; its ``calls``-th run also hashes the parameters."""

  def __init__(self, members: int, steps: int, calls: int):
    self.members, self.steps, self.calls, self.done = members, steps, calls, 0

  def setup(self) -> dict:
    from benchmarks import sweep  # noqa: PLC0415

    self.fn, self.args, self.next_args, _, _ = sweep._program("higgins_sprites", self.members, self.steps,
                                                              self.steps * (self.calls + 2))
    (self.out, compile_s, _) = timing.timed(lambda: timing.block(self.fn(*self.args)))
    return {"compile_s": compile_s}

  def run(self) -> dict:
    self.done += 1
    self.args = self.next_args(self.args, self.out, self.done)
    self.out, wall, cpu = timing.timed(lambda: timing.block(self.fn(*self.args)))
    digest = _digest(self.out[0].members.params) if self.done == self.calls else None
    return timing.throughput(self.steps * 64 * self.members, wall, cpu, params_sha256=digest)


CONTENDERS = {"conv": Conv, "higgins_sweep": HigginsSweep}


def _process(case: str, switch: str, kwargs: dict, calls: int, timeout: float) -> dict:
  """One fresh worker process (:mod:`benchmarks.worker`) of ``case`` with the switch at ``switch``: its median
  images/s over ``calls`` runs and the digest its last run took."""
  contender = {"module": "benchmarks.fusion_barrier", "name": case, "kwargs": {**kwargs, "calls": calls},
               "env": {SWITCH: switch}}
  w = driver.Worker(contender, oneshot=False, timeout=timeout)
  try:
    w.expect("ready")
    runs = [w.request("run", "result") for _ in range(calls)]
  except BaseException:
    w.proc.kill()  # its error is the one to report, not a failed "quit"
    raise
  w.close()
  return {"images_per_s": statistics.median(r["images_per_s"] for r in runs),
          "params_sha256": runs[-1]["params_sha256"]}


def measure(case: str, kwargs: dict, args) -> dict:
  speeds: dict[str, list[float]] = {"0": [], "1": []}
  digests = set()
  for r in range(args.rounds):
    for switch in (("0", "1") if r % 2 == 0 else ("1", "0")):
      res = _process(case, switch, kwargs, args.calls, args.timeout)
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
  ap.add_argument("--timeout", type=float, default=900, help="seconds a worker may take for one reply")
  args = ap.parse_args(argv)
  from experiments import arg_types  # noqa: PLC0415  (here, not at the top: see experiments.arg_types)

  arg_types.require(ap, args, rounds=1, calls=1, conv_steps=0, members=0, sweep_steps=1)
  from vae_jax import fusion_barrier  # noqa: PLC0415

  if not fusion_barrier.available():
    print(f"fusion barrier unavailable ({fusion_barrier.why_unavailable()}): nothing to compare")
    return []
  print(f"load average at the start: {' / '.join(f'{x:.2f}' for x in os.getloadavg())} (1 / 5 / 15 min)")
  cases = ([("conv", {"steps": args.conv_steps})] if args.conv_steps else []) + (
      [("higgins_sweep", {"members": args.members, "steps": args.sweep_steps})] if args.members else [])
  results = []
  t0 = time.perf_counter()
  for case, kwargs in cases:
    res = measure(case, kwargs, args)
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
