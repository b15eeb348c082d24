"""Step bounds: what one training step must at least cost on this device, from measured parts.

MLP VAE (issue #16's corrected bound; the first version timed each matmul shape alone, and a minimal fused epoch
ran faster than it allowed, because inside one program XLA overlaps and caches better than shape by shape):

    bound time per step = Σ_matmuls FLOP / max(peak, best measured speed of that shape)
                          + 7 · P · 4 bytes / bandwidth(Adam's footprint)

``peak`` is a 2048×2048×2048 matmul's GFLOP/s on this device: no matmul of the step can run faster than the best
XLA does at any shape, so each is charged at whichever is faster, its own shape or the peak.

* Matmuls: every dense layer's forward product ``[B, in]·[in, out]``, weight gradient ``xᵀ·δ`` (``[in, B]·[B,
  out]``) and input gradient ``δ·Wᵀ`` (``[B, out]·[out, in]``; not for the first layer, whose input needs no
  gradient), each timed alone as one jitted ``jnp.einsum`` on this device: ``stack`` calls back to back
  (asynchronous dispatch overlaps the next call's dispatch with this one's work), the fastest of ``reps`` timings
  (a bound charges the best speed measured; until 2026-12-07 the median, which a slow moment of a shared VM pulled
  below what the step reached in the same round). Biases, activations, the loss and the random numbers are left
  out: this is a bound, not a model.
* Optimizer: Adam reads the gradient, the two moments and the parameters and writes the moments and the
  parameters — ≈ 7 arrays of P = 815,824 float32 — at the bandwidth of an on-device ``x + 1`` over an array of
  Adam's footprint (7·P floats, read and written in place, its buffer donated), so caches help it as they help
  Adam.

The MLP step has two bounds, as the conv net's below, both reported:

* **own-shape** (``own_bound_images_per_s``; issue #16's definition: "each matmul at XLA:CPU's best measured speed
  for the shape class ... such that no implementation exceeds it"): each product at the faster of two measurements
  of its shape — alone (one product per call, ``stack`` calls back to back) and in one program
  (:func:`program_matmul_seconds`: ``copies`` independent products in one jitted call, so no call's dispatch is
  charged to a small product, as none is in the step) — with the mean and log-variance heads charged as the one
  ``[in, 2·latent]`` product they are in any implementation that fuses them (the same FLOPs, one product instead
  of two) — and, since 2026-12-08, oneDNN's matmul primitive for the same product (:func:`onednn_matmul_seconds`,
  :mod:`benchmarks.onednn_matmul`; ``per_product_onednn_us``, XLA's faster time ``per_product_xla_us``), the
  library a hand-written step would use, when its handler builds: the fastest of the three. The benchmark's
  targets table checks that no contender exceeds it in any round.
* **peak-charged** (``bound_images_per_s``, the "of step bound" column): each product at the faster of its alone
  speed and the 2048³ peak. Looser: on AVX-512 Xeons the peak (≈ 250 GFLOP/s) is above every product of this MLP
  (≈ 20–220 GFLOP/s alone, 2026-12-07), so it charges speeds no implementation of them reaches; it was adopted on
  2026-12-05 because the alone-only bound was exceeded by a minimal fused epoch (its small products' dispatch).

Conv β-VAE (:func:`conv_step_bound`): each strided (or transposed) 4×4 convolution's three products — forward,
input gradient (not for the first layer), weight gradient — each ``2·B·out_pixels·k²·C_in·C_out`` FLOP, plus the
dense layers' matmuls and Adam's bytes (as the MLP's). Activations, the loss, rendering and random numbers are left
out. Two bounds, both reported:

* **own-shape** (``own_bound_images_per_s``; issue #16's definition: "the conv layers' FLOPs at XLA:CPU's measured
  best speed for the same shapes (convolution or matmul, whichever is faster) plus Adam's bytes"): each product at
  the fastest measured implementation *of that product*: XLA's convolution for it (the forward, or the transposed
  convolution JAX's autodiff emits for the input or weight gradient, :func:`xla_conv_seconds`), the same product
  as one matmul of its patches' shape (``[B·out_pixels, k²·C_in] × [k²·C_in, C_out]`` and its two transposes;
  forming the patches is not charged), oneDNN's primitive (:mod:`vae_jax.onednn_conv`, when built); each dense
  matmul at the faster of XLA's (alone) and oneDNN's matmul.
* **peak-charged** (``bound_images_per_s``, the figure the tables' "of step bound" column gives): each product at
  the faster of its own-shape charge and the 2048³ peak, as the MLP's. Stricter: only some of the conv net's
  products run near the peak (the one-channel layers' and the dense layers' do not; measured in
  ``benchmarks/README.md``), so this bound charges speeds that no implementation of those products reaches. Until
  2026-12-06 it was the only conv bound, with the forward convolution's time standing in for all three products.

The benchmark's targets table checks that no contender exceeds either bound (a bound that bounds).

``bound images/s = B / bound time``; the driver divides each contender's images/s by it ("fraction of bound").
"""

