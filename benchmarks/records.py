"""The results file of a single-purpose benchmark script (``--name NAME``): ``benchmarks/results/NAME.json``.

``benchmarks.run`` writes its own (tables and targets); scripts that time one thing (``tc_estimator``,
``loop_parts``) share this: the command, date, machine (CPU model, cores, jax, device, load average at the start
and the end), the script's arguments (their ``--name`` and ``--out-dir``), its wall time and its results. A name
already taken is refused before any work, so no run overwrites another's figures. Import it after a worker process
has branched off: workers run beside other checkouts, whose ``benchmarks`` may not have this module. Its
:func:`checkout_rounds` runs such workers for this checkout and a baseline, interleaved.
"""

from __future__ import annotations

import datetime
import json
import os
import shlex
import subprocess
import sys
from collections.abc import Callable, Sequence
from typing import Any

RESULTS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")


def path(args) -> str | None:
  """Where ``--name`` will write (None without it); exits at once if that file exists."""
  if not args.name:
    return None
  out = os.path.join(args.out_dir, f"{args.name}.json")
  if os.path.exists(out):
    raise SystemExit(f"{out} exists: pick another --name (results are never overwritten).")
  return out


def machine_line() -> str:
  """One line for a printed benchmark: the date (UTC), the CPU model, its cores and jax's version."""
  import jax  # noqa: PLC0415

  from benchmarks import run  # noqa: PLC0415

  date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
  return f"{date}; {run._cpu_model() or 'CPU'}, {os.cpu_count()} cores; jax {jax.__version__}"


def write(out: str, *, module: str, argv: Sequence[str] | None, args, wall_s: float,
          load_start: Sequence[float], results: Any, commit: str | None = None) -> None:
  """Writes the record to ``out`` (from :func:`path`); ``argv``: the script's flags (None: ``sys.argv[1:]``);
  ``commit``: the checkout's ``git describe --always --dirty`` read before the work started (None: read now, which
  says "-dirty" if the tree changed during the run)."""
  import jax  # noqa: PLC0415

  from benchmarks import run  # noqa: PLC0415

  argv = sys.argv[1:] if argv is None else argv
  record = {"name": args.name, "command": " ".join(shlex.quote(a) for a in [sys.executable, "-m", module, *argv]),
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "machine": {"processor": run._cpu_model(), "cpu_count": os.cpu_count(), "jax": jax.__version__,
                        "device": jax.devices()[0].device_kind, "loadavg_start": list(load_start),
                        "loadavg_end": list(os.getloadavg())},
            "commit": commit or run._commit(), "args": vars(args), "wall_s": wall_s, "results": results}
  os.makedirs(os.path.dirname(out), exist_ok=True)
  with open(out, "w") as f:
    json.dump(record, f, indent=2)
  print(f"wrote {out}")


def checkout_rounds(script: str, worker_flags: Sequence[str], tag: str, rounds: int, baseline: str | None,
                    show: Callable[[dict], str]) -> dict[str, list[dict]]:
  """Runs ``script --worker …`` in a fresh process per round for this checkout and ``baseline`` (another checkout,
  first on ``PYTHONPATH``, so its ``vae_jax`` is timed), the order alternated each round; returns each checkout's
  records (the JSON each worker prints after ``@@<tag> ``). ``show(record)``: the progress line's figure."""
  here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
  trees = {"this checkout": here, **({"baseline": os.path.abspath(baseline)} if baseline else {})}
  out: dict[str, list[dict]] = {name: [] for name in trees}
  for r in range(rounds):
    for name, tree in (list(trees.items()) if r % 2 == 0 else list(trees.items())[::-1]):
      proc = subprocess.run([sys.executable, os.path.abspath(script), "--worker", *worker_flags], cwd=tree,
                            env={**os.environ, "PYTHONPATH": tree}, capture_output=True, text=True, check=False)
      line = next((x for x in proc.stdout.splitlines() if x.startswith(f"@@{tag} ")), None)
      if line is None:
        raise SystemExit(f"the worker for {name} ({tree}) failed:\n{proc.stderr[-3000:]}")
      out[name].append(json.loads(line[len(tag) + 3:]))
      print(f"round {r + 1}, {name}: {show(out[name][-1])}", flush=True)
  return out
