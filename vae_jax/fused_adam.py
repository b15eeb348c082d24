"""Adam in one pass over the parameters on XLA:CPU, through an XLA FFI custom call; optax's numbers to rounding.

Why: in the MLP VAE's jitted step XLA:CPU updates each weight matrix with three loop fusions (μ′, ν′, then the
parameter from p, μ′, ν′), 11–13 passes over parameter-sized arrays where Adam needs 7 (read p, μ, ν, g; write p,
μ, ν) — the "optimizer + grad norm" share of the step in ``benchmarks/README.md``. Stacking p, μ, ν to get one
fusion was 6× slower (``benchmarks/adam_passes.py``). The handler (``vae_jax/csrc/fused_adam.cc``) does the 7 passes
in one loop over every leaf, in place (the state's buffers are aliased to the results), split over XLA's intra-op
threads, and sums the gradient's squares in the same pass: the step's gradient norm without a read of its own.

Use: :func:`adam` returns ``optax.adam``'s own transformation (same state, same ``update``: any optax code can use
it) marked so that :func:`vae_jax.train.step.apply_optimizer` takes :func:`apply` instead — on the CPU backend, when
:func:`enabled`; ``lax.platform_dependent`` keeps optax's path for GPU and TPU in the same program. The state is
optax's, so checkpoints are interchangeable. The numbers equal optax's to float32 rounding, not bit for bit: XLA
itself compiles optax's update differently from one program to the next (the division by a bias correction becomes
a product with its reciprocal in one program, a product of the two denominators in another), so no fixed arithmetic
matches every one of them. The handler computes optax's expression with the reciprocal and with fused multiply-adds
where XLA:CPU emits them, the coefficients computed in JAX as optax computes them (tests: against optax, and against
a float64 NumPy Adam). The handler's result does not depend on how its work is split over threads, so a resumed
run equals an uninterrupted one bit for bit.

The handler is compiled on first use with the system C++ compiler (:mod:`vae_jax.ffi_build`); without one the
library keeps optax's path and logs why once. ``VAE_JAX_FUSED_ADAM``: ``0`` never, ``1`` always (an error if the
handler cannot be built), ``auto`` (default) on a single-device CPU process (XLA's partitioner cannot split a custom
call across a mesh; on a GPU or TPU process nothing is built).
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import pathlib
from collections.abc import Callable

import jax
import jax.numpy as jnp
import optax

from vae_jax import env_switch, ffi_build

__all__ = ["AdamUpdate", "adam", "apply", "available", "enabled", "fusable", "squared_norm", "why_unavailable"]

_SOURCE = pathlib.Path(__file__).with_name("csrc") / "fused_adam.cc"
_TARGET = "vae_jax_fused_adam"
_HANDLER = ffi_build.Handler(
    "the fused Adam handler is", {_TARGET: "VaeJaxFusedAdam"},
    lambda: ffi_build.build(_SOURCE, flags=["-O3", "-march=native", "-fno-math-errno", "-ffp-contract=off"]),
    fallback="optax's Adam is used on the CPU", logger=logging.getLogger(__name__))


available = _HANDLER.available  # built and registered? (builds on the first call; thread-safe)
why_unavailable = _HANDLER.why_unavailable  # empty when available(); otherwise what was missing


def enabled() -> bool:
  """Whether :func:`vae_jax.train.step.apply_optimizer` takes the fused path here (read when a step is traced):
  ``VAE_JAX_FUSED_ADAM`` as :func:`vae_jax.env_switch.cpu_custom_call` reads it."""
  return env_switch.cpu_custom_call("VAE_JAX_FUSED_ADAM", _HANDLER.name, available, why_unavailable)


@dataclasses.dataclass(frozen=True)
class AdamUpdate:
  """optax.adam's ``update`` function, carrying its hyperparameters so that the step can fuse it."""

  update: Callable
  learning_rate: float | Callable
  b1: float
  b2: float
  eps: float

  def __call__(self, updates, state, params=None, **extra_args):
    return self.update(updates, state, params, **extra_args)


def adam(learning_rate: float | optax.Schedule, *, b1: float = 0.9, b2: float = 0.999,
         eps: float = 1e-8) -> optax.GradientTransformation:
  """``optax.adam(learning_rate, b1=b1, b2=b2, eps=eps)``, marked fusable (see the module docstring)."""
  tx = optax.adam(learning_rate, b1=b1, b2=b2, eps=eps)
  return optax.GradientTransformation(tx.init, AdamUpdate(tx.update, learning_rate, b1, b2, eps))


