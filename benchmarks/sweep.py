"""Sweeps vs one run after another (issue #15): total images/s for M members, and memory per member.

    .venv/bin/python -m benchmarks.sweep                          # every case, M ∈ {1, 4, 16, 64}, 2 rounds
    .venv/bin/python -m benchmarks.sweep --only mlp_fashion --members 1,4,16 --repeats 3
    .venv/bin/python -m benchmarks.sweep --quick                  # short runs, M ∈ {1, 4}: checks it works
    .venv/bin/python -m benchmarks.sweep --contenders program     # the fused programs alone, no training loop
    python -m benchmarks.sweep --only higgins_sprites,conv_sprites --members 1,64 --steps-scale 100 --no-memory
                                                                  # a GPU (scripts/gpu_check.sh sweep)

Writes ``benchmarks/results/sweep_<tag>.json`` (machine, command, every repeat; refused if it exists) and
``benchmarks/SWEEP.md``-style markdown (``benchmarks/results/sweep_<tag>.md``). The same command runs on a GPU.

Method (as ``benchmarks/run.py``): every contender is a fresh process (``--worker``) running the real loop —
``train.train_and_evaluate`` for one run, ``sweep.train_sweep`` for a sweep of M members — with evaluation and a
checkpoint at the end only; each round runs every contender once, in an order rotated between rounds; rows give
the median (min–max) over rounds, ratios are medians of per-round ratios.

* **steady images/s**: after the first (compiling) chunk, total images of all members per second of the loop
  (``images_per_sec`` of the results). "One after another" trains the same M members with M real-loop runs; runs
  of the same config cost the same, so their total rate is one run's rate, measured each round (not M times).
* **end-to-end ratio**: M × (one run's wall time, data loading, compilation, evaluation and checkpoint included)
  ÷ the sweep's wall time (which includes its members' export).
* **program alone** (``--contenders program``): the fused program the loop calls — the sweep's vmapped
  ``make_sweep_multi_step`` and the single run's ``make_multi_step``, each at its loop's chunk size — called 3 times
  after a compiling call, nothing around it; sweep ÷ single images/s says how much of "× steady" is the vmapped
  update itself and how much the loop's per-chunk work (the finiteness check, host transfer, metric rows).
* **memory per member**: XLA's buffer assignment for one fused update (``compiled.memory_analysis()``: arguments +
  outputs − aliased + temporaries, minus the shared training set), divided by M; compared with the single run's
  same figure and with one member's parameters + optimizer state. Peak RSS of each process is recorded too.

Members: the MLP VAE over seeds 0…M−1; the β-VAEs over β ∈ {1, 2, 4, 8} × seeds (M/4 seeds; β = 4 at M = 1).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

from benchmarks import driver, timing

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "benchmarks", "results")

# case -> (title, steps per M: a single run uses steps[1]); log_every = steps // 4 (4 chunks, 3 timed). Each timed
# chunk of a sweep should hold seconds of work: a chunk also pays the loop's per-chunk costs (the scan's entry and
# exit, the finiteness check over every member's state, the host transfer), so the Higgins case at M = 16 runs 16
# steps (chunks of 4; it ran 8, chunks of 2, until 2026-12-02 evening).
CASES = {
    "mlp_fashion": ("MLP VAE (784-500-20) on Fashion-MNIST, batch 128", {1: 400, 4: 200, 16: 80, 64: 24}),
    "higgins_sprites": ("β-VAE, Higgins MLP (1200-1200, z=10) on 64×64 sprites, batch 64",
                        {1: 40, 4: 20, 16: 16, 64: 4}),
    "conv_sprites": ("β-VAE, conv net (32-32-64-64, FC 256, z=10) on 64×64 sprites, batch 64",
                     {1: 8, 4: 4, 16: 4, 64: 4}),  # M = 64 conv members: minutes per step on a CPU (SWEEP.md)
}
# --steps-scale multiplies every case's steps: the CPU-sized runs above last milliseconds on a GPU, where a timed
# chunk of a few updates would measure the loop's per-chunk host sync instead of the updates.
BETAS = (1.0, 2.0, 4.0, 8.0)


def base_config(case: str, steps: int):
  from vae_jax import configs

  if case == "mlp_fashion":
    from experiments.configs import flax_vae_fashion

    c = dataclasses.replace(flax_vae_fashion.get_config(), data=configs.DataConfig(
        name="fashion_mnist", binarize="dynamic", num_test=1000))
  else:
    from experiments.configs import beta_vae_sprites

    c = beta_vae_sprites.base(beta_vae_sprites.get_config("higgins"))
    c = dataclasses.replace(c, data=dataclasses.replace(c.data, num_test=256))
    if case == "conv_sprites":
      c = dataclasses.replace(c, model=dataclasses.replace(c.model, architecture="conv", conv_channels=(32, 32, 64, 64),
                                                           conv_dense=(256,)))
  log = next(d for d in range(max(1, steps // 4), 0, -1) if steps % d == 0)  # ~4 host syncs that divide the run
  return dataclasses.replace(c, num_steps=steps, log_every=log, eval_every=steps, checkpoint_every=steps,
                             keep_checkpoints=1, eval_batch_size=256, num_eval_examples=256, figures=False,
                             tensorboard=False, progress=False, num_devices=0)


def sweep_config(case: str, m: int, steps: int):
  from vae_jax import sweep

  base = base_config(case, steps)
  if case == "mlp_fashion":
    return sweep.make_sweep(base, {}, seeds=range(m))
  betas = BETAS if m >= 4 else (4.0,)
  return sweep.make_sweep(base, {"method.beta": betas}, seeds=range(max(1, m // len(betas))))


def _state_bytes(tree) -> int:
  import jax

  return sum(x.size * x.dtype.itemsize for x in jax.tree_util.tree_leaves(tree))


def _peak_bytes(compiled, shared_bytes: int) -> int | None:
  try:
    s = compiled.memory_analysis()
  except Exception:  # noqa: BLE001  (not every backend reports it)
    return None
  return s.argument_size_in_bytes + s.output_size_in_bytes - s.alias_size_in_bytes + s.temp_size_in_bytes - shared_bytes


def _program(case: str, m: int, steps: int, span: int):
  """The fused program the loop runs for ``steps`` updates — of the sweep of ``m`` members (m > 0) or of the single
  run (m == 0) — with its first arguments: ``(fn, args, next_args, data_bytes, state_bytes_per_member)``, where
  ``next_args(args, outputs, call)`` gives call ``call``'s arguments (the donated state fed back, the next window
  of steps); batches are valid for ``span`` updates."""
  import jax
  import jax.numpy as jnp

  from vae_jax import factory, train
  from vae_jax.sweep import engine
  from vae_jax.sweep.run import _Setup

  spec = sweep_config(case, max(m, 1), steps)
  setup = _Setup(spec)
  data_bytes = _state_bytes(setup.data)
  one = jax.eval_shape(lambda: train.create_train_state(
      setup.model, factory.make_optimizer(spec.base.optimizer), jax.random.key(0),
      jnp.asarray(setup.tests[setup.seeds[0]].images[:2])))
  if m == 0:
    cfg = spec.base
    loss_fn = factory.make_loss(cfg.method, setup.model, dataset_size=setup.dataset_size)
    tx = factory.make_optimizer(cfg.optimizer)
    mesh = train.data_mesh(jax.devices())
    fn = train.make_multi_step(loss_fn, tx, num_steps=steps, batch_sharding=train.batch_sharding(mesh), loop="scan")
    keys = train.run_keys(0)
    state = train.create_train_state(setup.model, tx, keys.init, jnp.asarray(setup.tests[0].images[:2]))
    source = setup.template if not isinstance(setup.template, train.ArrayBatches) else \
        setup.template.with_permutations(0, span, {})
    args = (state, setup.data, source, keys.train)
    return fn, args, lambda a, out, call: (out[0], *a[1:]), data_bytes, _state_bytes(one)
  fn = engine.make_sweep_multi_step(spec.base, setup.model, setup.dataset_size, setup.mesh, num_steps=steps,
                                    data_shared=True, loop="scan", mask=False)  # the program the loop runs
  args = (setup.initial_state(), setup.hparams(), setup.data, setup.source(0, span), setup.key_data("train"),
          jnp.int32(0))
  return (fn, args, lambda a, out, call: (out[0], *a[1:5], jnp.int32(call * steps)), data_bytes,
          _state_bytes(one))


def _memory(case: str, m: int) -> dict:
  """XLA's peak bytes for one fused update: the sweep of ``m`` members (m > 0) or the single run (m == 0)."""
  fn, args, _, data_bytes, state_bytes = _program(case, m, 1, 1)
  peak = _peak_bytes(fn.lower(*args).compile(), data_bytes)
  out = {"state_bytes_per_member": state_bytes, "peak_bytes": peak}
  if m > 0:
    out["peak_bytes_per_member"] = peak / m if peak is not None else None
  return out


