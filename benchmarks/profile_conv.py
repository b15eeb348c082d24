"""Where the conv β-VAE's training step goes: XLA's per-kernel times from a profiler trace, by layer and kind.

    .venv/bin/python -m benchmarks.profile_conv [--batch 64] [--steps 5] [--bound]

Compiles one update of the benchmark's conv β-VAE (``benchmarks.conv_jax``: Higgins et al.'s net, 64×64 sprites
rendered in the step, β = 4, Adam), the way ``make_multi_step(loop="host")`` calls it, runs ``steps`` of them
under ``jax.profiler.trace`` and sums each kernel's time under the layer named in its HLO metadata
(``encoder/conv_1``, ``decoder/deconv_2``, …; the optimizer; the rest: sprites, loss, KL) and its kind:
``conv/matmul`` (convolutions, dots, oneDNN's convolution custom calls, the library fusions around them) or
``other`` (copies, transposes, pads, elementwise). Kernels of XLA:CPU's threads can overlap, so the sum can exceed
the wall time. ``--bound`` also measures :func:`benchmarks.bound.conv_step_bound` and prints each conv layer's
kernel time beside the own-shape bound's charge for its products: where the step is furthest from the bound, and
whether any layer runs faster than its charge (the bound would then not bound).
"""

from __future__ import annotations

import argparse
import collections
import glob
import gzip
import json
import re
import tempfile
import time


def _hlo_index(hlo: str) -> dict[str, tuple[str, str]]:
  """instruction name → (layer, kind) for every instruction of the compiled module."""
  out = {}
  for line in hlo.splitlines():
    m = re.match(r"\s*(?:ROOT )?%([\w.\-]+) = (\(.*?\)|\S+) ([\w\-]+)\(", line)
    if not m:
      continue
    name, _, op = m.groups()
    path = re.search(r'op_name="([^"]*)"', line)
    path = path.group(1) if path else ""
    layer = re.search(r"(encoder|decoder)/(\w+)", path)
    if layer:
      layer = f"{layer.group(1)}/{layer.group(2)}"
    elif "adam" in path.lower() or "optax" in path.lower() or "apply_updates" in path:
      layer = "optimizer"
    else:
      layer = "other (sprites, loss, KL, heads)"
    library = op == "custom-call" and "vae_jax_onednn" in line  # oneDNN's convolutions (vae_jax.onednn_conv)
    kind = ("conv/matmul" if op in ("convolution", "dot") or library or "ynn_fusion" in name or "dot" in name
            else "other")
    out[name] = (layer, kind)
  return out


def profile(batch: int, steps_run: int) -> dict:
  import jax  # noqa: PLC0415

  from benchmarks import conv_jax  # noqa: PLC0415

  update, state, key = conv_jax.one_update(batch)
  one = jax.jit(update, donate_argnums=0)
  state, m = one(state, key)
  jax.block_until_ready(m)
  index = _hlo_index(one.lower(state, key).compile().as_text())
  t0 = time.perf_counter()
  with tempfile.TemporaryDirectory() as d:
    with jax.profiler.trace(d, create_perfetto_trace=True):
      for _ in range(steps_run):
        state, m = one(state, key)
      jax.block_until_ready(m)
    wall = (time.perf_counter() - t0) / steps_run
    events = json.load(gzip.open(glob.glob(f"{d}/**/*.trace.json.gz", recursive=True)[0]))["traceEvents"]
  by = collections.Counter()
  for e in events:
    if e.get("ph") == "X" and e.get("name") in index:
      by[index[e["name"]]] += e.get("dur", 0) / steps_run
  return {"batch": batch, "wall_ms": wall * 1e3, "kernel_ms": sum(by.values()) / 1e3,
          "ms": {f"{layer} | {kind}": us / 1e3 for (layer, kind), us in sorted(by.items())}}


def against_bound(ms: dict[str, float], own_us: dict[str, float]) -> dict[str, tuple[float, float]]:
  """``layer -> (kernel ms in the step, the own-shape bound's ms for its products)`` for every conv layer of
  :data:`benchmarks.bound.CONV_LAYERS`: the profile's ``encoder/conv_i`` / ``decoder/deconv_i``, ``decoder/out``
  (both kinds of kernel) against the bound's ``conv_i.*`` / ``deconv_i.*`` / ``out.*`` products."""
  from benchmarks import bound  # noqa: PLC0415

  out = {}
  for name, *_ in bound.CONV_LAYERS:
    layer = f"{'encoder' if name.startswith('conv') else 'decoder'}/{name}"
    step = sum(v for k, v in ms.items() if k.split(" | ")[0] == layer)
    out[layer] = (step, sum(v for k, v in own_us.items() if k.split(".")[0] == name) / 1e3)
  return out


def main(argv=None):
  p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  p.add_argument("--batch", type=int, default=64)
  p.add_argument("--steps", type=int, default=5)
  p.add_argument("--bound", action="store_true", help="each conv layer beside the own-shape bound's charge")
  args = p.parse_args(argv)
  from experiments import arg_types  # noqa: PLC0415  (here, not at the top: see experiments.arg_types)

  arg_types.require(p, args, batch=1, steps=1)
  res = profile(args.batch, args.steps)
  print(f"batch {res['batch']}: {res['wall_ms']:.0f} ms per step (profiled), {res['kernel_ms']:.0f} ms of kernels")
  for k, v in sorted(res["ms"].items(), key=lambda kv: -kv[1]):
    print(f"  {k:50s} {v:8.1f} ms  {100 * v / res['kernel_ms']:5.1f} %")
  if args.bound:
    from benchmarks import bound  # noqa: PLC0415

    b = bound.conv_step_bound(args.batch)
    res["bound"] = {k: v for k, v in b.items() if not k.startswith("per_")} | {"own_us": b["per_product_own_us"]}
    res["layers"] = against_bound(res["ms"], b["per_product_own_us"])
    print(f"own-shape bound {b['own_bound_images_per_s']:.0f} images/s ({1e3 * b['own_matmul_s']:.1f} ms of products"
          f" + {1e3 * b['optimizer_s']:.1f} ms Adam); peak-charged {b['bound_images_per_s']:.0f} images/s")
    print(f"  {'layer':22s} {'step ms':>8s} {'bound ms':>9s} {'step/bound':>10s}")
    for layer, (step, charge) in res["layers"].items():
      print(f"  {layer:22s} {step:8.1f} {charge:9.1f} {step / charge:10.2f}")
  return res


if __name__ == "__main__":
  main()
