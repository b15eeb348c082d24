"""The results file of a single-purpose benchmark script (``--name NAME``): ``benchmarks/results/NAME.json``.

``benchmarks.run`` writes its own (tables and targets); scripts that time one thing (``tc_estimator``,
``loop_parts``) share this: the command, date, machine (CPU model, cores, jax, device, load average at the start
and the end), the script's arguments (their ``--name`` and ``--out-dir``), its wall time and its results. A name
already taken is refused before any work, so no run overwrites another's figures. Import it after a worker process
has branched off: workers run beside other checkouts, whose ``benchmarks`` may not have this module.
"""

from __future__ import annotations

import datetime
import json
import os
import shlex
import sys
from collections.abc import Sequence
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


def write(out: str, *, module: str, argv: Sequence[str] | None, args, wall_s: float,
          load_start: Sequence[float], results: Any) -> None:
  """Writes the record to ``out`` (from :func:`path`); ``argv``: the script's flags (None: ``sys.argv[1:]``)."""
  import jax  # noqa: PLC0415

  from benchmarks import run  # noqa: PLC0415

  argv = sys.argv[1:] if argv is None else argv
  record = {"name": args.name, "command": " ".join(shlex.quote(a) for a in [sys.executable, "-m", module, *argv]),
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "machine": {"processor": run._cpu_model(), "cpu_count": os.cpu_count(), "jax": jax.__version__,
                        "device": jax.devices()[0].device_kind, "loadavg_start": list(load_start),
                        "loadavg_end": list(os.getloadavg())},
            "args": vars(args), "wall_s": wall_s, "results": results}
  os.makedirs(os.path.dirname(out), exist_ok=True)
  with open(out, "w") as f:
    json.dump(record, f, indent=2)
  print(f"wrote {out}")