def program_worker(case: str, m: int, steps: int, calls: int) -> dict:
  """The fused program alone (no loop around it): ``calls`` timed calls of ``steps`` updates each, after one
  compiling call, on the sweep of ``m`` members (m > 0) or the single run (m == 0). Against the loop's figure it
  separates the update's own cost from the loop's per-chunk work (finiteness check, host transfer, metric rows)."""
  import jax

  fn, args, next_args, _, _ = _program(case, m, steps, steps * (calls + 1))
  t0 = time.perf_counter()
  out = jax.block_until_ready(fn(*args))
  compile_s = time.perf_counter() - t0
  times = []
  for call in range(1, calls + 1):
    args = next_args(args, out, call)
    t0 = time.perf_counter()
    out = jax.block_until_ready(fn(*args))
    times.append(time.perf_counter() - t0)
  batch = base_config(case, steps).batch_size
  images = steps * batch * max(m, 1)
  return {"case": case, "kind": "program", "members": m, "steps": steps, "calls": calls, "first_call_s": compile_s,
          "call_s": times, "steady_images_per_s": images / statistics.median(times),
          "peak_rss_mb": timing.peak_rss_mb()}


def worker(case: str, kind: str, m: int, steps: int) -> dict:
  """One contender in this process: ``kind`` = ``single`` (one real-loop run) or ``sweep`` (M members)."""
  from vae_jax import sweep, train

  with tempfile.TemporaryDirectory() as workdir:
    t0 = time.perf_counter()
    if kind == "single":
      res = train.train_and_evaluate(base_config(case, steps), workdir)
      images = steps * res["config"]["batch_size"]
    else:
      res = sweep.train_sweep(sweep_config(case, m, steps), workdir)
      images = steps * res["sweep"]["base"]["batch_size"] * len(res["members"])
    wall = time.perf_counter() - t0
  out = {"case": case, "kind": kind, "members": m, "steps": steps, "images": images, "wall_s": wall,
         "steady_images_per_s": res["images_per_sec"], "first_call_s": res["first_call_s"],
         "peak_rss_mb": timing.peak_rss_mb()}
  return out


