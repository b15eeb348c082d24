"""Where the fused training step's time goes: XLA's per-kernel times from a profiler trace, grouped by kind.

    .venv/bin/python -m benchmarks.profile_step --batch 128 [--chunks 2] [--num-steps 117] [--bound] [--rounds 3]
                                                [--num-train N] [--name NAME]

Runs the real loop's fused multi-step (the Flax example's MLP VAE, uint8 Fashion-MNIST on device, dynamic
binarization; each chunk's epoch shuffles sorted on the host and attached, as the real loop attaches them) under
``jax.profiler.trace``, reads the Perfetto trace, matches each kernel ("thunk") to its instruction in the compiled HLO
and sums the time by category (containers — while loops, conditionals, calls — are left out: their events span the
kernels inside them):

* ``matmul`` — dots and fusions around a dot (YNNPACK/Eigen);
* ``random bits`` — fusions doing the threefry hash (integer xor/shift) and the Bernoulli comparison;
* ``optimizer + grad norm`` — kernels on parameter-shaped arrays that are not matmuls (Adam's moment and
  parameter updates or :mod:`vae_jax.fused_adam`'s one custom call, the squares and sums of the gradient norm,
  parameter copies);
* ``shuffle`` — sorts (an in-program epoch permutation; none in the real loop's program, whose shuffles come
  from the host);
* ``other elementwise`` — the rest: the loss (softplus, sigmoid), activations, KL, bias gradients, bookkeeping.

Shares are of the summed kernel time (kernels of the two CPU threads can overlap, so the sum can exceed wall time).

``--bound`` also measures the MLP step bound (``benchmarks.bound.mlp_step_bound``: its own-shape bound, issue #16's
definition; the peak-charged one beside it) in the same process and prints the **ceiling** it leaves the step: the
bound charges only the matmuls (at their best measured speed) and Adam's bytes, so the step's other kernels — random
bits, the shuffle, the other elementwise work — come on top of the bound's time even if matmuls and Adam ran at the
bound's speed. With ``u`` those kernels' time per step and ``b`` the bound's, the step cannot exceed ``b / (b + u)``
of the bound while that work costs what it does, if they overlap nothing. Kernels on the two CPU threads can
overlap: by at least the work per step (kernel events plus the untraced work after them, :func:`gap_owners`) minus
the wall time per step (timed outside the profiler), and crediting all of that overlap to the uncharged kernels
gives the loose ceiling ``b / (b + u − overlap)``. Both are readings of one process at one time, not hard caps: the
bound is timed after the profile, and on a shared VM a product's speed drifts between minutes, so the step can read
above a ceiling computed from a bound timed slower than it ran (``--rounds`` sets the step's products against
themselves alone, interleaved, for that reason). A ceiling says how much of the bound the uncharged work takes, not
whether a target is reachable to the point.
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
      if op in ("while", "conditional", "call"):  # containers: their events span the kernels inside them
        continue
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

  On XLA:CPU a dot that runs on Eigen's intra-op threads (the ``dot_general`` thunks, such as the weight gradients
  ``x^T dh``, which contract the batch dimension of both operands: at batch 1,024 the encoder's is followed by ≈ 3.5
  ms of gap per step) records an event that ends while its work goes on, on threads that record none; the next
  kernel starts when that work is done. The gaps after such a kernel are therefore mostly its untraced work, not
  idle time: charged back to it, the matmuls' time in the step can be set beside the same products timed alone.
  (A gap after another kind of kernel is charged to it the same way; it may be dispatch or a dot's work that
  began earlier.)"""
  owners = collections.Counter()
  end, last = None, None
  for s, e, name in sorted(kernels):
    if end is not None and s > end:
      owners[last] += s - end
    if end is None or e >= end:
      end, last = e, name
  return owners


