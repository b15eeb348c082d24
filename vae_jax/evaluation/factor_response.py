"""How each latent responds to each ground-truth factor: the mean code at every value of a factor, the others drawn
uniformly — the curves of Chen et al. (2018, Fig. 5) that show *how* a factor is encoded, which a scalar score hides.

A model can carry a factor in one latent and still score a low MIG because the code is not monotonic in it: a
*folded* code (the latent sweeps the left half of the canvas, then the right half again, a second latent telling the
halves apart) or a *radial* one (a latent for the distance from the centre, others for the direction). Both have no
total correlation to penalise, so β-TCVAE keeps them. :func:`response_summary` names, per factor, the latent that
moves most with it, its share of all latents' movement, and — for an ordinal factor such as position — whether that
latent is monotonic in it (|Spearman ρ| of the mean code against the factor's value).

References:
  Chen, Li, Grosse, Duvenaud. Isolating Sources of Disentanglement in VAEs, NeurIPS 2018, Fig. 5 (the mean latent
  value against the ground-truth position, scale and orientation of dSprites).
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import numpy as np
import scipy.stats

from vae_jax.evaluation import _sampling

MONOTONIC = 0.9  # |Spearman ρ| at or above which a factor's code counts as monotonic


def factor_response(key: jax.Array, representation_fn: _sampling.RepresentationFn,
                    sampler: _sampling.GroundTruthSampler, *, num_per_value: int = 128,
                    chunk_size: int = 1024) -> list[np.ndarray]:
  """The mean code at every value of every factor.

  Args:
    key: JAX key for the other factors' draws (factor ``k`` uses ``fold_in(key, k)``).
    representation_fn: ``observations [chunk_size, ...] -> codes [chunk_size, D]`` (e.g.
      :func:`vae_jax.inference.code_fn`).
    sampler: the ground-truth model.
    num_per_value: images per factor value, the other factors uniform.
    chunk_size: rows per ``representation_fn`` call.

  Returns:
    Per factor ``k``: ``[factor_sizes[k], D]``, row ``v`` the mean code over images whose factor ``k`` is ``v``.
  """
  if num_per_value < 1:
    raise ValueError(f"factor_response: num_per_value must be >= 1, got {num_per_value}.")
  out = []
  for k, size in enumerate(sampler.factor_sizes):
    factors = np.array(sampler.sample_factors(jax.random.fold_in(key, k), (size, num_per_value)))
    factors[:, :, k] = np.arange(size)[:, None]
    codes = _sampling.represent(representation_fn, sampler, factors.reshape(size * num_per_value, -1),
                                chunk_size=chunk_size)
    out.append(np.asarray(codes).reshape(size, num_per_value, -1).mean(axis=1))
  return out


def response_summary(responses: Sequence[np.ndarray], factor_names: Sequence[str], *,
                     ordinal: Sequence[bool]) -> dict[str, dict]:
  """Per factor: which latent moves most with it, and how.

  Args:
    responses: :func:`factor_response`'s output.
    factor_names: the ``K`` factor names; ordinal: per factor, whether its values are ordered (position, scale; not
      shape or a cyclic orientation).

  Returns:
    ``{factor: {"latent": d, "share": range of d / sum of all latents' ranges, "rho": Spearman ρ of latent d's mean
    code against the value (ordinal factors; NaN otherwise), "monotonic": |ρ| >= MONOTONIC (None if not
    ordinal)}}``; a latent's range is its mean code's max − min over the factor's values.
  """
  if not len(responses) == len(factor_names) == len(ordinal):
    raise ValueError(f"response_summary: {len(responses)} responses, {len(factor_names)} factor names and "
                     f"{len(ordinal)} ordinal flags; give one of each per factor.")
  out = {}
  for resp, name, is_ordinal in zip(responses, factor_names, ordinal):
    resp = np.asarray(resp, np.float64)
    span = np.ptp(resp, axis=0)
    d = int(np.argmax(span))
    varies = is_ordinal and span[d] > 0  # a constant code has no rank order
    rho = float(scipy.stats.spearmanr(np.arange(len(resp)), resp[:, d]).statistic) if varies else float("nan")
    out[name] = {"latent": d, "share": float(span[d] / max(span.sum(), 1e-12)), "rho": rho,
                 "monotonic": bool(abs(rho) >= MONOTONIC) if is_ordinal else None}
  return out