from __future__ import annotations

import math
import time

from benchmarks import timing

# The Flax example's MLP VAE: (name, fan_in, fan_out, needs the input gradient).
MLP_LAYERS = (("enc", 784, 500, False), ("mean", 500, 20, True), ("logvar", 500, 20, True),
              ("dec_hidden", 20, 500, True), ("dec_out", 500, 784, True))
MLP_PARAMS = sum(i * o + o for _, i, o, _ in MLP_LAYERS)  # 815,824
# The same products with the two heads (which read the same input) as one: the own-shape bound's shape classes.
MLP_LAYERS_FUSED_HEADS = (("enc", 784, 500, False), ("heads", 500, 40, True), ("dec_hidden", 20, 500, True),
                          ("dec_out", 500, 784, True))
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


def _best_call_seconds(fn, args, calls: int, reps: int) -> float:
  """The fastest of ``reps`` timings of ``calls`` back-to-back calls, per call (dispatch overlaps execution)."""
  timing.block(fn(*args))
  times = []
  for _ in range(reps):
    t0 = time.perf_counter()
    for _ in range(calls):
      out = fn(*args)
    timing.block(out)
    times.append((time.perf_counter() - t0) / calls)
  return min(times)


def matmul_seconds(einsum: str, b: int, i: int, o: int, *, stack: int = 8, reps: int = 3,
                   compiler_options: dict | None = None) -> float:
  """Seconds for one jitted ``einsum`` product at these sizes: ``stack`` calls in a row, the fastest of ``reps``
  (``compiler_options``: XLA options for this product's compilation only, as a library function may set them)."""
  import jax  # noqa: PLC0415
  import jax.numpy as jnp  # noqa: PLC0415

  return _best_call_seconds(jax.jit(lambda x, y: jnp.einsum(einsum, x, y), compiler_options=compiler_options),
                              _operands(einsum, b, i, o), stack, reps)


def program_matmul_seconds(einsum: str, b: int, i: int, o: int, *, copies: int = 8, reps: int = 3) -> float:
  """Seconds per product when ``copies`` independent products of this shape run in one jitted program (distinct
  left operands, the same right one): the product's cost with no call dispatch in it, as inside a training step."""
  import jax  # noqa: PLC0415
  import jax.numpy as jnp  # noqa: PLC0415

  x, y = _operands(einsum, b, i, o)
  xs = [x * (1.0 + 0.01 * c) for c in range(copies)]
  fn = jax.jit(lambda xs, y: [jnp.einsum(einsum, x, y) for x in xs])
  return _best_call_seconds(fn, (xs, y), 1, reps) / copies


def onednn_matmul_seconds(einsum: str, b: int, i: int, o: int, *, stack: int = 8, reps: int = 3) -> float:
  """Seconds for oneDNN's matmul primitive computing the same product as :func:`matmul_seconds`, timed the same way
  (:mod:`benchmarks.onednn_matmul`); ``inf`` when its handler is not available or the device is not a CPU."""
  import jax  # noqa: PLC0415

  from benchmarks import onednn_matmul  # noqa: PLC0415

  if jax.default_backend() != "cpu" or not onednn_matmul.available():  # a CPU handler: no contender elsewhere
    return math.inf
  return _best_call_seconds(jax.jit(lambda x, y: onednn_matmul.product(einsum, x, y)), _operands(einsum, b, i, o),
                            stack, reps)


def best_matmul_seconds(einsum: str, b: int, i: int, o: int, *, peak: float, stack: int = 8, reps: int = 3,
                        options: tuple[dict | None, ...] = (None,)) -> float:
  """The fastest of this product under each of ``options`` (XLA compiler options; ``None`` = XLA's defaults) and
  its FLOPs at ``peak`` GFLOP/s: what no implementation of the product should beat on this machine."""
  own = min(matmul_seconds(einsum, b, i, o, stack=stack, reps=reps, compiler_options=opt) for opt in options)
  return min(own, peak_seconds(b, i, o, peak))


