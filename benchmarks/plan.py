"""What ``benchmarks.run`` measures in each mode: groups of contenders whose repeats are interleaved.

A group's contenders are compared with each other (ratios are taken round by round inside a group). Roles:
``torch`` is the PyTorch-eager reference of the group (default Adam), ``bound`` its step bound, ``fused`` the
bare fused epoch that the real loop's overhead is measured against.

Sizes per mode:
* ``full`` (default; minutes on a 2-core CPU, longer when other jobs share it — measured times in
  ``benchmarks/README.md``; split it with ``--only``): the real loop for 5 epochs at batch 128 (2340 steps: one
  evaluation and one checkpoint, the config's own interval) and 300 steps at 1024 (the same images per interval);
  fused epochs over all 60,000 images; pythae's trainer for 2 epochs of the first 30,720 images; the conv β-VAE
  at batch 64; IS-NLL for 100 images × K = 1000; scaling over 1, 2, 4, 8 devices.
* ``quick`` (a few minutes): one epoch of the real loop (evaluation and checkpoint once, at the end: five times
  the default rate), fewer steps everywhere (pythae: 2 epochs of 10,240 images), scaling on 1 and 2 devices.
* ``smoke`` (seconds, for tests): tiny sizes, two repeats; the numbers mean nothing.
"""

from __future__ import annotations

MLP = "benchmarks.mlp_jax"


def _c(cid: str, label: str, module: str, name: str, size: int | None = None, role: str = "", *,
       oneshot: bool = False, env: dict | None = None, **kwargs) -> dict:
  return {"id": cid, "label": label, "module": module, "name": name, "batch": size, "role": role,
          "oneshot": oneshot, "env": env or {}, "kwargs": kwargs}


def _mlp_group(gid: str, batch: int, mode: str) -> dict:
  full, smoke = mode == "full", mode == "smoke"
  if smoke:
    real = dict(num_steps=8, log_every=2, every=4, num_train=256, num_test=64)
    sizes = dict(bare=3, fused_train=64, flax=2, torch=2, stack=2, reps=1, bw=2**16, peak=256, pythae=64, warmup=1)
  elif full:
    real = dict(num_steps=2340 if batch == 128 else 300)
    sizes = dict(bare=400 if batch == 128 else 60, fused_train=0, flax=40 if batch == 128 else 8,
                 torch=200 if batch == 128 else 30, stack=20, reps=5, bw=None, peak=2048, pythae=30_720, warmup=3)
  else:
    real = dict(num_steps=468 if batch == 128 else 60, quick_intervals=True)
    sizes = dict(bare=150 if batch == 128 else 20, fused_train=0, flax=15 if batch == 128 else 4,
                 torch=80 if batch == 128 else 12, stack=10, reps=3, bw=None, peak=2048, pythae=10_240, warmup=3)
  b = batch
  contenders = [
      _c(f"real_loop@{b}", "vae_jax real loop (train_and_evaluate)", MLP, "real_loop", b, "real", oneshot=True,
         batch=b, **real),
      _c(f"fused_epoch@{b}", "vae_jax fused epoch (make_multi_step)", MLP, "fused_epoch", b, "fused", batch=b,
         num_train=sizes["fused_train"]),
      _c(f"bare_step@{b}", "vae_jax bare jitted step (make_train_step)", MLP, "bare_step", b, batch=b,
         steps=sizes["bare"]),
      _c(f"flax_example@{b}", "Flax example step as shipped (not jitted)", "benchmarks.flax_example",
         "flax_example", b, batch=b, steps=sizes["flax"]),
      _c(f"torch@{b}", "PyTorch eager, Adam (default)", "benchmarks.torch_models", "torch_mlp", b, "torch",
         batch=b, steps=sizes["torch"]),
      _c(f"torch_fused@{b}", "PyTorch eager, Adam(fused=True)", "benchmarks.torch_models", "torch_mlp", b,
         batch=b, steps=sizes["torch"], fused=True),
      _c(f"pythae@{b}", "pythae's own loop (BaseTrainer), same MLP VAE, Adam (default); 2 epochs of a subset",
         "benchmarks.pythae_vae", "pythae_trainer", b, batch=b, num_train=sizes["pythae"], epochs=2,
         warmup=sizes["warmup"]),
      _c(f"bare_epoch@{b}", "minimal fused epoch (one jitted lax.scan, static binarization, no shuffle, no metrics, "
         "optax.adam)", "benchmarks.bare_epoch", "bare_epoch", b, batch=b, num_train=sizes["fused_train"]),
      _c(f"bound@{b}", "step bound (matmul FLOP at max(own, 2048³ peak) speed + Adam bytes / bandwidth)",
         "benchmarks.bound", "step_bound", b, "bound", batch=b, stack=sizes["stack"], reps=sizes["reps"],
         bandwidth_floats=sizes["bw"], peak_n=sizes["peak"]),
  ]
  return {"id": gid, "title": f"MLP VAE (784-500-20) on Fashion-MNIST, batch {b}", "contenders": contenders}


