"""Dynamic binarization's draw on the MLP benchmark's batches: JAX's lowerings against the library's handler.

    .venv/bin/python -m benchmarks.bernoulli_draw [--batches 128 1024] [--draws 50] [--rounds 9] [--epochs 5]

Issue #16's "random bits for dynamic binarization": a fresh Bernoulli draw of every pixel of the batch each step, one
of the kernels the MLP step bound does not charge (``benchmarks/README.md``). Times, on ``[batch, 28, 28, 1]``
probabilities, ``--draws`` draws in one jitted ``lax.scan`` (each from ``fold_in(key, i)``, summed so none is
dropped), rounds interleaved:

* ``jax.random``: ``jax.random.bernoulli`` with a default key — JAX's CPU lowering of the Threefry hash;
* ``unrolled``: the same with the key re-typed by :func:`vae_jax.train.fast_key` (straight-line ``jnp``, fused by
  XLA into the comparison) — the library's step before the handler;
* ``handler``: :func:`vae_jax.threefry_bernoulli.bernoulli` — the library's step on a single-device CPU (skipped
  with a message where the handler cannot be built).

Every contender's draws are checked equal, bit for bit, before timing. Prints µs per draw, ns per pixel and the
ratios to the handler.

Then, in the step: ``benchmarks.mlp_jax.FusedEpoch`` (the real loop's fused epoch of the Flax example's VAE on
Fashion-MNIST, with the fused Adam where it is built) at each batch size, compiled once with
``VAE_JAX_FUSED_BERNOULLI=0`` and once with ``1`` in the same process, ``--epochs`` rounds interleaved; both start
from the same state and key, so the script also reports whether their parameters are still equal bit for bit
(``--epochs 0`` skips this part; ``--num-train`` shortens the epoch).
"""

from __future__ import annotations

import argparse
import statistics
import time

PIXELS = (28, 28, 1)


def contenders():
  """``{name: (draw(key, p), key transform)}``."""
  import jax  # noqa: PLC0415

  from vae_jax import threefry_bernoulli, train  # noqa: PLC0415

  def plain(key, p):
    return jax.random.bernoulli(key, p).astype(p.dtype)

  out = {"jax.random": (plain, lambda k: k), "unrolled": (plain, train.fast_key)}
  if threefry_bernoulli.available():
    out["handler"] = (threefry_bernoulli.bernoulli, train.fast_key)
  else:
    print(f"handler skipped: {threefry_bernoulli.why_unavailable()}")
  return out


def measure(batch: int, draws: int, rounds: int) -> dict:
  import jax  # noqa: PLC0415
  import jax.numpy as jnp  # noqa: PLC0415
  import numpy as np  # noqa: PLC0415

  p = jax.random.uniform(jax.random.key(1), (batch, *PIXELS))
  key = jax.random.key(0)
  runs, first = {}, {}
  for name, (draw, retype) in contenders().items():
    def run(key, p, draw=draw, retype=retype):
      def body(total, i):
        return total + draw(retype(jax.random.fold_in(key, i)), p).sum(), None
      return jax.lax.scan(body, jnp.float32(0), jnp.arange(draws))[0]
    runs[name] = jax.jit(run)
    first[name] = np.asarray(jax.jit(lambda k, p, d=draw, r=retype: d(r(k), p))(key, p))
    jax.block_until_ready(runs[name](key, p))  # compile
  for name, x in first.items():
    np.testing.assert_array_equal(x, first["jax.random"], err_msg=f"{name} draws other bits")
  times: dict[str, list[float]] = {name: [] for name in runs}
  for _ in range(rounds):
    for name, run in runs.items():
      t = time.perf_counter()
      jax.block_until_ready(run(key, p))
      times[name].append(time.perf_counter() - t)
  pixels = batch * int(np.prod(PIXELS))
  out = {"batch": batch, "draws": draws, "rounds": rounds, "pixels": pixels}
  for name, ts in times.items():
    per = statistics.median(ts) / draws
    out[name] = {"us_per_draw": 1e6 * per, "ns_per_pixel": 1e9 * per / pixels}
  if "handler" in times:
    for name in ("jax.random", "unrolled"):
      out[name]["x_handler"] = statistics.median(a / b for a, b in zip(times[name], times["handler"]))
  return out