def fusable(tx: optax.GradientTransformation, params=None) -> bool:
  """Whether ``tx`` came from :func:`adam` (and every leaf of ``params``, if given, is float32)."""
  leaves = jax.tree_util.tree_leaves(params)
  return isinstance(tx.update, AdamUpdate) and all(jnp.result_type(x) == jnp.float32 for x in leaves)


def _coefficients(hp: AdamUpdate, opt_state):
  """``([1-b1, b1, 1-b2, b2, 1/bc1, 1/bc2, eps, -lr], count + 1, the rate's next state)``, as optax computes them."""
  adam_state, lr_state = opt_state
  count_inc = optax.safe_increment(adam_state.count)
  rbc1 = 1 / (1 - hp.b1 ** count_inc)  # XLA turns optax's division by the scalar into this multiplication
  rbc2 = 1 / (1 - hp.b2 ** count_inc)
  if callable(hp.learning_rate):  # optax.scale_by_schedule: the rate at its own count, then that count + 1
    neg_lr = -hp.learning_rate(lr_state.count)
    lr_state = lr_state._replace(count=optax.safe_increment(lr_state.count))
  else:
    neg_lr = jnp.asarray(-hp.learning_rate, jnp.float32)
  f32 = functools.partial(jnp.asarray, dtype=jnp.float32)
  coef = jnp.stack([f32(1 - hp.b1), f32(hp.b1), f32(1 - hp.b2), f32(hp.b2), f32(rbc1), f32(rbc2), f32(hp.eps),
                    f32(neg_lr)])
  return coef, count_inc, lr_state


def squared_norm(grads) -> jax.Array:
  """Σ g² over every leaf of ``grads`` as ``4·Σ (g/2)²``: its square root is ``optax.tree.norm(grads)`` bit for bit.

  Why the halves: in a jitted step XLA:CPU merges a plain ``g²`` with optax's Adam and writes it out as a
  parameter-sized buffer per leaf, read back by the reduction; the scaled square is not merged, and the fused epoch
  runs faster (``benchmarks/README.md``, "The gradient norm's square"). Scaling by a power of two is exact (short of
  subnormal squares), so the norm is the same number. On the fused path the handler sums the squares instead.
  """
  leaves = jax.tree_util.tree_leaves(grads)
  total = sum(jnp.sum(jnp.square(0.5 * g)) for g in leaves) if leaves else jnp.zeros((), jnp.float32)
  return 4.0 * total


def _fused(hp: AdamUpdate, grads, opt_state, params):
  coef, count_inc, lr_state = _coefficients(hp, opt_state)
  adam_state = opt_state[0]
  leaves, treedef = jax.tree_util.tree_flatten(params)
  operands = [x for p, m, v, g in zip(leaves, treedef.flatten_up_to(adam_state.mu),
                                       treedef.flatten_up_to(adam_state.nu), treedef.flatten_up_to(grads))
              for x in (p, m, v, g)]
  out_types = [jax.ShapeDtypeStruct(p.shape, jnp.float32) for p in leaves for _ in range(3)]
  out_types.append(jax.ShapeDtypeStruct((), jnp.float32))  # Σ g², per member under vmap
  aliases = {1 + 4 * j + k: 3 * j + k for j in range(len(leaves)) for k in range(3)}
  call = jax.ffi.ffi_call(_TARGET, out_types, input_output_aliases=aliases, vmap_method="broadcast_all")
  out = call(coef, *operands)
  new_params = treedef.unflatten(out[0:-1:3])
  mu, nu = treedef.unflatten(out[1:-1:3]), treedef.unflatten(out[2:-1:3])
  return new_params, (adam_state._replace(count=count_inc, mu=mu, nu=nu), lr_state), out[-1]


def _optax(tx: optax.GradientTransformation, grads, opt_state, params):
  updates, opt_state = tx.update(grads, opt_state, params)
  return optax.apply_updates(params, updates), opt_state, squared_norm(grads)


def apply(tx: optax.GradientTransformation, grads, opt_state, params):
  """``(params, opt_state, Σ g²)`` after one Adam update: the fused handler on the CPU backend (which sums the
  gradient's squares in the same pass, in float64), optax's update and :func:`squared_norm` elsewhere.

  ``tx`` must be :func:`fusable` and every leaf float32; call only where :func:`enabled`.
  """
  if not fusable(tx, params):
    raise ValueError("fused_adam.apply: needs a transformation from vae_jax.fused_adam.adam and float32 "
                     "parameters; use tx.update otherwise.")
  if jax.default_backend() == "cpu" and not available():  # elsewhere only optax's branch is lowered
    raise RuntimeError(f"the fused Adam handler is unavailable: {why_unavailable()}")
  return jax.lax.platform_dependent(
      grads, opt_state, params,
      cpu=functools.partial(_fused, tx.update), default=functools.partial(_optax, tx))
