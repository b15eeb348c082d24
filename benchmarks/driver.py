"""Runs a group of contenders with their repeats interleaved: round r runs every contender once, in an order
rotated by r, so slow drifts in machine load hit all contenders alike.

Each contender normally lives in its own worker process (:mod:`benchmarks.worker`): set up once (compiled,
data loaded), then driven one repeat at a time; ``oneshot`` contenders (the real training loop) get a fresh
process per repeat. Workers are started one after another, so compilations do not overlap timed work. With
``inprocess=True`` everything runs in this process instead (smoke tests; peak RSS is then the process's).
"""

from __future__ import annotations

import importlib
import json
import os
import queue
import subprocess
import sys
import threading
import time

from benchmarks import timing, worker

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def python_path(*first: str) -> str:
  """A worker's ``PYTHONPATH``: ``first`` ahead of the caller's entries, and no empty entry (which would put the
  worker's working directory on ``sys.path``)."""
  return os.pathsep.join([*first, *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))])


def with_device_count(xla_flags: str, devices: int) -> str:
  """``xla_flags`` with its fake-CPU-device count (if any) replaced by ``devices``, every other flag kept."""
  flags = [f for f in xla_flags.split() if "xla_force_host_platform_device_count" not in f]
  return " ".join([*flags, f"--xla_force_host_platform_device_count={devices}"])


