"""One contender in its own process, driven over stdin/stdout, so that repeats of different contenders can be
interleaved while each keeps its compiled code, its data and its own peak-RSS figure.

    python -m benchmarks.worker '<spec json>' [--oneshot]

``spec`` is ``{"module": "benchmarks.mlp_jax", "name": "fused_epoch", "kwargs": {...}}``: the contender is
``importlib.import_module(module).CONTENDERS[name](**kwargs)``, an object with ``setup() -> dict`` (build,
compile, warm up) and ``run() -> dict`` (one timed repeat). Protocol lines start with ``@@bench`` (anything else
on stdout is a library's chatter and is ignored): ``ready`` after setup, then one ``result`` per ``run`` command
read from stdin, ``done`` (with the peak RSS) on ``quit``; ``error`` with the traceback if anything fails.
``--oneshot``: setup, one run, done, exit — for contenders that are a whole process (the real training loop).
"""

from __future__ import annotations

import importlib
import json
import sys
import time
import traceback

from benchmarks import timing

TAG = "@@bench"


def emit(kind: str, payload: dict) -> None:
  sys.stdout.write(f"{TAG} {kind} {json.dumps(payload, default=str)}\n")
  sys.stdout.flush()


def make(spec: dict):
  module = importlib.import_module(spec["module"])
  return module.CONTENDERS[spec["name"]](**spec.get("kwargs", {}))


def serve(spec: dict, *, oneshot: bool, commands=sys.stdin) -> int:
  try:
    t0 = time.perf_counter()
    contender = make(spec)
    info = contender.setup() or {}
    info.setdefault("setup_s", time.perf_counter() - t0)
    emit("ready", info)
    lines = iter(["run", "quit"]) if oneshot else commands
    for line in lines:
      command = line.strip()
      if command == "run":
        emit("result", contender.run())
      elif command == "quit":
        break
    emit("done", {"peak_rss_mb": timing.peak_rss_mb()})
    return 0
  except Exception as e:  # noqa: BLE001  (reported to the driver, which keeps going)
    emit("error", {"error": f"{type(e).__name__}: {e}", "traceback": traceback.format_exc()[-4000:]})
    return 1


def main(argv: list[str]) -> int:
  spec = json.loads(argv[0])
  return serve(spec, oneshot="--oneshot" in argv[1:])


if __name__ == "__main__":
  sys.exit(main(sys.argv[1:]))
