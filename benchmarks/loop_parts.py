"""Where the real loop's time goes besides its training chunks: evaluation, the finiteness check, checkpoint saves.

    .venv/bin/python -m benchmarks.loop_parts [--batch 1024] [--steps 300] [--repeats 3] [--baseline DIR] [--name N]

Runs the benchmark's real loop (``benchmarks.mlp_jax.RealLoop``: ``train_and_evaluate`` on the Flax example's MLP
VAE, the intervals of ``benchmarks.plan``) in a fresh process per repeat with the loop's calls of
``evaluate.evaluate``, ``checkpoints.all_finite``, ``checkpoints.save`` and ``checkpoints.wait`` timed, and prints
their seconds (a save's without the check it makes first) and their share of the loop's steady part (the wall time
``loop_images_per_sec`` counts: after the first, compiling chunk). What is left is the chunks themselves and the
host work between them (logging, batch indices). The real loop's target "within 5 % of the bare fused epoch" (issue
#16) is about these parts: the fused epoch does none of them. ``--baseline DIR`` runs another checkout's loop in
the same rounds; ``--name`` writes the figures to ``benchmarks/results/NAME.json`` (``benchmarks.records``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

PARTS = (("evaluate", "evaluate"), ("checkpoints", "all_finite"), ("checkpoints", "save"), ("checkpoints", "wait"))


SMOKE = dict(num_train=256, num_test=64, log_every=2, every=4)  # ``--smoke``: seconds, numbers meaningless (tests)


def measure(batch: int, steps: int, smoke: bool = False) -> dict:
  """One real loop with its parts timed (in this process)."""
  from benchmarks import mlp_jax  # noqa: PLC0415
  from vae_jax import checkpoints  # noqa: PLC0415
  from vae_jax.train import evaluate  # noqa: PLC0415

  modules = {"evaluate": evaluate, "checkpoints": checkpoints}
  calls: dict[str, list[float]] = {name: [] for _, name in PARTS}
  chunks: list[float] = []  # when each fused chunk was called (RealLoop's own watcher)

  def timed(fn, name):
    def call(*args, **kwargs):
      t0 = time.perf_counter()
      out = fn(*args, **kwargs)
      if len(chunks) >= 2:  # only calls after the first chunk: the steady part (earlier ones are the warm-up)
        calls[name].append(time.perf_counter() - t0)
      return out
    return call

  originals = [(modules[m], n, getattr(modules[m], n)) for m, n in PARTS]
  for mod, name, fn in originals:
    setattr(mod, name, timed(fn, name))
  unwatch = mlp_jax.RealLoop._watch_calls(chunks)
  try:
    res = mlp_jax.RealLoop(batch, steps, **(SMOKE if smoke else {})).run()
  finally:
    for mod, name, fn in originals:
      setattr(mod, name, fn)
    unwatch()
  parts = {name: sum(ts) for name, ts in calls.items()}
  parts["save"] -= parts["all_finite"]  # after the first chunk the check runs only inside save: counted once
  return {"loop_s": res["seconds"], "images_per_s": res["images_per_s"], "parts_s": parts,
          "calls": {n: len(ts) for n, ts in calls.items()}}


def main(argv: list[str] | None = None) -> dict:
  p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  p.add_argument("--batch", type=int, default=1024)
  p.add_argument("--steps", type=int, default=300, help="updates per run (the benchmark's: 300 at 1024, 2340 at 128)")
  p.add_argument("--repeats", type=int, default=3)
  p.add_argument("--baseline", default=None, help="another checkout, run in the same rounds")
  p.add_argument("--name", default=None, help="write benchmarks/results/NAME.json (refused if it exists)")
  p.add_argument("--out-dir", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "results"))
  p.add_argument("--smoke", action="store_true", help="a tiny loop (256 images, chunks of 2): tests only")
  p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
  args = p.parse_args(argv)
  if args.worker:
    print("@@parts " + json.dumps(measure(args.batch, args.steps, args.smoke)), flush=True)
    return {}
  from experiments import arg_types  # noqa: PLC0415  (here, not at the top: see experiments.arg_types)

  arg_types.require(p, args, batch=1, steps=1, repeats=1)
  from benchmarks import records  # noqa: PLC0415

  path, t0 = records.path(args), time.perf_counter()
  load = os.getloadavg()
  runs = records.checkout_rounds(__file__, ["--batch", str(args.batch), "--steps", str(args.steps),
                                            *(["--smoke"] if args.smoke else [])], "parts", args.repeats,
                                 args.baseline, lambda rec: f"{rec['images_per_s']:,.0f} images/s")
  print(f"\nreal loop, batch {args.batch}, {args.steps} updates; load average at start "
        f"{load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}; medians over {args.repeats} runs")
  out = {}
  for name, rs in runs.items():
    loop_s = statistics.median(r["loop_s"] for r in rs)
    parts = {n: statistics.median(r["parts_s"][n] for r in rs) for _, n in PARTS}
    calls = rs[0]["calls"]
    print(f"{name}: steady loop {loop_s:.2f} s, {statistics.median(r['images_per_s'] for r in rs):,.0f} images/s")
    for n, s in parts.items():
      print(f"  {n:12s} {s:6.3f} s in {calls[n]} call(s)  {100 * s / loop_s:5.1f} % of the steady loop")
    rest = loop_s - sum(parts.values())
    print(f"  {'chunks+host':12s} {rest:6.3f} s                {100 * rest / loop_s:5.1f} %")
    out[name] = {"loop_s": loop_s, "parts_s": parts, "runs": rs}
  if path:
    records.write(path, module="benchmarks.loop_parts", argv=argv, args=args, wall_s=time.perf_counter() - t0,
                  load_start=load, results=out)
  return out


if __name__ == "__main__":
  main()
