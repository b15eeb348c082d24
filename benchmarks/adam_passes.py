"""Adam + the gradient norm on the MLP VAE's parameters: optax as the library runs it against one pass per leaf.

    .venv/bin/python -m benchmarks.adam_passes [--steps 200] [--rounds 7]

Issue #16's lead for the MLP step's "optimizer + grad norm" time (2–3× the bytes the step bound charges Adam,
``benchmarks/README.md``): in the compiled step XLA:CPU updates each large weight matrix in three loop fusions (μ′,
ν′, then the parameter from p, μ′, ν′) and reads the gradient once more for the norm — 11 array passes where Adam
needs 7. This times the update alone, both ways, on the parameter shapes of ``benchmarks.bound.MLP_LAYERS``:

* ``optax``: ``optax.adam(1e-3)`` + ``optax.apply_updates`` + the norm as ``vae_jax.train.step.grad_norm`` computes
  it, parameters and moments as separate arrays (the library's state);
* ``one pass``: the same arithmetic on each leaf's parameter, μ and ν stacked into one ``[3, ...]`` array, written
  as one stacked result, so that XLA emits one loop fusion per leaf (reads p, μ, ν, g; writes p′, μ′, ν′);
* ``fused_adam``: :func:`vae_jax.fused_adam.apply` — the library's update on the CPU since the fused handler —
  one custom call over every leaf, in place, the state as optax's, the norm's sum of squares read in the same pass
  (skipped with a message where the handler cannot be built);
* ``fused, XLA's norm``: the same update with the norm computed apart (``vae_jax.train.step.grad_norm``, one more
  read of the gradient), as the library did before the handler read it.

Both run ``--steps`` updates in one jitted ``lax.scan`` (the gradient varies per step), state donated, rounds
interleaved; the script checks that both give the same parameters (to float32 rounding) and prints the medians, the
ratio and the bytes-per-second of each against Adam's 7 passes. The stacked layout is one the library does not
use; ``fused_adam`` is what the step runs.
"""

from __future__ import annotations

import argparse
import statistics
import time

B1, B2, EPS, LR = 0.9, 0.999, 1e-8, 1e-3


def shapes() -> list[tuple[int, ...]]:
  from benchmarks import bound  # noqa: PLC0415

  return [s for _, i, o, _ in bound.MLP_LAYERS for s in ((i, o), (o,))]


def _grads(g0, step):
  import jax  # noqa: PLC0415

  return jax.tree_util.tree_map(lambda g: g * (1.0 + 1e-3 * step.astype(g.dtype)), g0)


def make_optax(steps: int, *, fused: bool = False, xla_norm: bool = False):
  """``(tx, run)``, ``run(params, opt_state, g0) -> (params, opt_state, norms)``: optax's Adam and the library's
  norm; ``fused``: :func:`vae_jax.fused_adam.apply`, the library's update on the CPU, with the norm from its pass
  (``xla_norm``: from ``vae_jax.train.step.grad_norm`` instead, as before the handler read it)."""
  import jax  # noqa: PLC0415
  import jax.numpy as jnp  # noqa: PLC0415
  import optax  # noqa: PLC0415

  from vae_jax import fused_adam  # noqa: PLC0415
  from vae_jax.train import step as train_step  # noqa: PLC0415

  tx = fused_adam.adam(LR, b1=B1, b2=B2, eps=EPS) if fused else optax.adam(LR, b1=B1, b2=B2, eps=EPS)

  def run(params, opt_state, g0):
    def body(carry, i):
      params, opt_state = carry
      g = _grads(g0, i)
      with jax.numpy_dtype_promotion("standard"):
        if fused:  # the norm read in the handler's pass, as the library's step does
          params, opt_state, squares = fused_adam.apply(tx, g, opt_state, params)
          norm = train_step.grad_norm(g) if xla_norm else jnp.sqrt(squares)
        else:
          updates, opt_state = tx.update(g, opt_state, params)
          params, norm = optax.apply_updates(params, updates), train_step.grad_norm(g)
      return (params, opt_state), norm

    (params, opt_state), norms = jax.lax.scan(body, (params, opt_state), jnp.arange(steps))
    return params, opt_state, norms

  return tx, jax.jit(run, donate_argnums=(0, 1))


def make_one_pass(steps: int):
  """``run(stacked, count, g0) -> (stacked, count, norms)``: each leaf's ``[p, μ, ν]`` updated as one array."""
  import jax  # noqa: PLC0415
  import jax.numpy as jnp  # noqa: PLC0415

  from vae_jax.train import step as train_step  # noqa: PLC0415

  def leaf(s, g, c1, c2):
    p, mu, nu = s[0], s[1], s[2]
    mu = B1 * mu + (1.0 - B1) * g
    nu = B2 * nu + (1.0 - B2) * (g * g)
    p = p - LR * (mu / c1) / (jnp.sqrt(nu / c2) + EPS)
    return jnp.stack([p, mu, nu])

  def run(stacked, count, g0):
    def body(carry, i):
      stacked, count = carry
      g = _grads(g0, i)
      count = count + 1
      c1 = 1.0 - B1 ** count.astype(jnp.float32)
      c2 = 1.0 - B2 ** count.astype(jnp.float32)
      return (jax.tree_util.tree_map(lambda s, gl: leaf(s, gl, c1, c2), stacked, g), count), train_step.grad_norm(g)

    (stacked, count), norms = jax.lax.scan(body, (stacked, count), jnp.arange(steps))
    return stacked, count, norms

  return jax.jit(run, donate_argnums=(0, 1))


