"""Where the fused training step's time goes: XLA's per-kernel times from a profiler trace, grouped by kind.

    .venv/bin/python -m benchmarks.profile_step --batch 128 [--chunks 2] [--num-steps 117]

Runs the real loop's fused multi-step (the Flax example's MLP VAE, uint8 Fashion-MNIST on device, shuffling,
dynamic binarization) under ``jax.profiler.trace``, reads the Perfetto trace, matches each kernel ("thunk") to its
instruction in the compiled HLO and sums the time by category:

* ``matmul`` — dots and fusions around a dot (YNNPACK/Eigen);
* ``random bits`` — fusions doing the threefry hash (integer xor/shift) and the Bernoulli comparison;
* ``optimizer + grad norm`` — kernels on parameter-shaped arrays that are not matmuls (Adam's moment and
  parameter updates or :mod:`vae_jax.fused_adam`'s one custom call, the squares and sums of the gradient norm,
  parameter copies);
* ``shuffle`` — sorts (the epoch permutation);
* ``other elementwise`` — the rest: the loss (softplus, sigmoid), activations, KL, bias gradients, bookkeeping.

Shares are of the summed kernel time (kernels of the two CPU threads can overlap, so the sum can exceed wall time).

``--bound`` also measures the MLP step bound (``benchmarks.bound.mlp_step_bound``: its own-shape bound, issue #16's
definition; the peak-charged one beside it) in the same process and prints the **ceiling** it leaves the step: the
bound charges only the matmuls (at their best measured speed) and Adam's bytes, so the step's other kernels — random
bits, the shuffle, the other elementwise work — come on top of the bound's time even if matmuls and Adam ran at the
bound's speed. With ``u`` those kernels' time per step and ``b`` the bound's, the step cannot exceed ``b / (b + u)``
of the bound while that work costs what it does, if they overlap nothing. Kernels on the two CPU threads can
overlap: by at least the kernel sum minus the wall time per step (timed outside the profiler), and crediting all of
that overlap to the uncharged kernels gives the loose ceiling ``b / (b + u − overlap)``.
A step whose loose ceiling is below a target cannot reach it without changing that work.
"""

from __future__ import annotations

import argparse
import collections
import glob
import gzip
import json
import os
import re
import statistics
import tempfile
import time

CATEGORIES = ("matmul", "random bits", "optimizer + grad norm", "shuffle", "other elementwise")


def _computations(hlo: str) -> dict[str, str]:
  """name -> body text of every computation in the HLO module."""
  out, name, lines = {}, None, []
  for line in hlo.splitlines():
    m = re.match(r"^(?:ENTRY )?%?([\w.\-]+) \(.*\{$", line)
    if m:
      name, lines = m.group(1), []
    elif line.startswith("}") and name:
      out[name] = "\n".join(lines)
      name = None
    elif name:
      lines.append(line)
  return out


def classify(hlo: str, param_shapes: set[str]) -> dict[str, str]:
  """instruction name -> category, for every instruction of the compiled module."""
  comps = _computations(hlo)
  cats = {}
  for body in comps.values():
    for line in body.splitlines():
      m = re.match(r"\s*(?:ROOT )?%([\w.\-]+) = (\(.*?\)|\S+) ([\w\-]+)\(", line)
      if not m:
        continue
      inst, shape, op = m.groups()
      called = re.search(r"calls=%([\w.\-]+)", line)
      inner = comps.get(called.group(1), "") if called else ""
      if op == "sort":
        cat = "shuffle"
      elif op == "custom-call" and "vae_jax_fused_adam" in line:  # vae_jax.fused_adam: Adam in one pass
        cat = "optimizer + grad norm"
      elif op == "custom-call" and "vae_jax_threefry_bernoulli" in line:  # vae_jax.threefry_bernoulli's draw
        cat = "random bits"
      elif op in ("dot", "convolution") or " dot(" in inner or " convolution(" in inner:
        cat = "matmul"
      elif "u32[" in shape or "pred[" in shape or ("xor(" in inner and "shift-" in inner):
        cat = "random bits"
      elif shape.split("{")[0] in param_shapes or any(
          x.split("{")[0] in param_shapes and len(x.split(",")) > 1
          for x in re.findall(r"= (\S+) parameter\(", inner)):
        cat = "optimizer + grad norm"
      else:
        cat = "other elementwise"
      cats[inst] = cat
  return cats


UNCHARGED = ("random bits", "shuffle", "other elementwise")  # kernels with no counterpart in the step bound


