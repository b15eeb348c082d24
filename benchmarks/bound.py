"""The step bound: what one training step of the MLP VAE must cost on this device, from measured parts.

    bound time per step = Σ_shapes t_XLA(matmul at the batch size) + 7 · P · 4 bytes / bandwidth

* Matmuls: every dense layer's forward product ``[B, in]·[in, out]``, weight gradient ``xᵀ·δ`` (``[in, B]·[B,
  out]``) and input gradient ``δ·Wᵀ`` (``[B, out]·[out, in]``; not for the first layer, whose input needs no
  gradient), each timed alone as one jitted ``jnp.einsum`` on this device: ``stack`` calls back to back
  (asynchronous dispatch overlaps the next call's dispatch with this one's work), median of ``reps`` timings.
  Biases, activations, the loss and the random numbers are left out: this is a bound, not a model.
* Optimizer: Adam reads the gradient, the two moments and the parameters and writes the moments and the
  parameters — ≈ 7 arrays of P = 815,824 float32 — at the bandwidth of a large on-device ``x + 1`` (2²⁵
  floats, read and written in place; its buffer donated, so no fresh pages are touched).

``bound images/s = B / bound time``; the driver divides each contender's images/s by it ("fraction of bound").
"""

from __future__ import annotations

import math
import statistics
import time

from benchmarks import timing

# The Flax example's MLP VAE: (name, fan_in, fan_out, needs the input gradient).
MLP_LAYERS = (("enc", 784, 500, False), ("mean", 500, 20, True), ("logvar", 500, 20, True),
              ("dec_hidden", 20, 500, True), ("dec_out", 500, 784, True))
MLP_PARAMS = sum(i * o + o for _, i, o, _ in MLP_LAYERS)  # 815,824
ADAM_ARRAYS = 7


def step_matmuls(batch: int, layers=MLP_LAYERS) -> list[tuple[str, str, int, int, int]]:
  """``(label, einsum, d0, d1, d2)`` for every matmul of one forward+backward pass at ``batch``."""
  out = []
  for name, fan_in, fan_out, input_grad in layers:
    out.append((f"{name}.fwd", "bi,io->bo", batch, fan_in, fan_out))
    out.append((f"{name}.dW", "bi,bo->io", batch, fan_in, fan_out))
    if input_grad:
      out.append((f"{name}.dx", "bo,io->bi", batch, fan_in, fan_out))
  return out


def _operands(einsum: str, b: int, i: int, o: int):
  import jax  # noqa: PLC0415
  import jax.numpy as jnp  # noqa: PLC0415

  dims = {"b": b, "i": i, "o": o}
  lhs, rhs = einsum.split("->")[0].split(",")
  k1, k2 = jax.random.split(jax.random.key(0))
  return (jax.random.normal(k1, tuple(dims[c] for c in lhs), jnp.float32),
          jax.random.normal(k2, tuple(dims[c] for c in rhs), jnp.float32))


def _median_call_seconds(fn, args, calls: int, reps: int) -> float:
  """Median over ``reps`` of the mean time of ``calls`` back-to-back calls (dispatch overlaps execution)."""
  timing.block(fn(*args))
  times = []
  for _ in range(reps):
    t0 = time.perf_counter()
    for _ in range(calls):
      out = fn(*args)
    timing.block(out)
    times.append((time.perf_counter() - t0) / calls)
  return statistics.median(times)


def matmul_seconds(einsum: str, b: int, i: int, o: int, *, stack: int = 8, reps: int = 3) -> float:
  """Seconds for one jitted ``einsum`` product at these sizes: ``stack`` calls in a row, median of ``reps``."""
  import jax  # noqa: PLC0415
  import jax.numpy as jnp  # noqa: PLC0415

  return _median_call_seconds(jax.jit(lambda x, y: jnp.einsum(einsum, x, y)), _operands(einsum, b, i, o),
                              stack, reps)


def bandwidth_gbs(num_floats: int = 2**25, reps: int = 3) -> float:
  """Device memory bandwidth in GB/s: a jitted, donated (in place) ``x + 1`` over ``num_floats`` float32."""
  import jax  # noqa: PLC0415
  import jax.numpy as jnp  # noqa: PLC0415

  add = jax.jit(lambda x: x + 1.0, donate_argnums=0)
  x = timing.block(add(jnp.zeros((num_floats,), jnp.float32)))
  times = []
  for _ in range(reps):
    t0 = time.perf_counter()
    for _ in range(4):
      x = add(x)
    timing.block(x)
    times.append((time.perf_counter() - t0) / 4)
  return 2 * 4 * num_floats / statistics.median(times) / 1e9


def mlp_step_bound(batch: int, *, stack: int = 8, reps: int = 3, bandwidth_floats: int = 2**25) -> dict:
  """The bound for one training step of the MLP VAE at ``batch`` (see the module docstring)."""
  per = {label: matmul_seconds(e, b, i, o, stack=stack, reps=reps) for label, e, b, i, o in step_matmuls(batch)}
  bw = bandwidth_gbs(bandwidth_floats, reps)
  matmul_s = sum(per.values())
  optimizer_s = ADAM_ARRAYS * MLP_PARAMS * 4 / (bw * 1e9)
  flop = sum(2 * b * i * o for _, _, b, i, o in step_matmuls(batch))
  return {"bound_images_per_s": batch / (matmul_s + optimizer_s), "matmul_s": matmul_s,
          "optimizer_s": optimizer_s, "bandwidth_gbs": bw, "matmul_gflop_s": flop / matmul_s / 1e9,
          "per_matmul_us": {k: v * 1e6 for k, v in per.items()}}


class StepBound:
  """One repeat = one fresh measurement of the bound (so it sees the same machine load as its neighbours)."""

  def __init__(self, batch: int, stack: int = 8, reps: int = 3, bandwidth_floats: int = 2**25):
    self.batch, self.kw = batch, {"stack": stack, "reps": reps, "bandwidth_floats": bandwidth_floats}

  def setup(self):
    _, warm, _ = timing.timed(lambda: mlp_step_bound(self.batch, stack=2, reps=1,
                                                    bandwidth_floats=min(2**20, self.kw["bandwidth_floats"])))
    return {"compile_s": warm, "params": MLP_PARAMS}

  def run(self):
    res = mlp_step_bound(self.batch, **self.kw)
    return {**res, "images_per_s": res["bound_images_per_s"], "images": None, "seconds": None}


def decoder_seconds_per_row(rows: int, latent: int = 20, hidden: int = 500, pixels: int = 784, *,
                            stack: int = 4, reps: int = 3) -> float:
  """Matmul seconds per decoded code (one log-weight of the IS-NLL) at ``rows`` codes per product."""
  t = (matmul_seconds("bi,io->bo", rows, latent, hidden, stack=stack, reps=reps)
       + matmul_seconds("bi,io->bo", rows, hidden, pixels, stack=stack, reps=reps))
  return t / rows


def encoder_seconds_per_row(rows: int, *, stack: int = 4, reps: int = 3) -> float:
  """Matmul seconds per encoded image (784-500, two 500-20 heads) at ``rows`` images per product."""
  t = (matmul_seconds("bi,io->bo", rows, 784, 500, stack=stack, reps=reps)
       + 2 * matmul_seconds("bi,io->bo", rows, 500, 20, stack=stack, reps=reps))
  return t / rows


def flop_per_image(batch: int = 1) -> float:
  return sum(2 * b * i * o for _, _, b, i, o in step_matmuls(batch)) / batch


CONTENDERS = {"step_bound": StepBound}
assert MLP_PARAMS == 815_824, MLP_PARAMS
assert math.isfinite(flop_per_image())