def _env(contender: dict) -> dict:
  env = {**os.environ, "PYTHONPATH": python_path(ROOT),
         "XLA_PYTHON_CLIENT_PREALLOCATE": "false",  # several JAX workers share one GPU
         "JAX_COMPILATION_CACHE_DIR": os.environ.get("JAX_COMPILATION_CACHE_DIR", ""),
         "TF_CPP_MIN_LOG_LEVEL": "2",
         # GNU OpenMP threads spin while they wait; on a shared, oversubscribed CPU that made PyTorch ~30× slower
         # than with passive waiting (measured on the 2-core dev machine). Passive costs little when idle.
         "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "PASSIVE")}
  extra = dict(contender["env"])
  devices = extra.pop("XLA_FORCE_HOST_DEVICES", None)
  if devices is not None:  # replaces any device count inherited from the caller (e.g. pytest's conftest)
    env["XLA_FLAGS"] = with_device_count(env.get("XLA_FLAGS", ""), devices)
  if not env["JAX_COMPILATION_CACHE_DIR"]:
    env.pop("JAX_COMPILATION_CACHE_DIR")
  tree = extra.pop("BENCH_TREE", None)
  if tree:  # another checkout's vae_jax (a baseline), this checkout's benchmarks package
    env["PYTHONPATH"] = python_path(tree, ROOT)
  env.update(extra)
  return env


def _cwd(contender: dict) -> str:
  return contender["env"].get("BENCH_TREE") or ROOT  # `python -m` puts the working directory first on sys.path


class Worker:
  """A contender in a child process; ``request`` sends a command and waits for the matching protocol line."""

  def __init__(self, contender: dict, *, oneshot: bool, timeout: float):
    spec = json.dumps({k: contender[k] for k in ("module", "name", "kwargs")})
    cmd = [sys.executable, "-m", "benchmarks.worker", spec, *(["--oneshot"] if oneshot else [])]
    self.proc = subprocess.Popen(cmd, cwd=_cwd(contender), env=_env(contender), stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1)
    self.lines: queue.Queue = queue.Queue()
    self.stderr: list[str] = []
    self.timeout = timeout
    threading.Thread(target=self._pump, args=(self.proc.stdout, True), daemon=True).start()
    threading.Thread(target=self._pump, args=(self.proc.stderr, False), daemon=True).start()

  def _pump(self, stream, protocol: bool) -> None:
    for line in stream:
      if protocol and line.startswith(worker.TAG):
        kind, _, payload = line[len(worker.TAG):].strip().partition(" ")
        self.lines.put((kind, json.loads(payload)))
      elif not protocol:
        self.stderr = (self.stderr + [line])[-40:]
    if protocol:
      self.lines.put(("eof", {}))

  def expect(self, kind: str) -> dict:
    try:
      got, payload = self.lines.get(timeout=self.timeout)
    except queue.Empty:
      self.proc.kill()
      raise RuntimeError(f"no '{kind}' within {self.timeout:.0f} s") from None
    if got == "error":
      raise RuntimeError(payload["error"] + "\n" + payload.get("traceback", ""))
    if got != kind:
      raise RuntimeError(f"expected '{kind}', got '{got}'; stderr tail:\n{''.join(self.stderr[-15:])}")
    return payload

  def request(self, command: str, reply: str) -> dict:
    self.proc.stdin.write(command + "\n")
    self.proc.stdin.flush()
    return self.expect(reply)

  def close(self) -> dict:
    try:
      return self.request("quit", "done")
    finally:
      self.proc.wait(timeout=60)


class InProcess:
  """The same interface, without a child process."""

  def __init__(self, contender: dict):
    self.c = importlib.import_module(contender["module"]).CONTENDERS[contender["name"]](**contender["kwargs"])

  def setup(self) -> dict:
    t0 = time.perf_counter()
    info = self.c.setup() or {}
    info.setdefault("setup_s", time.perf_counter() - t0)
    return info

  def run(self) -> dict:
    return self.c.run()


def _oneshot(contender: dict, timeout: float) -> tuple[dict, dict, dict]:
  w = Worker(contender, oneshot=True, timeout=timeout)
  try:
    return w.expect("ready"), w.expect("result"), w.expect("done")
  finally:
    w.proc.wait(timeout=60)


def run_group(group: dict, repeats: int, *, inprocess: bool = False, timeout: float = 900,
              log=print) -> dict:
  """Runs ``group`` and returns ``{contender id: {"setup", "runs", "peak_rss_mb", "error"}}``."""
  contenders = group["contenders"]
  out = {c["id"]: {"setup": None, "runs": [None] * repeats, "peak_rss_mb": None, "error": None}
         for c in contenders}
  live = {}
  for c in contenders:
    if c["oneshot"] and not inprocess:
      continue
    t0 = time.perf_counter()
    try:
      live[c["id"]] = InProcess(c) if inprocess else Worker(c, oneshot=False, timeout=timeout)
      out[c["id"]]["setup"] = (live[c["id"]].setup() if inprocess else live[c["id"]].expect("ready"))
      log(f"  ready {c['id']:<22s} {time.perf_counter() - t0:6.1f} s")
    except Exception as e:  # noqa: BLE001  (a missing optional dependency, a failed compile: keep going)
      out[c["id"]]["error"] = str(e).splitlines()[0] if str(e) else type(e).__name__
      out[c["id"]]["error_detail"] = str(e)[-3000:]
      live.pop(c["id"], None)
      log(f"  skip  {c['id']:<22s} {out[c['id']]['error']}")
  for r in range(repeats):
    order = contenders[r % len(contenders):] + contenders[:r % len(contenders)]
    for c in order:
      cid = c["id"]
      if out[cid]["error"]:
        continue
      try:
        if cid in live:
          res = live[cid].run() if inprocess else live[cid].request("run", "result")
        else:
          ready, res, done = _oneshot(c, timeout)
          out[cid]["setup"] = out[cid]["setup"] or ready
          out[cid]["peak_rss_mb"] = max(out[cid]["peak_rss_mb"] or 0.0, done["peak_rss_mb"])
        out[cid]["runs"][r] = res
        log(f"  round {r + 1}/{repeats} {cid:<22s} {res.get('images_per_s') or 0:10.0f} img/s")
      except Exception as e:  # noqa: BLE001
        out[cid]["error"] = str(e).splitlines()[0]
        out[cid]["error_detail"] = str(e)[-3000:]
        log(f"  fail  {cid}: {out[cid]['error']}")
  for cid, w in live.items():
    if inprocess:
      out[cid]["peak_rss_mb"] = timing.peak_rss_mb()
      continue
    try:
      out[cid]["peak_rss_mb"] = w.close()["peak_rss_mb"]
    except Exception as e:  # noqa: BLE001
      log(f"  close {cid}: {e}")
  return out