def _conv_group(mode: str) -> dict:
  if mode == "smoke":
    kw = dict(batch=8, steps=2, resolution=16, channels=(8, 8), dense=(16,), latent=4)
    tkw = dict(batch=8, steps=2, resolution=16, channels=(8, 8), dense=16, latent=4, pool=2)
  else:
    # full: 24 updates per repeat (≈ 2 s); windows of 6 (≈ 0.5 s) spread a row's per-round ratio over 0.65–1.3.
    steps = 24 if mode == "full" else 2
    kw, tkw = dict(batch=64, steps=steps), dict(batch=64, steps=steps)
  # smoke: three layers' products (the first conv, which needs no input gradient, a dense one and the last deconv)
  bkw = (dict(batch=kw["batch"], stack=1, reps=1, peak_n=256, layers=("conv_0", "mean", "out")) if mode == "smoke"
         else dict(batch=64))
  contenders = [
      _c("conv_jax", "vae_jax conv β-VAE, sprites rendered in the step (loop=\"auto\"; oneDNN's convolutions "
         "where built, vae_jax/onednn_conv.py)", "benchmarks.conv_jax", "conv_sprites", kw["batch"], **kw),
      _c("conv_jax_xla", "the same with XLA's convolutions (VAE_JAX_ONEDNN=0: the space-to-depth rewrites, stepped "
         "from the host as loop=\"auto\" does for XLA convolutions on CPU)", "benchmarks.conv_jax", "conv_sprites",
         kw["batch"], env={"VAE_JAX_ONEDNN": "0"}, **kw),
      _c("conv_jax_xla_one_arena", "the same as the experiments' command lines run it: one malloc arena from the "
         "start (vae_jax.host_memory.one_arena), so XLA's buffers stop page-faulting", "benchmarks.conv_jax",
         "conv_sprites", kw["batch"], env={"VAE_JAX_ONEDNN": "0"}, one_arena=True, **kw),
      _c("conv_jax_flax_layers", "the same with Flax's nn.Conv / nn.ConvTranspose (no rewrites, no oneDNN)",
         "benchmarks.conv_jax", "conv_sprites", kw["batch"], flax_layers=True, **kw),
      _c("conv_jax_host", "oneDNN's convolutions stepped from the host (loop=\"host\")", "benchmarks.conv_jax",
         "conv_sprites", kw["batch"], loop="host", **kw),
      _c("conv_torch", "PyTorch eager conv β-VAE, pre-rendered batches, Adam", "benchmarks.torch_models",
         "torch_conv", tkw["batch"], "torch", **tkw),
      _c("conv_torch_fused", "PyTorch eager conv β-VAE, Adam(fused=True)", "benchmarks.torch_models",
         "torch_conv", tkw["batch"], fused=True, **tkw),
      _c("conv_bound", "conv step bound (each product's FLOP at the faster of the 2048³ peak and its own shape's best "
         "measured speed — XLA's conv or its gradient, a patches matmul, oneDNN; + Adam; the own-shape bound without "
         "the peak in the rows' labels)",
         "benchmarks.bound", "conv_step_bound", kw["batch"], "bound", **bkw),
  ]
  return {"id": "conv", "title": "Conv β-VAE (Higgins: conv 32-32-64-64, FC 256, z=10) on 64×64 sprites",
          "contenders": contenders}