def ceiling(bound_us: float, uncharged_us: float) -> float:
  """The largest fraction of the step bound a step can reach when ``uncharged_us`` of its kernel time per step is
  work the bound does not charge and the rest runs at the bound's speed: ``bound / (bound + uncharged)``."""
  if bound_us <= 0 or uncharged_us < 0:
    raise ValueError(f"ceiling: need bound_us > 0 and uncharged_us ≥ 0, got {bound_us} and {uncharged_us}")
  return bound_us / (bound_us + uncharged_us)


def idle_share(spans) -> float:
  """The share of the time from the first kernel's start to the last one's end during which no kernel event runs on
  any thread (``spans``: ``(start, end)`` pairs). Where XLA:CPU runs a dot on its intra-op threads its trace event
  can cover less than its work (at batch 1,024 the dots' events add up to less than the step bound's charge for
  them), so a large share here flags work that the categories likely undercount."""
  if not spans:
    return 0.0
  busy, start, end = 0.0, None, None
  for s, e in sorted(spans):
    if end is None or s > end:
      busy += 0.0 if end is None else end - start
      start, end = s, e
    else:
      end = max(end, e)
  busy += end - start
  whole = max(e for _, e in spans) - min(s for s, _ in spans)
  return 1.0 - busy / whole if whole > 0 else 0.0


def gap_owners(kernels) -> collections.Counter:
  """name -> the time during which no kernel event runs on any thread, each gap charged to the kernel whose event
  ended at its start (``kernels``: ``(start, end, name)`` triples).

  On XLA:CPU a dot that runs on Eigen's intra-op threads (the ``dot_general`` thunks: at batch 128 the weight
  gradients ``x^T dh``, which contract the batch dimension of both operands) records an event that ends while its
  work goes on, on threads that record none; the next kernel starts when that work is done. The gaps after such a
  kernel are therefore its untraced work, not idle time: charged back to it, the matmuls' time in the step can be
  set beside their charges in the bound."""
  owners = collections.Counter()
  end, last = None, None
  for s, e, name in sorted(kernels):
    if end is not None and s > end:
      owners[last] += s - end
    if end is None or e >= end:
      end, last = e, name
  return owners


def profile(batch: int, num_steps: int, chunks: int) -> dict:
  import jax  # noqa: PLC0415

  from benchmarks import mlp_jax  # noqa: PLC0415

  epoch = mlp_jax.FusedEpoch(batch)
  epoch.setup()
  from vae_jax import train  # noqa: PLC0415

  run = train.make_multi_step(*_parts(epoch), num_steps=num_steps)
  state = epoch.state
  state, m = run(state, epoch.data, epoch.source, epoch.key)
  jax.block_until_ready(m)
  hlo = run.lower(state, epoch.data, epoch.source, epoch.key).compile().as_text()
  shapes = {f"f32[{','.join(map(str, x.shape))}]" for x in jax.tree_util.tree_leaves(state.params)}
  cats = classify(hlo, shapes)
  seconds = []  # wall time of each chunk, outside the profiler
  for _ in range(chunks):
    t = time.perf_counter()
    state, m = run(state, epoch.data, epoch.source, epoch.key)
    jax.block_until_ready(m)
    seconds.append(time.perf_counter() - t)
  with tempfile.TemporaryDirectory() as d:
    with jax.profiler.trace(d, create_perfetto_trace=True):
      for _ in range(chunks):
        state, m = run(state, epoch.data, epoch.source, epoch.key)
        jax.block_until_ready(m)
    events = json.load(gzip.open(glob.glob(f"{d}/**/*.trace.json.gz", recursive=True)[0]))["traceEvents"]
  per_kernel, total, tail = collections.Counter(), collections.Counter(), collections.Counter()
  kernels = []
  for e in events:
    name = e.get("name", "")
    if e.get("ph") != "X" or name not in cats or name.startswith("while"):
      continue
    per_kernel[name] += e.get("dur", 0)
    total[cats[name]] += e.get("dur", 0)
    kernels.append((e["ts"], e["ts"] + e.get("dur", 0), name))
  steps_run = num_steps * chunks
  gaps = gap_owners(kernels)
  for name, us in gaps.items():
    tail[cats[name]] += us
  kernel_us = sum(total.values())
  return {"batch": batch, "steps": steps_run, "kernel_us_per_step": kernel_us / steps_run,
          "wall_us_per_step": 1e6 * statistics.median(seconds) / num_steps,
          "idle_share": idle_share([(s, e) for s, e, _ in kernels]),
          "share": {c: total[c] / kernel_us for c in CATEGORIES},
          "us_per_step": {c: total[c] / steps_run for c in CATEGORIES},
          "gap_after_us_per_step": {c: tail[c] / steps_run for c in CATEGORIES},
          "top": [(k, cats[k], v / steps_run, gaps[k] / steps_run) for k, v in per_kernel.most_common(40)]}