def peak_seconds(b: int, i: int, o: int, peak: float) -> float:
  """Seconds of a ``[b, i] @ [i, o]`` product's FLOPs at ``peak`` GFLOP/s."""
  return 2 * b * i * o / (peak * 1e9)


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
  return 2 * 4 * num_floats / min(times) / 1e9  # the fastest of ``reps``, as the products


def peak_gflop_s(n: int = 2048, *, reps: int = 3) -> float:
  """GFLOP/s of one jitted ``n×n×n`` float32 matmul (the fastest of ``reps``, 2 calls each)."""
  return 2 * n**3 / matmul_seconds("bi,io->bo", n, n, n, stack=2, reps=reps) / 1e9


def mlp_step_bound(batch: int, *, stack: int = 8, reps: int = 3, bandwidth_floats: int | None = None,
                   peak_n: int = 2048) -> dict:
  """The bound for one training step of the MLP VAE at ``batch`` (see the module docstring)."""
  peak = peak_gflop_s(peak_n, reps=reps)
  # Each product timed alone once; the peak-charged bound takes the faster of that and the peak (as
  # best_matmul_seconds does), the own-shape bound the faster of that and the product's in-program time.
  matmuls = step_matmuls(batch)
  alone = {label: matmul_seconds(e, b, i, o, stack=stack, reps=reps) for label, e, b, i, o in matmuls}
  per = {label: min(alone[label], peak_seconds(b, i, o, peak)) for label, _, b, i, o in matmuls}
  products = step_matmuls(batch, MLP_LAYERS_FUSED_HEADS)
  onednn = {label: onednn_matmul_seconds(e, b, i, o, stack=stack, reps=reps) for label, e, b, i, o in products}
  xla = {label: min(alone[label] if label in alone else matmul_seconds(e, b, i, o, stack=stack, reps=reps),
                    program_matmul_seconds(e, b, i, o, copies=stack, reps=reps))
         for label, e, b, i, o in products}
  own = {label: min(xla[label], onednn[label]) for label in xla}
  bw = bandwidth_gbs(bandwidth_floats or ADAM_ARRAYS * MLP_PARAMS, reps)
  matmul_s, own_s = sum(per.values()), sum(own.values())
  optimizer_s = ADAM_ARRAYS * MLP_PARAMS * 4 / (bw * 1e9)
  flop = sum(2 * b * i * o for _, _, b, i, o in matmuls)
  return {"bound_images_per_s": batch / (matmul_s + optimizer_s), "matmul_s": matmul_s,
          "own_bound_images_per_s": batch / (own_s + optimizer_s), "own_matmul_s": own_s,
          "optimizer_s": optimizer_s, "bandwidth_gbs": bw, "matmul_gflop_s": flop / matmul_s / 1e9,
          "peak_gflop_s": peak, "per_matmul_us": {k: v * 1e6 for k, v in per.items()},
          "per_product_own_us": {k: v * 1e6 for k, v in own.items()},
          "per_product_xla_us": {k: v * 1e6 for k, v in xla.items()},
          "per_product_onednn_us": {k: v * 1e6 for k, v in onednn.items() if math.isfinite(v)}}


# The conv β-VAE (Higgins et al.) as strided convolutions S: (name, input size, C_in, C_out, needs dx). A transposed
# convolution h×h×C → 2h×2h×C' is the adjoint of S on 2h×2h×C' → h×h×C: the same three products.
CONV_LAYERS = (("conv_0", 64, 1, 32, False), ("conv_1", 32, 32, 32, True), ("conv_2", 16, 32, 64, True),
               ("conv_3", 8, 64, 64, True), ("deconv_0", 8, 64, 64, True), ("deconv_1", 16, 32, 64, True),
               ("deconv_2", 32, 32, 32, True), ("out", 64, 1, 32, True))
CONV_DENSE = (("dense_0", 1024, 256, True), ("mean", 256, 10, True), ("logvar", 256, 10, True),
              ("dec_dense_0", 10, 256, True), ("to_grid", 256, 1024, True))
CONV_PARAMS = (sum(16 * ci * co + (ci if name.startswith(("deconv", "out")) else co)
                   for name, _, ci, co, _ in CONV_LAYERS) + sum(i * o + o for _, i, o, _ in CONV_DENSE))


def _conv_operands(batch: int, size: int, c_in: int, c_out: int):
  """Random ``[B, size, size, C_in]`` input and ``[4, 4, C_in, C_out]`` kernel for the conv timings."""
  import jax  # noqa: PLC0415
  import jax.numpy as jnp  # noqa: PLC0415

  k1, k2 = jax.random.split(jax.random.key(1))
  return (jax.random.normal(k1, (batch, size, size, c_in), jnp.float32),
          jax.random.normal(k2, (4, 4, c_in, c_out), jnp.float32))