class LoopStep:
  """The real loop's fused multi-step at ``batch`` (its step function and on-device data path, on one device and
  without the loop's sharding annotations), compiled once and run once, with its kernels' categories."""

  def __init__(self, batch: int, num_steps: int, num_train: int = 0):
    import jax  # noqa: PLC0415

    from benchmarks import mlp_jax  # noqa: PLC0415
    from vae_jax import train  # noqa: PLC0415

    self.epoch = mlp_jax.FusedEpoch(batch, num_train)  # num_train: its images (0: all 60,000)
    self.epoch.setup()
    self.num_steps, self.shuffles = num_steps, {}
    run = train.make_multi_step(*_parts(self.epoch), num_steps=num_steps)
    self.state = self.epoch.state
    # Compiled once: the program run is the program whose HLO names the kernels.
    self.run = run.lower(self.state, self.epoch.data, self._source(), self.epoch.key).compile()
    self.chunk()
    hlo = self.run.as_text()
    shapes = {f"f32[{','.join(map(str, x.shape))}]" for x in jax.tree_util.tree_leaves(self.state.params)}
    self.cats = classify(hlo, shapes)

  def _source(self):
    """The batches of the next chunk with its epochs' shuffles attached, sorted on the host, as the real loop
    attaches them (``vae_jax.train.loop``): the program profiled has no sort inside. Ready on return."""
    import jax  # noqa: PLC0415

    return jax.block_until_ready(
        self.epoch.source.with_permutations(int(self.state.step), self.num_steps, self.shuffles))

  def chunk(self, source=None) -> float:
    """Runs ``num_steps`` steps; returns their wall seconds (the host's shuffle for them is not timed)."""
    import jax  # noqa: PLC0415

    source = self._source() if source is None else source
    t = time.perf_counter()
    self.state, m = self.run(self.state, self.epoch.data, source, self.epoch.key)
    jax.block_until_ready(m)
    return time.perf_counter() - t

  def traced(self, chunks: int) -> tuple[collections.Counter, collections.Counter, float]:
    """``chunks`` chunks, each traced alone with its batches built before the trace starts (so neither the host's
    shuffle nor the stacking of the shuffles is in it, nor the time between two chunks): each kernel's summed
    event time, the gaps charged to it (µs), and the share of the traced time with no kernel event running."""
    import jax  # noqa: PLC0415

    per_kernel, gaps, idle_us, whole_us = collections.Counter(), collections.Counter(), 0.0, 0.0
    for _ in range(chunks):
      source = self._source()
      with tempfile.TemporaryDirectory() as d:
        with jax.profiler.trace(d, create_perfetto_trace=True):
          self.chunk(source)
        events = json.load(gzip.open(glob.glob(f"{d}/**/*.trace.json.gz", recursive=True)[0]))["traceEvents"]
      kernels = []
      for e in events:
        name = e.get("name", "")
        if e.get("ph") != "X" or name not in self.cats:  # containers (while, conditional) are not in cats
          continue
        per_kernel[name] += e.get("dur", 0)
        kernels.append((e["ts"], e["ts"] + e.get("dur", 0), name))
      if kernels:
        whole = max(e for _, e, _ in kernels) - min(s for s, _, _ in kernels)
        idle_us += idle_share([(s, e) for s, e, _ in kernels]) * whole
        whole_us += whole
      gaps.update(gap_owners(kernels))
    return per_kernel, gaps, idle_us / whole_us if whole_us > 0 else 0.0


def profile(step: LoopStep, chunks: int) -> dict:
  seconds = [step.chunk() for _ in range(chunks)]  # wall time of each chunk, outside the profiler
  per_kernel, gaps, idle = step.traced(chunks)
  cats, num_steps = step.cats, step.num_steps
  steps_run = num_steps * chunks
  total, tail = collections.Counter(), collections.Counter()
  for name, us in per_kernel.items():
    total[cats[name]] += us
  for name, us in gaps.items():
    tail[cats[name]] += us
  kernel_us = sum(total.values())
  return {"batch": step.epoch.batch, "steps": steps_run, "kernel_us_per_step": kernel_us / steps_run,
          "wall_us_per_step": 1e6 * statistics.median(seconds) / num_steps, "idle_share": idle,
          "share": {c: total[c] / kernel_us for c in CATEGORIES},
          "us_per_step": {c: total[c] / steps_run for c in CATEGORIES},
          "gap_after_us_per_step": {c: tail[c] / steps_run for c in CATEGORIES},
          "top": [(k, cats[k], v / steps_run, gaps[k] / steps_run) for k, v in per_kernel.most_common(40)]}


