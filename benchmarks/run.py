"""One command for issue #8's benchmarks: vae_jax's training loop against the Flax example, PyTorch eager and the
step bound, with repeats interleaved across contenders; results in ``benchmarks/results/<name>.json`` (+ ``.md``).

    .venv/bin/python -m benchmarks.run                 # full: minutes (plan.py; times in benchmarks/README.md)
    .venv/bin/python -m benchmarks.run --quick         # a few minutes, smaller sizes
    .venv/bin/python -m benchmarks.run --only mlp128 conv --repeats 3
    .venv/bin/python -m benchmarks.run --smoke --inprocess --name smoke   # seconds; what the tests run
    .venv/bin/python -m benchmarks.run --baseline /tmp/vae_jax_head       # + the real loop of another checkout

Groups (``benchmarks.plan``): the MLP VAE at batch 128 and 1024 (the real loop ``train_and_evaluate``, the bare
jitted step, the fused epoch, the Flax example's un-jitted step, PyTorch eager with default and fused Adam, pythae's
own training loop, the minimal fused epoch of ``benchmarks.bare_epoch``, the step bound of ``benchmarks.bound``),
the conv β-VAE on sprites rendered in the step vs PyTorch on pre-rendered
batches, the importance-sampled NLL against its matmul bound, and data-parallel scaling of the fused epoch over 1,
2, 4, 8 devices (fake CPU devices through ``XLA_FLAGS`` on a CPU host; the visible accelerators otherwise).
Without PyTorch (or pythae) its rows are skipped with a message. The same command runs on a GPU machine.

Method (``benchmarks.timing``, ``benchmarks.driver``, ``benchmarks.report``): every contender runs in its own
process, set up and compiled once (the real loop: a fresh process per repeat, as a user runs it; its compile
time is the first, cold-cache one), then one repeat per round, rounds rotating the order; medians with min–max
over repeats; ratios are medians of per-round ratios within a group; peak RSS is each process's ``ru_maxrss``.
On a machine shared with other jobs absolute numbers move a lot between runs: compare ratios from one run.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time

from benchmarks import driver, plan, report
from vae_jax import checkpoints

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")


def _parse(argv):
  p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  mode = p.add_mutually_exclusive_group()
  mode.add_argument("--quick", action="store_true", help="≈ 2 min version with smaller sizes")
  mode.add_argument("--smoke", action="store_true", help="tiny sizes, seconds (tests); numbers meaningless")
  p.add_argument("--only", nargs="*", choices=list(plan.GROUPS), help="run only these groups")
  p.add_argument("--repeats", type=int, default=None, help="rounds per group (default: 5 full, 3 quick)")
  p.add_argument("--name", default=None, help="results file name (default: <mode>-<date>)")
  p.add_argument("--out-dir", default=RESULTS)
  p.add_argument("--inprocess", action="store_true", help="no worker processes (smoke tests)")
  p.add_argument("--timeout", type=float, default=900, help="seconds to wait for one setup or repeat")
  p.add_argument("--render", default=None, metavar="RESULTS_JSON",
                 help="run nothing: rewrite this results file's tables, targets and .md from its raw repeats")
  p.add_argument("--baseline", default=None, metavar="DIR",
                 help="another vae_jax checkout (e.g. `git worktree`/`git archive` of HEAD) whose real loop and "
                      "fused epoch run interleaved with this one's: before/after in one run")
  args = p.parse_args(argv)
  from experiments import arg_types  # noqa: PLC0415  (here, not at the top: see experiments.arg_types)

  arg_types.require(p, args, repeats=1)
  if args.timeout <= 0:
    p.error(f"argument --timeout: a number of seconds above 0, got '{args.timeout}'")
  return args


def _cpu_model() -> str:
  try:
    with open("/proc/cpuinfo") as f:
      return next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "")
  except OSError:
    return ""


def _machine(inprocess: bool) -> dict:
  probe = {"id": "probe", "module": "benchmarks.mlp_jax", "name": "probe", "kwargs": {}, "env": {}, "batch": None,
           "role": "", "oneshot": False, "label": "probe"}
  try:
    runner = driver.InProcess(probe) if inprocess else driver.Worker(probe, oneshot=False, timeout=300)
    env = runner.setup() if inprocess else runner.expect("ready")
    if not inprocess:
      runner.close()
  except Exception as e:  # noqa: BLE001
    env = {"error": str(e)}
  env.update({"python": platform.python_version(), "machine": platform.machine(),
              "processor": _cpu_model() or platform.processor(), "cpu_count": os.cpu_count()})
  try:
    env["loadavg_start"] = os.getloadavg()
  except OSError:
    pass
  return env


def _commit() -> str | None:
  """This checkout's ``git describe --always --dirty`` (``None`` outside a git checkout): which code a results file
  measured, so that runs of different commits are told apart (``benchmarks.pool`` lists it per source)."""
  try:
    out = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=os.path.dirname(RESULTS),
                         capture_output=True, text=True, timeout=30)
  except (OSError, subprocess.SubprocessError):
    return None
  return out.stdout.strip() or None if out.returncode == 0 else None


def main(argv=None) -> dict:
  args = _parse(sys.argv[1:] if argv is None else argv)
  if args.render:
    return {"path": rerender(args.render)}
  mode = "smoke" if args.smoke else "quick" if args.quick else "full"
  repeats = args.repeats or plan.REPEATS[mode]
  stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
  commit = _commit()  # before anything runs: the code the workers import (a checkout during the run would change it)
  name = args.name or f"{mode}-{stamp}"
  if os.path.exists(os.path.join(args.out_dir, f"{name}.json")):  # checked before minutes of running, not after
    raise SystemExit(f"{os.path.join(args.out_dir, name)}.json exists (another run's results): pick another --name "
                     "(--render rewrites a results file's tables from its own rounds).")
  command = " ".join(shlex.quote(a) for a in [sys.executable, "-m", "benchmarks.run",
                                              *(sys.argv[1:] if argv is None else argv)])
  t0 = time.perf_counter()
  # One persistent compilation cache for the run: the real loop's later processes do not recompile.
  cache = tempfile.mkdtemp(prefix="vae_jax_bench_cache_")
  os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", cache)
  os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
  os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # see benchmarks.driver; read when PyTorch loads
  print(f"benchmarks ({mode}, {repeats} repeats): {command}", flush=True)
  machine = _machine(args.inprocess)
  print(f"machine: {machine.get('device_kind')} × {machine.get('device_count')} ({machine.get('platform')}), "
        f"{machine.get('cpu_count')} CPUs, jax {machine.get('jax')}, torch {machine.get('torch')}", flush=True)
  baseline = os.path.abspath(args.baseline) if args.baseline else None
  groups, raw_all = plan.build(mode, args.only, baseline), {}
  for group in groups:
    print(f"[{group['id']}] {group['title']}", flush=True)
    raw = driver.run_group(group, repeats, inprocess=args.inprocess, timeout=args.timeout,
                           log=lambda s: print(s, flush=True))
    raw_all[group["id"]] = raw
  results = {"name": name, "mode": mode, "repeats": repeats, "date": stamp, "command": command, "commit": commit,
             "machine": machine, "wall_s": time.perf_counter() - t0, "raw": raw_all, "plan": groups}
  write_results(results, args.out_dir)
  return results


def write_results(results: dict, out_dir: str, stem: str | None = None) -> str:
  """Renders ``results`` (:func:`benchmarks.report.render`: its tables and targets go into it) and writes
  ``<out_dir>/<stem>.json`` and ``.md`` (``stem``: the results' name unless given); prints the markdown and returns
  the JSON's path."""
  results["groups"], results["targets"], md = report.render(results)
  name = stem or results["name"]
  os.makedirs(out_dir, exist_ok=True)
  path = os.path.join(out_dir, f"{name}.json")
  checkpoints.write_json_atomic(path, results, default=str)  # a kill mid-write leaves the old file or the new one
  checkpoints.write_text_atomic(os.path.join(out_dir, f"{name}.md"), md)
  print("\n" + md, flush=True)
  print(f"wrote {path} ({results['wall_s']:.0f} s)", flush=True)
  return path


def read_results(path: str) -> dict:
  """A results file of this script (or of ``benchmarks.pool``), with a clear error when it is none."""
  try:
    with open(path) as f:
      results = json.load(f)
  except (OSError, json.JSONDecodeError) as e:
    raise SystemExit(f"{path}: cannot read a results file ({e}).") from None
  if not isinstance(results, dict) or "raw" not in results or "plan" not in results:
    raise SystemExit(f"{path}: not a benchmarks/run.py results file (no raw repeats or plan).")
  return results


def rerender(path: str) -> str:
  """Rewrites a results file's tables, targets and markdown from its raw repeats (``--render``)."""
  results = read_results(path)
  # Back into the file it was read from (and its .md), whatever name the results carry: a renamed or copied file
  # must not overwrite the results file of its original name.
  stem = os.path.basename(path)[:-len(".json")] if path.endswith(".json") else os.path.basename(path)
  return write_results(results, os.path.dirname(os.path.abspath(path)), stem)


if __name__ == "__main__":
  main()