def xla_conv_seconds(batch: int, size: int, c_in: int, c_out: int, product: str = "fwd", *, stack: int = 4,
                     reps: int = 3) -> float:
  """Seconds for XLA's ``product`` (``fwd``, ``dx``, ``dW``) of the SAME 4×4 stride-2 convolution ``[B, size, size,
  C_in] → [B, size/2, size/2, C_out]``: the convolution itself, or its input or weight gradient as JAX's autodiff
  emits it (the transposed convolution of ``jax.vjp``; the unused forward is dead code in the jitted function)."""
  import jax  # noqa: PLC0415
  import jax.numpy as jnp  # noqa: PLC0415

  def conv(x, w):
    return jax.lax.conv_general_dilated(x, w, (2, 2), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC"))

  x, w = _conv_operands(batch, size, c_in, c_out)
  g = jax.random.normal(jax.random.key(3), (batch, size // 2, size // 2, c_out), jnp.float32)
  fn, args = {"fwd": (conv, (x, w)),
              "dx": (lambda x, w, g: jax.vjp(lambda x: conv(x, w), x)[1](g)[0], (x, w, g)),
              "dW": (lambda x, w, g: jax.vjp(lambda w: conv(x, w), w)[1](g)[0], (x, w, g))}[product]
  return _best_call_seconds(jax.jit(fn), args, stack, reps)


def onednn_seconds(batch: int, size: int, c_in: int, c_out: int, product: str, *, stack: int = 4,
                   reps: int = 3) -> float:
  """Seconds for oneDNN's ``product`` (``fwd``, ``dx``, ``dW``) of the same convolution as :func:`conv_seconds`,
  through :mod:`vae_jax.onednn_conv`; ``inf`` when the library is not available or the device is not a CPU."""
  import jax  # noqa: PLC0415
  import jax.numpy as jnp  # noqa: PLC0415

  from vae_jax import onednn_conv  # noqa: PLC0415

  if jax.default_backend() != "cpu" or not onednn_conv.available():  # CPU handlers: no contender elsewhere
    return math.inf
  x, w = _conv_operands(batch, size, c_in, c_out)
  y = jax.random.normal(jax.random.key(2), (batch, size // 2, size // 2, c_out), jnp.float32)
  fn, args = {"fwd": (lambda x, w: onednn_conv.forward(x, w, 2), (x, w)),
              "dx": (lambda y, w: onednn_conv.backward_data(y, w, 2, x.shape), (y, w)),
              "dW": (lambda x, y: onednn_conv.backward_weights(x, y, 2, w.shape), (x, y))}[product]
  return _best_call_seconds(jax.jit(fn), args, stack, reps)


def conv_step_bound(batch: int = 64, *, stack: int = 4, reps: int = 3, peak_n: int = 2048,
                    layers: tuple[str, ...] | None = None) -> dict:
  """The two bounds for one training step of the conv β-VAE at ``batch`` (see the module docstring):
  ``own_bound_images_per_s`` (each product at its own shape's best measured speed, ``per_product_own_us``) and
  ``bound_images_per_s`` (each at the faster of that and the peak, ``per_matmul_us``). ``layers``: only these
  layers' products (names of ``CONV_LAYERS`` and ``CONV_DENSE``; smoke runs, whose time is one compilation per
  product and implementation) — not a bound of the step; None: every layer."""
  peak = peak_gflop_s(peak_n, reps=reps)
  own, flop = {}, {}
  kept = (lambda name: True) if layers is None else (lambda name: name in layers)
  for name, size, ci, co, dx in (layer for layer in CONV_LAYERS if kept(layer[0])):
    rows, depth = batch * (size // 2) ** 2, 16 * ci
    products = [("fwd", "bi,io->bo"), ("dW", "bi,bo->io")] + ([("dx", "bo,io->bi")] if dx else [])
    for product, e in products:
      label = f"{name}.{product}"
      flop[label] = 2 * rows * depth * co
      own[label] = min(xla_conv_seconds(batch, size, ci, co, product, stack=stack, reps=reps),
                       matmul_seconds(e, rows, depth, co, stack=stack, reps=reps),
                       onednn_seconds(batch, size, ci, co, product, stack=stack, reps=reps))
  for label, e, b, i, o in step_matmuls(batch, tuple(layer for layer in CONV_DENSE if kept(layer[0]))):
    flop[label] = 2 * b * i * o
    own[label] = min(matmul_seconds(e, b, i, o, stack=stack, reps=reps),
                     onednn_matmul_seconds(e, b, i, o, stack=stack, reps=reps))
  charged = {k: min(v, flop[k] / (peak * 1e9)) for k, v in own.items()}
  bw = bandwidth_gbs(ADAM_ARRAYS * CONV_PARAMS, reps)
  optimizer_s = ADAM_ARRAYS * CONV_PARAMS * 4 / (bw * 1e9)
  own_s, compute_s = sum(own.values()), sum(charged.values())
  return {"bound_images_per_s": batch / (compute_s + optimizer_s), "matmul_s": compute_s,
          "own_bound_images_per_s": batch / (own_s + optimizer_s), "own_matmul_s": own_s,
          "optimizer_s": optimizer_s, "bandwidth_gbs": bw, "peak_gflop_s": peak,
          "per_matmul_us": {k: v * 1e6 for k, v in charged.items()},
          "per_product_own_us": {k: v * 1e6 for k, v in own.items()}}


class StepBound:
  """One repeat = one fresh measurement of the bound (so it sees the same machine load as its neighbours).

  ``bandwidth_floats``: the array the bandwidth is measured on (default: Adam's footprint); ``peak_n``: the size
  of the peak matmul (smaller only in smoke runs)."""

  def __init__(self, batch: int, stack: int = 8, reps: int = 3, bandwidth_floats: int | None = None,
               peak_n: int = 2048):
    self.batch = batch
    self.kw = {"stack": stack, "reps": reps, "bandwidth_floats": bandwidth_floats, "peak_n": peak_n}

  def setup(self):
    _, warm, _ = timing.timed(lambda: mlp_step_bound(self.batch, stack=2, reps=1, bandwidth_floats=2**16,
                                                    peak_n=min(256, self.kw["peak_n"])))
    return {"compile_s": warm, "params": MLP_PARAMS}

  def run(self):
    res = mlp_step_bound(self.batch, **self.kw)
    return {**res, "images_per_s": res["bound_images_per_s"], "images": None, "seconds": None}


def decoder_seconds_per_row(rows: int, latent: int = 20, hidden: int = 500, pixels: int = 784, *, peak: float,
                            stack: int = 4, reps: int = 3, options: tuple[dict | None, ...] = (None,)) -> float:
  """Matmul seconds per decoded code (one log-weight of the IS-NLL) at ``rows`` codes per product, each product
  charged by :func:`best_matmul_seconds`."""
  kw = dict(peak=peak, stack=stack, reps=reps, options=options)
  t = (best_matmul_seconds("bi,io->bo", rows, latent, hidden, **kw)
       + best_matmul_seconds("bi,io->bo", rows, hidden, pixels, **kw))
  return t / rows


def encoder_seconds_per_row(rows: int, *, peak: float, stack: int = 4, reps: int = 3,
                            options: tuple[dict | None, ...] = (None,)) -> float:
  """Matmul seconds per encoded image (784-500, two 500-20 heads) at ``rows`` images per product, each product
  charged by :func:`best_matmul_seconds`."""
  kw = dict(peak=peak, stack=stack, reps=reps, options=options)
  t = best_matmul_seconds("bi,io->bo", rows, 784, 500, **kw) + 2 * best_matmul_seconds("bi,io->bo", rows, 500, 20,
                                                                                          **kw)
  return t / rows


def flop_per_image(batch: int = 1) -> float:
  return sum(2 * b * i * o for _, _, b, i, o in step_matmuls(batch)) / batch


class ConvStepBound:
  """The conv β-VAE's step bound, measured fresh each repeat."""

  def __init__(self, batch: int = 64, stack: int = 4, reps: int = 3, peak_n: int = 2048,
               layers: tuple[str, ...] | None = None):
    self.batch, self.kw = batch, {"stack": stack, "reps": reps, "peak_n": peak_n, "layers": layers}

  def setup(self):
    _, warm, _ = timing.timed(lambda: conv_step_bound(self.batch, stack=1, reps=1, peak_n=256,
                                                      layers=self.kw["layers"]))
    return {"compile_s": warm, "params": CONV_PARAMS}

  def run(self):
    res = conv_step_bound(self.batch, **self.kw)
    return {**res, "images_per_s": res["bound_images_per_s"], "images": None, "seconds": None}


CONTENDERS = {"step_bound": StepBound, "conv_step_bound": ConvStepBound}
assert MLP_PARAMS == 815_824, MLP_PARAMS
assert CONV_PARAMS == 764_245, CONV_PARAMS
assert math.isfinite(flop_per_image())
