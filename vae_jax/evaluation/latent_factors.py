"""Which latent carries which ground-truth factor: readings of the DCI importance and MIG matrices for tables and
figure labels (the matrices come from :func:`vae_jax.evaluation.evaluate_disentanglement`)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def _shares(weights: np.ndarray) -> np.ndarray:
  return weights / max(float(weights.sum()), 1e-12)


def latent_factor_rows(kl_per_dim, importance, mi_normalised, factor_names: Sequence[str], *,
                       active_kl: float) -> list[list]:
  """Latent → factor, one row per active latent by decreasing KL.

  Args:
    kl_per_dim: ``[D]`` mean KL per latent (nats); latents at or below ``active_kl`` are left out.
    importance: ``[D, K]`` DCI importance; mi_normalised: ``[D, K]`` MIG's mutual information over factor entropy.
    factor_names: the ``K`` factor names.

  Returns:
    Rows ``[latent, KL, top factor (DCI), its share of the latent's importance, "runner-up (share)",
    "top factor by MI/H (value)"]``.
  """
  kl, imp, mi = (np.asarray(a) for a in (kl_per_dim, importance, mi_normalised))
  rows = []
  for d in np.argsort(-kl):
    if kl[d] <= active_kl:
      continue
    share = _shares(imp[d])
    top, second = (int(k) for k in np.argsort(-share)[:2])
    rows.append([f"z{d}", round(float(kl[d]), 2), factor_names[top], round(float(share[top]), 2),
                 f"{factor_names[second]} ({share[second]:.2f})",
                 f"{factor_names[int(np.argmax(mi[d]))]} ({mi[d].max():.2f})"])
  return rows


def factor_latent_cells(importance) -> list[str]:
  """Per factor: ``"z<d> (share)"``, the latent of largest DCI importance for it and its share of that factor's."""
  imp = np.asarray(importance)
  cells = []
  for k in range(imp.shape[1]):
    share = _shares(imp[:, k])
    d = int(np.argmax(share))
    cells.append(f"z{d} ({share[d]:.2f})")
  return cells


def latent_factor_names(kl_per_dim, importance, factor_names: Sequence[str], *, active_kl: float) -> list[str]:
  """Per latent: the factor of largest DCI importance, or ``"(inactive)"`` at or below ``active_kl`` (row labels
  of a traversal)."""
  kl, imp = np.asarray(kl_per_dim), np.asarray(importance)
  return [factor_names[int(np.argmax(imp[d]))] if kl[d] > active_kl else "(inactive)" for d in range(len(kl))]


def factor_traversal(model, params, base_image, kl_per_dim, importance, factor_names: Sequence[str], *,
                     values, active_kl: float) -> tuple[np.ndarray, list[str]]:
  """Each latent swept over ``values`` from the posterior mean of ``base_image``, rows by decreasing KL, each row
  labelled with its KL and the factor it carries (DCI importance): a :func:`vae_jax.plots.traversal_panels` panel.

  Args:
    base_image: ``[1, H, W, C]`` the image whose code is the start of every row.
    values: ``[V]`` the values each latent takes in turn (the others stay at the base code).

  Returns:
    ``(images [D, V, H, W, C], row labels)``.
  """
  from vae_jax import inference  # deferred: the readings above are NumPy only

  kl, values = np.asarray(kl_per_dim), np.asarray(values, np.float32)
  base = inference.encode(model, params, base_image, batch_size=1).mean[0]
  order = np.argsort(-kl)
  codes = np.tile(base, (len(order), len(values), 1))
  codes[np.arange(len(order)), :, order] = values[None, :]
  images = inference.decode(model, params, codes.reshape(-1, len(base)), batch_size=codes.shape[0] * len(values))
  factors = latent_factor_names(kl, importance, factor_names, active_kl=active_kl)
  return (images.reshape(len(order), len(values), *images.shape[1:]),
          [f"z{d} KL={kl[d]:.1f} {factors[d]}" for d in order])
