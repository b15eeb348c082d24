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


def mean_difference(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
  """The mean of ``a − b`` item by item (e.g. two models' scores of the same test images) as ``{"mean", "std": its
  standard error std(ddof=1)/√n, "n"}``."""
  if np.ndim(a) != 1 or np.shape(a) != np.shape(b):
    raise ValueError(f"mean_difference: a and b must be 1-d of one length, got {np.shape(a)} and {np.shape(b)}")
  d = np.asarray(a, np.float64) - np.asarray(b, np.float64)
  return {"mean": float(d.mean()), "std": float(d.std(ddof=1) / np.sqrt(d.size)) if d.size > 1 else 0.0,
          "n": int(d.size)}


def standard_error(entry: Mapping[str, float]) -> dict[str, float]:
  """A :func:`paired_differences` entry as ``{"mean", "std": its standard error std/√n, "n"}`` (the mean
  difference and its uncertainty, not the spread of the differences)."""
  n = entry["n"]
  return {"mean": entry["mean"], "std": entry["std"] / np.sqrt(n) if n > 1 else 0.0, "n": n}


def significant(entries: Mapping[str, Mapping[str, float]], *, z: float = 2.0) -> tuple[list[str], list[str]]:
  """The settings whose mean paired difference is more than ``z`` standard errors above zero, and below zero.

  Args:
    entries: ``{setting: paired_differences entry}`` (one key's entry per setting).

  Returns:
    ``(higher, lower)``, setting names in the order given; the rest are within noise. A setting with one pair, or
    no spread, is neither.
  """
  higher, lower = [], []
  for name, e in entries.items():
    se = standard_error(e)["std"]
    if se > 0:
      if e["mean"] > z * se:
        higher.append(name)
      elif e["mean"] < -z * se:
        lower.append(name)
  return higher, lower


def spread(values) -> dict:
  """``{"mean", "std" (ddof=1; 0 for one value), "n", "values"}`` of one score over seeds: a table cell."""
  v = np.asarray(values, np.float64)
  return {"mean": float(v.mean()), "std": float(v.std(ddof=1)) if v.size > 1 else 0.0, "n": int(v.size),
          "values": [float(x) for x in v]}


def _stat(values) -> dict:
  return {**spread(values), "median": float(np.median(np.asarray(values, np.float64)))}


def compare_settings(groups: Mapping[str, Sequence[tuple[int, Mapping[str, float]]]], reference: str,
                     keys: Sequence[str], headline: Sequence[str], paired_keys: Sequence[str]) -> dict:
  """Settings scored over seeds, each compared with ``reference`` seed by seed.

  Args:
    groups: ``{setting: [(seed, scores)]}``, ``reference`` among them.
    keys: the scores summarised per setting; headline: the scores the best setting and the wins are judged by;
    paired_keys: the scores of the paired table (``headline`` and more).

  Returns:
    ``summary`` ``{setting: {key: {"mean", "std", "n", "values", "median"}}}``; ``paired`` ``{setting (not the
    reference): {key: paired_differences entry}}``; ``wins`` ``{setting: headline keys higher on every seed}``;
    ``headline_median`` ``{setting: mean over headline keys of the median over seeds}``.
  """
  by_seed = {g: {seed: s for seed, s in rows} for g, rows in groups.items()}
  summary = {g: {k: _stat([s[k] for _, s in rows]) for k in keys} for g, rows in groups.items()}
  paired = {g: paired_differences(by_seed[g], by_seed[reference], paired_keys) for g in groups if g != reference}
  return {"summary": summary, "paired": paired,
          "wins": {g: [k for k in headline if p[k]["all_higher"]] for g, p in paired.items()},
          "headline_median": {g: float(np.mean([summary[g][k]["median"] for k in headline])) for g in groups}}