def _spawn(flags: list[str], timeout: float) -> dict:
  """Runs this module in a fresh process with ``flags`` (``--worker …`` or ``--memory-worker …``): its result."""
  cmd = [sys.executable, "-m", "benchmarks.sweep", *flags]
  proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                        env={**os.environ, "PYTHONPATH": driver.python_path(ROOT)})
  lines = [l for l in proc.stdout.splitlines() if l.startswith("@@sweep ")]
  if proc.returncode or not lines:
    return {"error": (proc.stderr or proc.stdout)[-2000:]}
  return json.loads(lines[-1][len("@@sweep "):])


def _fmt(xs: list[float], digits: int = 0) -> str:
  s = timing.summarize(xs)
  if s is None:
    return "–"
  f = f"{{:,.{digits}f}}"
  return f"{f.format(s['median'])} ({f.format(s['min'])}–{f.format(s['max'])})"


def table(record: dict) -> str:
  out = []
  for case, (title, _) in CASES.items():
    rounds = [r for r in record["rounds"] if r["case"] == case]
    if not rounds:
      continue
    mem = record["memory"].get(case, {})
    single_peak = (mem.get("0") or {}).get("peak_bytes")
    state = (mem.get("0") or {}).get("state_bytes_per_member")
    out += [f"### {title}", "",
            "| M | sweep images/s | one after another images/s | × steady | × end to end | program alone: sweep / "
            "single images/s | × program alone | XLA peak MB per member (× single run, × state) | peak RSS MB |",
            "|---|---|---|---|---|---|---|---|---|"]
    for m in record["members"]:
      loop = [r for r in rounds if r["members"] == m and "sweep" in r and "single" in r]
      prog = [r for r in rounds if r["members"] == m and "program_sweep" in r and "program_single" in r]
      if not loop and not prog:
        continue
      rate = lambda rows, k: [r[k]["steady_images_per_s"] for r in rows]  # noqa: E731
      ratio = lambda rows, a, b: [r[a]["steady_images_per_s"] / r[b]["steady_images_per_s"] for r in rows]  # noqa: E731
      e2e = [m * r["single"]["wall_s"] / r["sweep"]["wall_s"] for r in loop]
      pm = (mem.get(str(m)) or {}).get("peak_bytes_per_member")
      mem_cell = "–" if not (pm and single_peak) else (
          f"{pm / 2**20:.1f} ({pm / single_peak:.2f}×, {pm / state:.2f}×)")
      rss = [r[k]["peak_rss_mb"] for r in rounds if r["members"] == m for k in ("sweep", "program_sweep") if k in r]
      out.append(f"| {m} | {_fmt(rate(loop, 'sweep'))} | {_fmt(rate(loop, 'single'))} | "
                 f"{_fmt(ratio(loop, 'sweep', 'single'), 2)} | {_fmt(e2e, 2)} | "
                 f"{_fmt(rate(prog, 'program_sweep'))} / {_fmt(rate(prog, 'program_single'))} | "
                 f"{_fmt(ratio(prog, 'program_sweep', 'program_single'), 2)} | {mem_cell} | "
                 f"{statistics.median(rss) if rss else float('nan'):.0f} |")
    if single_peak:
      out.append(f"\nSingle run: XLA peak {single_peak / 2**20:.1f} MB for one update; parameters + optimizer "
                 f"state {state / 2**20:.1f} MB.")
    out.append("")
  return "\n".join(out)


