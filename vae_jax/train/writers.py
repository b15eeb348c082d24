"""Where a run's metrics go: ``metrics.jsonl`` (and TensorBoard) via :class:`MetricWriter`, and :class:`Progress`,
which fetches each dispatched chunk's metrics, checks them, times them, writes them and moves the progress bar."""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable

import jax
import numpy as np
import tqdm

from vae_jax.train import run_dir
from vae_jax.train.finite import check_finite

__all__ = ["MetricWriter", "Progress"]

logger = logging.getLogger(__name__)


class MetricWriter:
  """metrics.jsonl (+ TensorBoard) on the main process; flushed at every write so a crash loses nothing."""

  def __init__(self, workdir: str, tensorboard: bool, enabled: bool):
    self.enabled = enabled
    self.jsonl = open(os.path.join(workdir, "metrics.jsonl"), "a") if enabled else None
    self.tb = None
    if enabled and tensorboard:
      try:
        from tensorboardX import SummaryWriter  # noqa: PLC0415
      except ImportError:
        logger.warning("config.tensorboard is on but tensorboardX is not installed (pip install tensorboardX); "
                       "writing metrics.jsonl only.")
      else:
        self.tb = SummaryWriter(os.path.join(workdir, "tb"))

  def write(self, step: int, record: dict[str, float]) -> None:
    if not self.enabled:
      return
    self.jsonl.write(json.dumps({"step": step, **record}) + "\n")
    self.jsonl.flush()
    if self.tb is not None:
      for k, v in record.items():
        self.tb.add_scalar(k, v, step)
      self.tb.flush()

  def close(self):
    if self.jsonl:
      self.jsonl.close()
    if self.tb:
      self.tb.close()


class Progress:
  """The train side of the loop's logging: chunks of fused steps are dispatched asynchronously; a chunk's metrics
  are fetched (its only host sync) when the next chunk is in flight or when the loop needs the state.

  Each fetched chunk is checked (:func:`~vae_jax.train.finite.check_finite`), timed (chunks run back to back: one
  started when the previous one's metrics arrived), written as a ``train/…`` record and shown on the bar.
  """

  def __init__(self, workdir: str, config, title: str, *, initial_step: int, enabled: bool,
               stopped: Callable[[], str]):
    """``enabled``: write and show (the main process); ``stopped()``: how the run stands if a chunk is not finite."""
    self.writer = MetricWriter(workdir, config.tensorboard, enabled)
    self.bar = tqdm.tqdm(total=config.num_steps, initial=initial_step, unit="step", desc=title[:40],
                         disable=not (config.progress and enabled), dynamic_ncols=True)
    self.batch_size, self.stopped = config.batch_size, stopped
    self.pending = None  # the dispatched chunk whose metrics are not fetched yet
    self.history: list[dict[str, float]] = []  # one record per chunk
    self.record: dict[str, float] = {}  # the latest train record
    self.chunk_times: list[tuple[int, float]] = []  # (steps, seconds) per fused call
    self.last = 0.0  # when the last chunk's metrics arrived
    self.steady_from: tuple[float, int] | None = None  # (time, step) at the end of the compiling chunk

  def __enter__(self) -> Progress:
    return self

  def __exit__(self, *exc) -> None:
    self.bar.close()
    self.writer.close()

  def write_eval(self, step: int, eval_record: dict[str, float]) -> None:
    """Writes an evaluation record and logs it with the latest train record."""
    self.writer.write(step, eval_record)
    logger.info("step %d: %s", step, {k: round(v, 4) for k, v in {**self.record, **eval_record}.items()})

  def dispatched(self, first: int, n: int, metrics, t_dispatch: float) -> None:
    """Records a just-dispatched chunk of steps ``first … first+n−1``, then finishes the one before it."""
    previous, self.pending = self.pending, (first, n, metrics, t_dispatch)
    if previous is not None:
      self._finish(previous)

  def sync(self) -> None:
    """Finishes the chunk in flight (the loop needs its state: to evaluate or save it)."""
    if self.pending is not None:
      self._finish(self.pending)
      self.pending = None

  def _finish(self, chunk) -> None:
    first, n, metrics, t_dispatch = chunk
    metrics = jax.device_get(metrics)
    now = time.perf_counter()
    dt = now - max(t_dispatch, self.last)
    self.last = now
    if self.steady_from is None:
      self.steady_from = (now, first + n)
    self.chunk_times.append((n, dt))
    check_finite(metrics, first, stopped=self.stopped)
    self.record = {f"train/{k}": float(np.mean(v)) for k, v in metrics.items()}
    self.record["train/images_per_sec"] = n * self.batch_size / dt
    self.record["train/seconds"] = dt  # summed over invocations by run_dir.train_seconds
    self.history.append({"step": first + n, **self.record})
    self.writer.write(first + n, self.record)
    self.bar.update(n)
    self.bar.set_postfix(loss=f"{self.record['train/loss']:.2f}",
                         img_s=f"{self.record['train/images_per_sec']:.0f}")

  def timing(self, final_step: int, loop_end: float, earlier: tuple[float, int] = (0.0, 0)) -> dict[str, float | None]:
    """The results' timing fields: seconds in fused calls behind the final state (``earlier``: the seconds of the
    invocations before this one and the step they are complete from, :func:`run_dir.train_seconds`), this
    invocation's, the first (compiling) call's, and throughputs (this invocation's)."""
    times = self.chunk_times
    steady = times[1:] or times  # the first call includes compilation
    return {
        **run_dir.train_time(earlier, float(sum(dt for _, dt in times))),
        "first_call_s": times[0][1] if times else None,
        "images_per_sec": (self.batch_size * sum(n for n, _ in steady) / sum(dt for _, dt in steady)
                           if times else None),
        # Wall-clock throughput after the first (compiling) chunk, logging, evaluation and checkpoints included.
        "loop_images_per_sec": (self.batch_size * (final_step - self.steady_from[1]) / (loop_end - self.steady_from[0])
                                if self.steady_from and final_step > self.steady_from[1] else None),
    }