def measure_epochs(batch: int, epochs: int, num_train: int = 0) -> dict:
  """Images per second of the fused epoch without (XLA's fusion of the unrolled hash, as the step drew before) and
  with the handler (``VAE_JAX_FUSED_BERNOULLI`` 0 / 1, read
  when each epoch is traced), rounds interleaved, and whether the two states stayed equal bit for bit."""
  import os  # noqa: PLC0415

  import jax  # noqa: PLC0415
  import numpy as np  # noqa: PLC0415

  from benchmarks import mlp_jax  # noqa: PLC0415

  epochs_by_switch, before = {}, os.environ.get("VAE_JAX_FUSED_BERNOULLI")
  try:
    for switch in ("0", "1"):
      os.environ["VAE_JAX_FUSED_BERNOULLI"] = switch
      epochs_by_switch[switch] = mlp_jax.FusedEpoch(batch, num_train)
      epochs_by_switch[switch].setup()  # compiles and runs a first epoch
  finally:
    if before is None:
      os.environ.pop("VAE_JAX_FUSED_BERNOULLI", None)
    else:
      os.environ["VAE_JAX_FUSED_BERNOULLI"] = before
  speeds: dict[str, list[float]] = {"0": [], "1": []}
  for _ in range(epochs):
    for switch, epoch in epochs_by_switch.items():
      speeds[switch].append(epoch.run()["images_per_s"])
  same = all(np.array_equal(a, b) for a, b in zip(
      jax.tree_util.tree_leaves(jax.device_get(epochs_by_switch["0"].state.params)),
      jax.tree_util.tree_leaves(jax.device_get(epochs_by_switch["1"].state.params))))
  return {"batch": batch, "epochs": epochs, "jax_images_per_sec": statistics.median(speeds["0"]),
          "handler_images_per_sec": statistics.median(speeds["1"]),
          "ratio": statistics.median(b / a for a, b in zip(speeds["0"], speeds["1"])), "same_params": same}


def main(argv=None) -> list[dict]:
  ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  ap.add_argument("--batches", type=int, nargs="+", default=[128, 1024])
  ap.add_argument("--draws", type=int, default=50)
  ap.add_argument("--rounds", type=int, default=9)
  ap.add_argument("--epochs", type=int, default=5, help="fused-epoch rounds per batch size (0: skip)")
  ap.add_argument("--num-train", type=int, default=0, help="images per epoch (0: all 60,000)")
  args = ap.parse_args(argv)
  from experiments import arg_types  # noqa: PLC0415  (here, not at the top: see experiments.arg_types)

  arg_types.require(ap, args, batches=1, draws=1, rounds=1, epochs=0, num_train=0)
  results = []
  for batch in args.batches:
    res = measure(batch, args.draws, args.rounds)
    results.append(res)
    print(f"batch {batch} ({res['pixels']:,} pixels), {args.draws} draws per call, medians of {args.rounds} "
          "interleaved rounds (every contender's draws equal bit for bit):")
    for name in ("jax.random", "unrolled", "handler"):
      if name in res:
        r = res[name]
        ratio = f"  {r['x_handler']:.2f}× the handler's time" if "x_handler" in r else ""
        print(f"  {name:11s} {r['us_per_draw']:9.1f} µs per draw  {r['ns_per_pixel']:6.2f} ns per pixel{ratio}")
  from vae_jax import threefry_bernoulli  # noqa: PLC0415

  if args.epochs and threefry_bernoulli.available():
    for batch in args.batches:
      res = measure_epochs(batch, args.epochs, args.num_train)
      results.append(res)
      print(f"fused epoch, batch {batch}, medians of {args.epochs} interleaved epochs: "
            f"{res['jax_images_per_sec']:,.0f} images/s with XLA's draw (the unrolled hash), "
            f"{res['handler_images_per_sec']:,.0f} with the handler ({res['ratio']:.3f}× the speed); "
            f"parameters after the same epochs {'equal' if res['same_params'] else 'NOT equal'} bit for bit")
  return results


if __name__ == "__main__":
  main()