def _parts(epoch):
  from vae_jax import factory  # noqa: PLC0415

  config = mlp_jax.flax_config(epoch.batch, 1)
  model = factory.make_model(config.model, mlp_jax.IMAGE_SHAPE)
  return factory.make_loss(config.method, model, dataset_size=60_000), factory.make_optimizer(config.optimizer)


def main(argv=None):
  p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  p.add_argument("--batch", type=int, default=128)
  p.add_argument("--num-steps", type=int, default=117)
  p.add_argument("--chunks", type=int, default=2)
  p.add_argument("--bound", action="store_true", help="also measure the step bound and print the ceiling it leaves")
  p.add_argument("--name", default=None, help="write benchmarks/results/NAME.json (refused if it exists)")
  p.add_argument("--out-dir", default=records.RESULTS_DIR)
  args = p.parse_args(argv)
  path, t0, load = records.path(args), time.perf_counter(), os.getloadavg()
  print(f"{records.machine_line()}; load average {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} at the start")
  res = profile(args.batch, args.num_steps, args.chunks)
  print(f"batch {res['batch']}: {res['kernel_us_per_step']:.0f} µs of kernels per step ({res['steps']} steps; "
        f"{res['wall_us_per_step']:.0f} µs wall per step outside the profiler; no kernel event running "
        f"{100 * res['idle_share']:.1f} % of the traced time)")
  print(f"  {'':24s} {'events':>8s}     {'share':>5s}   {'gaps after them (untraced work)':>8s}")
  for c in CATEGORIES:
    print(f"  {c:24s} {res['us_per_step'][c]:8.0f} µs  {100 * res['share'][c]:5.1f} %  "
          f"{res['gap_after_us_per_step'][c]:8.0f} µs")
  if args.bound:
    from benchmarks import bound  # noqa: PLC0415

    b = bound.mlp_step_bound(args.batch)
    bound_us = 1e6 * (b["own_matmul_s"] + b["optimizer_s"])  # #16's own-shape bound (benchmarks.bound)
    peak_us = 1e6 * (b["matmul_s"] + b["optimizer_s"])
    uncharged_us = sum(res["us_per_step"][c] for c in UNCHARGED)
    overlap_us = max(0.0, res["kernel_us_per_step"] - res["wall_us_per_step"])
    res.update(bound_us=bound_us, peak_bound_us=peak_us, uncharged_us=uncharged_us,
               ceiling=ceiling(bound_us, uncharged_us),
               loose_ceiling=ceiling(bound_us, max(0.0, uncharged_us - overlap_us)),
               of_bound=bound_us / res["wall_us_per_step"], of_peak_bound=peak_us / res["wall_us_per_step"])
    print(f"step bound (own-shape, #16's): {bound_us:.0f} µs per step ({1e6 * b['own_matmul_s']:.0f} matmuls + "
          f"{1e6 * b['optimizer_s']:.0f} Adam); this step: {100 * res['of_bound']:.0f} % of it (wall); "
          f"{100 * res['of_peak_bound']:.0f} % of the peak-charged bound ({peak_us:.0f} µs)")
    print("  matmul charges (µs): " + ", ".join(f"{k} {v:.0f}" for k, v in b["per_product_own_us"].items()))
    mm_us = res["us_per_step"]["matmul"] + res["gap_after_us_per_step"]["matmul"]
    res.update(matmul_in_step_us=mm_us, matmul_charge_us=1e6 * b["own_matmul_s"])
    print(f"  the step's matmuls: {res['us_per_step']['matmul']:.0f} µs of events + "
          f"{res['gap_after_us_per_step']['matmul']:.0f} µs of untraced work after them = {mm_us:.0f} µs per step, "
          f"{mm_us / (1e6 * b['own_matmul_s']):.2f}× their {1e6 * b['own_matmul_s']:.0f} µs of charges")
    print(f"kernels the bound does not charge ({', '.join(UNCHARGED)}): {uncharged_us:.0f} µs per step -> ceiling "
          f"{100 * res['ceiling']:.0f} % of the bound while they cost this ({100 * res['loose_ceiling']:.0f} % with "
          f"the {overlap_us:.0f} µs by which the kernels overlap credited to them)")
  print("top kernels (event µs per step, and the gap after the event before the next kernel starts):")
  for name, cat, us, gap in res["top"]:
    print(f"  {name:36s} {cat:24s} {us:8.0f} µs  {gap:8.0f} µs")
  if path:
    records.write(path, module="benchmarks.profile_step", argv=argv, args=args, wall_s=time.perf_counter() - t0,
                  load_start=load, results=res)
  return res


from benchmarks import mlp_jax, records  # noqa: E402

if __name__ == "__main__":
  main()