def measure(steps: int, rounds: int) -> dict:
  import jax  # noqa: PLC0415
  import jax.numpy as jnp  # noqa: PLC0415
  import numpy as np  # noqa: PLC0415

  from vae_jax import fused_adam  # noqa: PLC0415

  keys = jax.random.split(jax.random.key(0), 2 * len(shapes()))
  params = [jax.random.normal(k, s, jnp.float32) * 0.05 for k, s in zip(keys[::2], shapes())]
  g0 = [jax.random.normal(k, s, jnp.float32) for k, s in zip(keys[1::2], shapes())]
  tx, run_optax = make_optax(steps)
  run_one = make_one_pass(steps)
  opt_state = tx.init([p.copy() for p in params])
  ref = run_optax([p.copy() for p in params], opt_state, g0)
  one = run_one([jnp.stack([p, jnp.zeros_like(p), jnp.zeros_like(p)]) for p in params], jnp.int32(0), g0)
  for a, b in zip(ref[0], one[0]):
    np.testing.assert_allclose(np.asarray(b[0]), np.asarray(a), rtol=1e-5, atol=1e-6)
  np.testing.assert_array_equal(np.asarray(ref[2]), np.asarray(one[2]))
  runs = {"optax": [run_optax, (ref[0], ref[1])], "one pass": [run_one, (one[0], one[1])]}
  if fused_adam.available():
    _, run_fused = make_optax(steps, fused=True)
    fused = run_fused([p.copy() for p in params], tx.init(params), g0)
    for a, b in zip(ref[0], fused[0]):
      np.testing.assert_allclose(np.asarray(b), np.asarray(a), rtol=1e-5, atol=1e-6)
    runs["fused_adam"] = [run_fused, (fused[0], fused[1])]
    _, run_apart = make_optax(steps, fused=True, xla_norm=True)
    apart = run_apart([p.copy() for p in params], tx.init(params), g0)
    np.testing.assert_allclose(np.asarray(fused[2]), np.asarray(apart[2]), rtol=1e-6)  # the two norms
    runs["fused, XLA's norm"] = [run_apart, (apart[0], apart[1])]
  else:
    print(f"fused_adam skipped: {fused_adam.why_unavailable()}")
  times: dict[str, list[float]] = {name: [] for name in runs}
  for _ in range(rounds):
    for name, entry in runs.items():
      t = time.perf_counter()
      a, b, n = entry[0](*entry[1], g0)
      jax.block_until_ready(n)
      times[name].append(time.perf_counter() - t)
      entry[1] = (a, b)
  floats = sum(int(np.prod(s)) for s in shapes())
  out = {"steps": steps, "rounds": rounds, "parameters": floats}
  for name, ts in times.items():
    per_step = statistics.median(ts) / steps
    out[name] = {"us_per_step": 1e6 * per_step, "adam_gb_s": 7 * 4 * floats / per_step / 1e9}
  out["ratio"] = statistics.median(a / b for a, b in zip(times["optax"], times["one pass"]))
  if "fused_adam" in times:
    out["fused_ratio"] = statistics.median(a / b for a, b in zip(times["optax"], times["fused_adam"]))
    out["norm_ratio"] = statistics.median(a / b for a, b in zip(times["fused, XLA's norm"], times["fused_adam"]))
  return out


def main(argv=None) -> dict:
  p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  p.add_argument("--steps", type=int, default=200)
  p.add_argument("--rounds", type=int, default=7)
  args = p.parse_args(argv)
  from experiments import arg_types  # noqa: PLC0415  (here, not at the top: see experiments.arg_types)

  arg_types.require(p, args, steps=1, rounds=1)
  res = measure(args.steps, args.rounds)
  print(f"Adam + grad norm over {res['parameters']:,} parameters, {res['steps']} updates per call, "
        f"medians of {res['rounds']} interleaved rounds (same parameters to float32 rounding, same norms):")
  for name in ("optax", "one pass", "fused_adam", "fused, XLA's norm"):
    if name in res:
      r = res[name]
      print(f"  {name:17s} {r['us_per_step']:8.0f} µs per update  ({r['adam_gb_s']:.1f} GB/s of Adam's 7 passes)")
  print(f"  optax / one pass: {res['ratio']:.2f}× the time (median of per-round ratios)")
  if "fused_ratio" in res:
    print(f"  optax / fused_adam: {res['fused_ratio']:.2f}× the time (median of per-round ratios)")
    print(f"  fused with XLA's norm / fused_adam (the norm read in its pass): {res['norm_ratio']:.2f}× the time")
  return res


if __name__ == "__main__":
  main()
