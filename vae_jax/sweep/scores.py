"""Scores of a trained sweep's members, cached in the sweep folder, so an interrupted or repeated scoring resumes.

    cache = scores.ScoreCache(workdir)                           # <workdir>/study_evals.json
    rows = scores.score_members(spec, workdir, score_fn, tag=scores.tag(sizes), cache=cache)
    curves = scores.score_checkpoints(spec, workdir, curve_fn, tag=scores.tag(curve_sizes), cache=cache)
    fd = scores.frechet_scores(rows, workdir, model, judge, real_images, tag=judge_tag)   # {member: scores}

A score is computed once per (member, ``tag``): the tag fingerprints what the score depends on besides the weights
(e.g. metric sample sizes), so scores at other sizes are never reused.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import json
import logging
import os
import time
from collections.abc import Callable, Mapping
from typing import Any

import jax
import numpy as np

from vae_jax.sweep import extend
from vae_jax.sweep.grid import Member, SweepConfig
from vae_jax.sweep.io import kept_steps, load_sweep, member_state

__all__ = ["ScoreCache", "cached_rows", "default_workers", "disentanglement_scores", "frechet_scores",
           "score_checkpoints", "score_members", "tag"]

logger = logging.getLogger(__name__)

ScoreFn = Callable[[Member, Any], dict]  # (member, params) -> scores


def tag(obj: Any) -> str:
  """A short fingerprint of ``repr(obj)`` (e.g. a ``MetricSizes``), part of every cache key."""
  return hashlib.sha1(repr(obj).encode()).hexdigest()[:10]


def default_workers(backend: str | None = None) -> int:
  """Members scored at once by :meth:`ScoreCache.get_many` on ``backend`` (default: JAX's): 1 on the CPU, whose cores
  the scores' own work already fills (XLA's threads, DCI's classifiers in threads); on an accelerator a quarter of
  the host's cores (at most 8), because there a member's scoring is mostly single-threaded host work (the metrics'
  classifiers, NumPy) between short device calls."""
  if (backend or jax.default_backend()) == "cpu":
    return 1
  from vae_jax.evaluation.dci import usable_cpus  # deferred: the cache needs no metric
  return max(1, min(8, usable_cpus() // 4))


def _json_ready(scores: dict) -> dict:
  return {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in scores.items()}


class ScoreCache:
  """``<workdir>/study_evals.json``: scores by key, written atomically after each new entry."""

  def __init__(self, workdir: str):
    self.path = os.path.join(workdir, "study_evals.json")
    self.data: dict[str, dict] = {}
    if os.path.exists(self.path):
      with open(self.path) as f:
        self.data = json.load(f)

  def get(self, key: str, fn: Callable[[], dict]) -> dict:
    """The scores under ``key``, computed by ``fn()`` (arrays stored as lists) if not cached yet."""
    if key not in self.data:
      self._put(key, fn())
    return self.data[key]

  def get_many(self, fns: Mapping[str, Callable[[], dict]], *, workers: int = 1) -> dict[str, dict]:
    """``{key: scores}`` for every key of ``fns``, the missing ones computed by their ``fn()`` — ``workers`` at a time
    in threads (each written to the file as it finishes, by this thread alone; the first error is raised after the
    running ones finish, and what finished is kept). The scores do not depend on ``workers``."""
    if int(workers) != workers or workers < 1:
      raise ValueError(f"ScoreCache.get_many: workers must be an integer >= 1, got {workers!r}.")
    missing = [k for k in fns if k not in self.data]
    if workers == 1 or len(missing) < 2:
      return {k: self.get(k, fns[k]) for k in fns}
    with concurrent.futures.ThreadPoolExecutor(max_workers=int(workers)) as pool:
      futures = {pool.submit(fns[k]): k for k in missing}
      error = None
      for done in concurrent.futures.as_completed(futures):
        if done.cancelled():
          continue
        if done.exception() is not None:
          error = error or done.exception()
          for f in futures:
            f.cancel()  # those not started yet
        else:
          self._put(futures[done], done.result())
      if error is not None:
        raise error
    return {k: self.data[k] for k in fns}

  def _put(self, key: str, scores: dict) -> None:
    self.data[key] = _json_ready(scores)
    tmp = self.path + ".tmp"
    with open(tmp, "w") as f:
      json.dump(self.data, f)
    os.replace(tmp, self.path)


def cached_rows(rows: list[dict], key: Callable[[dict], str], fn: Callable[[dict], dict], *,
                workers: int | None = None) -> list[dict]:
  """``fn(row)`` of every row, cached in the row's own folder (``row["workdir"]``'s ``study_evals.json``) under
  ``key(row)``, ``workers`` at a time (:meth:`ScoreCache.get_many`; :func:`default_workers` if ``None``), in the
  order of ``rows``."""
  workers = default_workers() if workers is None else workers
  out: dict[tuple[str, str], dict] = {}
  for workdir in dict.fromkeys(r["workdir"] for r in rows):
    mine = {key(r): (lambda r=r: fn(r)) for r in rows if r["workdir"] == workdir}
    out.update({(workdir, k): v for k, v in ScoreCache(workdir).get_many(mine, workers=workers).items()})
  return [out[r["workdir"], key(r)] for r in rows]


def score_members(spec: SweepConfig, workdir: str, score_fn: ScoreFn, *, tag: str,
                  cache: ScoreCache | None = None, workers: int = 1) -> list[tuple[Member, Any, dict]]:
  """``[(member, params, scores)]`` of every member at the sweep's last checkpoint; scores cached under
  ``<member name>/<tag>``, ``workers`` members at a time (:meth:`ScoreCache.get_many`)."""
  cache = cache or ScoreCache(workdir)
  _, state = load_sweep(workdir)
  params = {mb.name: member_state(state, mb.index).params for mb in spec.members()}
  got = cache.get_many({f"{mb.name}/{tag}": lambda mb=mb: score_fn(mb, params[mb.name]) for mb in spec.members()},
                       workers=workers)
  return [(mb, params[mb.name], dict(got[f"{mb.name}/{tag}"])) for mb in spec.members()]


def _points(workdir: str, members: list[tuple[Member, str, int]], score_fn: ScoreFn, tag: str, cache: ScoreCache,
            steps: Callable[[int], bool] = lambda step: True) -> dict[str, list[dict]]:
  """``{name: [{"step", **scores}]}`` at the kept checkpoints of ``workdir`` whose step ``steps`` accepts, for
  ``members`` given as ``(member scored, name in workdir, index in workdir's state)``; cached as ``curve/<name>/<step>/
  <tag>``. A checkpoint is restored only when one of its points is not cached yet."""
  out: dict[str, list[dict]] = {name: [] for _, name, _ in members}
  for step in kept_steps(workdir):
    if not steps(step):
      continue
    keys = {name: f"curve/{name}/{step}/{tag}" for _, name, _ in members}
    state = load_sweep(workdir, step)[1] if any(k not in cache.data for k in keys.values()) else None
    for mb, name, i in members:
      point = cache.get(keys[name], lambda mb=mb, i=i, state=state: score_fn(mb, member_state(state, i).params))
      out[name].append({"step": step, **point})
  return out


def score_checkpoints(spec: SweepConfig, workdir: str, score_fn: ScoreFn, *, tag: str,
                      cache: ScoreCache | None = None) -> dict[str, list[dict]]:
  """``{member name: [{"step", **scores}]}`` at every kept checkpoint, for the members of the sweep's first seed
  (a metric-vs-updates curve). A sweep continued from others (:mod:`vae_jax.sweep.extend`) starts with its members'
  points at their sources' kept checkpoints up to the step it started at (the same weights as its own first
  checkpoint; cached in the sources' folders), and so on back: a source that was itself continued brings its own
  sources' points (a member continued twice has its whole curve)."""
  first_seed = [mb for mb in spec.members() if mb.seed == spec.seeds[0]]
  return _lineage(workdir, [(mb, mb.name, mb.index) for mb in first_seed], score_fn, tag,
                  cache or ScoreCache(workdir))


def _lineage(workdir: str, members: list[tuple[Member, str, int]], score_fn: ScoreFn, tag: str, cache: ScoreCache,
             until: int | None = None) -> dict[str, list[dict]]:
  """:func:`_points` of ``workdir`` up to step ``until`` (all if None), after its sources' points up to the step it
  was started at (:func:`extend.provenance`), recursively; keyed by the members' names in ``workdir``."""
  start = extend.provenance(workdir)
  begin = start["step"] if start is not None else -1
  out: dict[str, list[dict]] = {name: [] for _, name, _ in members}
  for mb, name, _ in members if start is not None else []:
    src = start["members"][name]
    earlier = _lineage(src["workdir"], [(mb, src["name"], src["index"])], score_fn, tag, ScoreCache(src["workdir"]),
                       until=begin)
    out[name] += earlier[src["name"]]
  own = _points(workdir, members, score_fn, tag, cache,
                steps=lambda step: step > begin and (until is None or step <= until))
  return {name: points + own[name] for name, points in out.items()}


def metric_key(seed: int) -> jax.Array:
  """The key every member of seed ``seed`` is scored with by :func:`disentanglement_scores` (its
  ``evaluate_disentanglement`` key): the same factor draws for every model of a seed."""
  return jax.random.fold_in(jax.random.key(seed), 7)


def disentanglement_scores(spec: SweepConfig, workdir: str, model, sampler, sizes, curve_sizes,
                           real_images: Callable[[Any], Any], *, cache: ScoreCache | None = None,
                           workers: int | None = None) -> tuple[list[tuple[Member, Any, dict]], dict[str, list[dict]]]:
  """Every member's disentanglement and sharpness scores, and the first seed's metric-vs-updates curve (MIG and the
  β-VAE metric at every kept checkpoint), cached.

  Every member of a seed is scored with the same keys (``fold_in(key(seed), 7)`` for the metrics, ``fold_in(key(seed),
  11)`` for sharpness), so models trained with the same seed are compared on the same factor draws (a paired
  comparison).

  Args:
    model: the sweep's model; sampler: its ground-truth model (:class:`vae_jax.evaluation.GroundTruthSampler`).
    sizes, curve_sizes: ``MetricSizes`` of the members' scores and of the curve's.
    real_images: ``key -> [N, H, W, C]`` real images, the reference of :func:`vae_jax.evaluation.relative_sharpness`.
    workers: members scored at once (:func:`default_workers` if ``None``); the scores do not depend on it.

  Returns:
    ``(score_members(...) rows, score_checkpoints(...) curves)``; a member's scores add ``eval_time_s``.
  """
  from vae_jax import evaluation  # deferred: the cache above needs no metric
  cache = cache or ScoreCache(workdir)

  def metrics(mb, params, m):
    return evaluation.evaluate_disentanglement(metric_key(mb.seed), model, params, sampler, m)

  def score(mb, params):
    t = time.perf_counter()
    k_real, k_prior = jax.random.split(jax.random.fold_in(jax.random.key(mb.seed), 11))
    ev = {**metrics(mb, params, sizes), **evaluation.relative_sharpness(k_prior, model, params, real_images(k_real))}
    logger.info("%s: %s (%.0f s)", mb.name, {k: round(float(v), 3) for k, v in ev.items() if np.ndim(v) == 0},
                time.perf_counter() - t)
    return {**ev, "eval_time_s": time.perf_counter() - t}

  curves = score_checkpoints(spec, workdir, lambda mb, p: {k: v for k, v in metrics(mb, p, curve_sizes).items()
                                                            if k in ("beta_vae_metric", "mig")},
                             tag=tag(curve_sizes), cache=cache)
  return score_members(spec, workdir, score, tag=tag(sizes), cache=cache,
                       workers=default_workers() if workers is None else workers), curves


def frechet_scores(rows: list[tuple[Member, Any, dict]], workdir: str, model, judge: Callable[[], Any],
                   real_images: Callable[[Any], Any], *, tag: str, cache: ScoreCache | None = None
                   ) -> dict[str, dict]:
  """Every member's Fréchet distances to real images in a judge's features, cached apart from its other scores.

  Scores the images :func:`disentanglement_scores` measures the sharpness of (the same keys: real images and prior
  codes from ``fold_in(key(seed), 11)``), plus a second real draw (``fold_in(k_real, 1)``) for the floor.

  Args:
    rows: ``[(member, params, scores)]``, e.g. :func:`disentanglement_scores`' (only the members and params are read).
    model: the sweep's model.
    judge: ``() -> SpriteJudge`` (:func:`vae_jax.evaluation.train_sprite_judge`), called only when a score is not
      cached yet (so a fully cached rerun trains no judge).
    real_images: ``key -> [N, H, W, C]`` real images, as for :func:`disentanglement_scores`.
    tag: fingerprints the judge and the images (e.g. ``tag((judge config, N, resolution))``).

  Returns:
    ``{member name: {"fd_gen", "fd_rec", "fd_real", "fd_time_s"}}`` (:func:`vae_jax.evaluation.sprite_frechet`),
    each cached under ``frechet/<member name>/<tag>``.
  """
  from vae_jax import evaluation  # deferred: the cache above needs no metric
  cache = cache or ScoreCache(workdir)

  def score(mb, params):
    t = time.perf_counter()
    k_real, k_prior = jax.random.split(jax.random.fold_in(jax.random.key(mb.seed), 11))
    fd = evaluation.sprite_frechet(k_prior, judge(), model, params, real_images(k_real),
                                   reference=real_images(jax.random.fold_in(k_real, 1)))
    logger.info("%s: %s (%.0f s)", mb.name, {k: round(v, 2) for k, v in fd.items()}, time.perf_counter() - t)
    return {**fd, "fd_time_s": time.perf_counter() - t}

  return {mb.name: dict(cache.get(f"frechet/{mb.name}/{tag}", lambda mb=mb, params=params: score(mb, params)))
          for mb, params, _ in rows}