def matmul_rounds(step: LoopStep, rounds: int) -> list[dict]:
  """``rounds`` rounds of: each of the step's products timed alone (``benchmarks.bound.matmul_seconds``; the
  own-shape bound charges the faster of that and the product's in-program time), then one traced chunk of the step.
  Per round: the products' alone time and the step's matmul kernels' time per step, events plus the gaps after them
  (:func:`gap_owners`) — the in-step products against the same products alone, measured within a minute of each
  other, so the VM's drift between minutes does not read as a difference."""
  from benchmarks import bound  # noqa: PLC0415

  out = []
  for _ in range(rounds):
    alone_us = sum(1e6 * bound.matmul_seconds(e, b, i, o)
                   for _, e, b, i, o in bound.step_matmuls(step.epoch.batch, bound.MLP_LAYERS_FUSED_HEADS))
    per_kernel, gaps, _ = step.traced(1)
    in_step_us = sum(per_kernel[k] + gaps[k] for k in per_kernel if step.cats[k] == "matmul") / step.num_steps
    out.append({"alone_us": alone_us, "in_step_us": in_step_us, "ratio": in_step_us / alone_us})
  return out


def _parts(epoch):
  from vae_jax import factory  # noqa: PLC0415

  config = mlp_jax.flax_config(epoch.batch, 1)
  model = factory.make_model(config.model, mlp_jax.IMAGE_SHAPE)
  return (factory.make_loss(config.method, model, dataset_size=epoch.source.num_examples),
          factory.make_optimizer(config.optimizer))


def main(argv=None):
  p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  p.add_argument("--batch", type=int, default=128)
  p.add_argument("--num-steps", type=int, default=117)
  p.add_argument("--chunks", type=int, default=2)
  p.add_argument("--bound", action="store_true", help="also measure the step bound and print the ceiling it leaves")
  p.add_argument("--num-train", type=int, default=0, help="training images on device (0: all 60,000)")
  p.add_argument("--rounds", type=int, default=0,
                 help="also N rounds of the step's products alone, then a traced chunk: their in-step time against "
                      "their alone time, round by round (matmul_rounds)")
  p.add_argument("--name", default=None, help="write benchmarks/results/NAME.json (refused if it exists)")
  p.add_argument("--out-dir", default=records.RESULTS_DIR)
  args = p.parse_args(argv)
  from experiments import arg_types  # noqa: PLC0415  (here, not at the top: see experiments.arg_types)

  arg_types.require(p, args, batch=1, num_steps=1, chunks=1, rounds=0, num_train=0)
  if args.num_train and args.num_train < args.batch:
    p.error(f"--num-train {args.num_train} holds no batch of {args.batch}: give at least --batch images (0: all)")
  path, t0, load = records.path(args), time.perf_counter(), os.getloadavg()
  print(f"{records.machine_line()}; load average {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} at the start")
  step = LoopStep(args.batch, args.num_steps, args.num_train)  # compiled once, for the profile and the rounds
  res = profile(step, args.chunks)
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
    gap_us = sum(res["gap_after_us_per_step"].values())
    overlap_us = max(0.0, res["kernel_us_per_step"] + gap_us - res["wall_us_per_step"])
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
    print(f"kernels the bound does not charge ({', '.join(UNCHARGED)}): {uncharged_us:.0f} µs per step "
          f"({100 * uncharged_us / bound_us:.0f} % of the bound) -> ceiling "
          f"{100 * res['ceiling']:.0f} % of the bound while they cost this ({100 * res['loose_ceiling']:.0f} % with "
          f"the {overlap_us:.0f} µs by which the kernels overlap credited to them)")
  print("top kernels (event µs per step, and the gap after the event before the next kernel starts):")
  for name, cat, us, gap in res["top"]:
    print(f"  {name:36s} {cat:24s} {us:8.0f} µs  {gap:8.0f} µs")
  if args.rounds:
    res["matmul_rounds"] = matmul_rounds(step, args.rounds)
    print(f"the step's matmuls (events + the gaps after them) against the same products alone, {args.rounds} "
          f"rounds of alone-then-traced ({args.num_steps} steps each):")
    for k, r in enumerate(res["matmul_rounds"]):
      print(f"  round {k}: {r['in_step_us']:.0f} µs in the step, {r['alone_us']:.0f} µs alone: {r['ratio']:.2f}×")
  if path:
    records.write(path, module="benchmarks.profile_step", argv=argv, args=args, wall_s=time.perf_counter() - t0,
                  load_start=load, results=res)
  return res


from benchmarks import mlp_jax, records  # noqa: E402

if __name__ == "__main__":
  main()
