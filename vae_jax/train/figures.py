"""The figures a run leaves in its workdir: reconstructions, prior samples (generative models) and curves."""

from __future__ import annotations

import os

import jax
import jax.numpy as jnp
import numpy as np

from vae_jax.train.splits import Split

__all__ = ["atomic_figure", "run_figures"]


def atomic_figure(draw, path: str) -> str:
  """Draws a figure to a temporary ``.png`` beside ``path`` and renames it: never a half-written figure."""
  tmp = f"{path[:-4]}.tmp{os.getpid()}.png"
  try:
    draw(tmp)
    os.replace(tmp, path)
  finally:
    if os.path.exists(tmp):
      os.remove(tmp)
  return path


def run_figures(model, params, test: Split, key: jax.Array, workdir: str, title: str,
                history: list[dict[str, float]] | None) -> list[str]:
  """``reconstructions.png``, ``samples.png`` (a stochastic encoder's model only) and, given the logged
  ``history`` (``metrics.jsonl``'s records), ``curves.png``; returns their paths."""
  from vae_jax import inference, plots

  x = jnp.asarray(test.images[:16])
  variables = {"params": jax.device_get(params)}  # host copy: a local computation, also in multi-process runs
  recon = np.asarray(model.apply(variables, x, method="reconstruct"))
  paths = [atomic_figure(lambda p: plots.reconstruction_grid(np.asarray(test.images[:16]), recon, p, title=title),
                         os.path.join(workdir, "reconstructions.png"))]
  if inference.is_stochastic(model, params, test.images):  # a generative model: samples from the prior
    samples = np.asarray(model.apply(variables, 64, key=key, method="sample"))
    paths.append(atomic_figure(lambda p: plots.image_grid(samples, p, ncols=8, title=title),
                               os.path.join(workdir, "samples.png")))
  if history:
    paths.append(atomic_figure(lambda p: plots.training_curves(history, p), os.path.join(workdir, "curves.png")))
  return [str(p) for p in paths]