def main(argv: list[str] | None = None) -> None:
  p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  p.add_argument("--worker", nargs=4, metavar=("CASE", "KIND", "M", "STEPS"), help=argparse.SUPPRESS)
  p.add_argument("--memory-worker", nargs=2, metavar=("CASE", "M"), help=argparse.SUPPRESS)
  p.add_argument("--program-worker", nargs=4, metavar=("CASE", "M", "STEPS", "CALLS"), help=argparse.SUPPRESS)
  p.add_argument("--contenders", default="loop,program",
                 help="loop: the real loops (sweep vs single run); program: the fused programs alone, no loop")
  p.add_argument("--only", default=",".join(CASES))
  p.add_argument("--members", default="1,4,16,64")
  p.add_argument("--repeats", type=int, default=2)
  p.add_argument("--quick", action="store_true")
  p.add_argument("--tag", default=None)
  p.add_argument("--timeout", type=float, default=1800)
  p.add_argument("--steps-scale", type=int, default=1, help="multiply every case's updates (a GPU: 100)")
  p.add_argument("--no-memory", action="store_true", help="skip the memory rows (one compile per case and M)")
  args = p.parse_args(argv)
  if args.worker:
    case, kind, m, steps = args.worker
    print("@@sweep " + json.dumps(worker(case, kind, int(m), int(steps))), flush=True)
    return
  if args.memory_worker:
    case, m = args.memory_worker
    print("@@sweep " + json.dumps(_memory(case, int(m))), flush=True)
    return
  if args.program_worker:
    case, m, steps, calls = args.program_worker
    print("@@sweep " + json.dumps(program_worker(case, int(m), int(steps), int(calls))), flush=True)
    return
  from experiments import arg_types  # noqa: PLC0415  (here, not at the top: see experiments.arg_types)

  arg_types.require(p, args, repeats=1, steps_scale=1)
  contenders = [c for c in args.contenders.split(",") if c]
  if not contenders or set(contenders) - {"loop", "program"}:
    p.error(f"--contenders: a comma-separated subset of loop,program; got {args.contenders!r}")
  cases = [c for c in args.only.split(",") if c]
  try:
    members = [int(m) for m in args.members.split(",")]
  except ValueError:
    members = []
  if not members or min(members) < 1:
    p.error(f"--members: a comma-separated list of whole numbers ≥ 1 (e.g. 1,4,16,64); got {args.members!r}")
  if args.quick:
    members = [m for m in members if m <= 4]
    if not members:
      p.error(f"--quick keeps only member counts ≤ 4, and --members {args.members} has none")
  import jax  # noqa: PLC0415

  from vae_jax import train  # noqa: PLC0415

  record = {"command": " ".join(["python -m benchmarks.sweep", *(argv if argv is not None else sys.argv[1:])]),
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "environment": train.environment(),
            "load_average_start": os.getloadavg(), "members": members, "rounds": [], "memory": {}}
  tag = args.tag or ("quick" if args.quick else jax.default_backend())
  os.makedirs(RESULTS, exist_ok=True)
  path = os.path.join(RESULTS, f"sweep_{tag}")
  if os.path.exists(path + ".json"):
    raise SystemExit(f"{path}.json exists: pick another --tag (results are never overwritten).")

  def save():
    record["load_average_end"] = os.getloadavg()
    with open(path + ".json", "w") as f:
      json.dump(record, f, indent=1)
    with open(path + ".md", "w") as f:
      f.write(f"`{record['command']}` — {record['date']}, {record['environment']['device_kind']} "
              f"({record['environment']['cpu_count']} CPUs), load average {record['load_average_start']} at the "
              f"start, {record['load_average_end']} at the end.\n\n" + table(record))

  for rep in range(args.repeats):
    for case in cases:
      steps_by_m = CASES[case][1]
      order = members[rep % len(members):] + members[:rep % len(members)]
      for m in order:
        if m not in steps_by_m:
          continue
        steps = (steps_by_m[m] if not args.quick else 8) * args.steps_scale
        single_steps = (steps_by_m[1] if not args.quick else 8) * args.steps_scale
        row = {"case": case, "members": m, "round": rep, "load_average": os.getloadavg()}
        pairs = {"loop": [("single", ["--worker", case, "single", "1", str(single_steps)]),
                          ("sweep", ["--worker", case, "sweep", str(m), str(steps)])],
                 # the loop's chunk (steps // 4 updates) per call, 3 timed calls like the loop's 3 timed chunks
                 "program": [("program_single", ["--program-worker", case, "0", str(max(1, single_steps // 4)), "3"]),
                             ("program_sweep", ["--program-worker", case, str(m), str(max(1, steps // 4)), "3"])]}
        for contender in contenders:
          pair = pairs[contender]
          for kind, flags in (pair if rep % 2 == 0 else pair[::-1]):
            row[kind] = _spawn(flags, args.timeout)
            print(case, m, kind, {k: row[kind].get(k) for k in ("steady_images_per_s", "wall_s", "error")},
                  flush=True)
        failed = [row[k] for k in ("sweep", "single", "program_sweep", "program_single") if "error" in row.get(k, {})]
        if failed:
          row = ({k: v for k, v in row.items() if k not in ("sweep", "single", "program_sweep", "program_single")}
                 | {"errors": failed})
        record["rounds"].append(row)
        save()
  for case in cases if not args.no_memory else []:  # after the timed rounds: slow to compile, need no quiet machine
    record["memory"][case] = {str(m): _spawn(["--memory-worker", case, str(m)], args.timeout)
                              for m in [0, *members] if m == 0 or m in CASES[case][1]}
    print(case, "memory", record["memory"][case], flush=True)
    save()
  print(open(path + ".md").read())


if __name__ == "__main__":
  main()