def _likelihood_group(mode: str) -> dict:
  n, k = {"full": (100, 1000), "quick": (20, 400), "smoke": (4, 8)}[mode]
  peak_n = 256 if mode == "smoke" else 2048  # the matmul peak the bound charges at (benchmarks.bound)
  contenders = [
      _c("is_nll", "IS-NLL (importance_sampled_nll), library as is", "benchmarks.likelihood", "is_nll", None,
         num_images=n, num_samples=k, peak_n=peak_n),
      _c("is_nll_fast_key", "IS-NLL with an unrolled-threefry key (same bits)", "benchmarks.likelihood",
         "is_nll", None, num_images=n, num_samples=k, fast_key=True, peak_n=peak_n),
  ]
  return {"id": "is_nll", "title": f"Importance-sampled NLL, MLP VAE, {n} images × K = {k}",
          "contenders": contenders}


def _scaling_group(mode: str) -> dict:
  counts = {"full": (1, 2, 4, 8), "quick": (1, 2), "smoke": (1, 2)}[mode]
  batch = 16 if mode == "smoke" else 128
  num_train = {"full": 10_240, "quick": 2_560, "smoke": 64}[mode]
  contenders = [
      _c(f"scaling_{n}", f"fused epoch on {n} device(s)", MLP, "fused_epoch", batch,
         "fused" if n == 1 else "", env={"XLA_FORCE_HOST_DEVICES": str(n)}, batch=batch, num_train=num_train,
         num_devices=n) for n in counts]
  return {"id": "scaling", "title": f"Data-parallel scaling of the fused epoch, batch {batch}, {num_train or 60_000} "
          "images (on a CPU host: fake CPU devices sharing the machine's cores)", "contenders": contenders}


GROUPS = {"mlp128": lambda m: _mlp_group("mlp128", 16 if m == "smoke" else 128, m),
          "mlp1024": lambda m: _mlp_group("mlp1024", 1024, m),
          "conv": _conv_group, "is_nll": _likelihood_group, "scaling": _scaling_group}
REPEATS = {"full": 5, "quick": 3, "smoke": 2}
_BASELINE_ROWS = ("conv_jax", "conv_jax_xla", "conv_jax_host", "is_nll")  # besides the MLP real loops, fused epochs


def build(mode: str, only: list[str] | None = None, baseline: str | None = None) -> list[dict]:
  """The groups to run, in order (``only``: a subset of ``GROUPS`` names); smoke skips the second MLP size.

  ``baseline``: a directory holding another checkout of vae_jax (e.g. the last commit); the MLP groups then also
  run its real loop and fused epoch, the conv group its conv β-VAE (scanned, on XLA's convolutions and
  host-stepped) and the IS-NLL group its IS-NLL, interleaved with this checkout's, for a before/after in one run.
  """
  names = [g for g in GROUPS if (not only or g in only) and not (mode == "smoke" and g == "mlp1024")]
  groups = [GROUPS[g](mode) for g in names]
  if baseline:
    for g in groups:
      if g["id"].startswith("mlp") or g["id"] in ("conv", "is_nll"):
        extra = [dict(c, id=c["id"] + ":baseline", label=c["label"] + " [baseline]", role="",
                      env={**c["env"], "BENCH_TREE": baseline})
                 for c in g["contenders"] if c["role"] in ("real", "fused") or c["id"] in _BASELINE_ROWS]
        g["contenders"] = g["contenders"][:2] + extra + g["contenders"][2:]
  return groups
