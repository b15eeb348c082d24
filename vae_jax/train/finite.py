"""The non-finite check every training loop applies to the metrics it fetches."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["check_finite"]


def check_finite(metrics: dict, first_step: int, *, stopped: Callable[[], str] = lambda: "training stopped",
                 remedy: str = "Lower optimizer.learning_rate, set optimizer.grad_clip_norm, or check the data."
                 ) -> None:
  """Raises ``FloatingPointError`` naming the first step whose ``loss`` is not finite.

  Args:
    metrics: host metrics whose ``loss`` is ``[num_steps]`` (a chunk of steps) or a scalar.
    first_step: the global step of ``metrics["loss"][0]``.
    stopped: what happened to the run (called only on failure, e.g. to name the last good checkpoint).
    remedy: what to change.
  """
  loss = np.atleast_1d(np.asarray(metrics["loss"]))
  bad = ~np.isfinite(loss)
  if bad.any():
    i = int(np.argmax(bad))
    raise FloatingPointError(f"Non-finite loss ({loss[i]}) at step {first_step + i}; {stopped()}. {remedy}")
