"""Paired comparison of two settings over seeds: the per-seed differences of their scores.

Two models trained and scored with the same seed see the same data order and the same factor draws, so their
difference on that seed is a paired sample; "higher on every seed" is the strictest reading of a small study.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np


def paired_differences(scores: Mapping[int, Mapping[str, float]], reference: Mapping[int, Mapping[str, float]],
                       keys: Sequence[str]) -> dict[str, dict]:
  """Per key, ``scores[seed][key] − reference[seed][key]`` over the seeds both have.

  Returns:
    ``{key: {"mean", "std" (ddof=1; 0 for one seed), "n", "values", "higher" (seeds where the difference is > 0),
    "all_higher" (every seed higher, and at least one)}}``.
  """
  seeds = [s for s in scores if s in reference]
  out = {}
  for k in keys:
    d = np.asarray([scores[s][k] - reference[s][k] for s in seeds], np.float64)
    higher = int(np.sum(d > 0))
    out[k] = {"mean": float(np.mean(d)) if d.size else float("nan"), "std": float(np.std(d, ddof=1)) if d.size > 1
              else 0.0, "n": int(d.size), "values": [float(x) for x in d], "higher": higher,
              "all_higher": bool(d.size) and higher == d.size}
  return out
