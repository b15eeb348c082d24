"""Fashion-MNIST likelihood of the VAE and the IWAE at 100 epochs, every model a sweep over seeds (issue #18).

    python -m experiments.fashion_likelihood                         # full (hours on a 2-core CPU; resumable)
    python -m experiments.fashion_likelihood --models vae_h500 iwae5_h500
    python -m experiments.fashion_likelihood --size quick            # minutes

The protocol, sizes and expected result: ``experiments/configs/fashion_likelihood.py``. Per-image estimates are
cached in each sweep's folder (``vae_jax.sweep.scores``), so a rerun computes only what is missing. The results hold
the models asked for and every other one trained in the runs root, rewritten after each model (a subset that would
drop an earlier run's model stops at once and says so); models not run yet are named in the notes.
"""

from __future__ import annotations

import os
import time

import jax
import numpy as np

from experiments import fashion, sweeps
from experiments.configs import fashion_likelihood as protocol
from vae_jax import data, evaluation, factory, plots, sweep
from vae_jax.sweep import scores

NAME = "fashion_likelihood"
LIKELIHOOD = "Test likelihood (nats; mean ± std over seeds)"


def _scores(spec, workdir: str, images: np.ndarray, key, num_samples: int, curve: bool = False):
  """Per-image IS-NLL / ELBO / bits/dim of every member (cached in the sweep folder), or the first seed's mean
  IS-NLL at every kept checkpoint (``curve``); each estimate records its seconds (``time_s``)."""
  model = factory.make_model(spec.base.model, images.shape[1:])
  def score(mb, params):
    t = time.perf_counter()
    est = evaluation.importance_sampled_nll(key, model, params, images, num_samples=num_samples, progress=not curve)
    out = ({"nll": float(est["nll_mean"])} if curve else
           {k: np.asarray(est[k]) for k in ("nll", "elbo", "bits_per_dim")})
    return {**out, "time_s": time.perf_counter() - t}
  fn = scores.score_checkpoints if curve else scores.score_members
  return fn(spec, workdir, score, tag=f"is_nll_K{num_samples}_N{len(images)}")


def main(argv: list[str] | None = None) -> str:
  p = sweeps.parser(__doc__, NAME)
  p.add_argument("--models", nargs="*", default=None, help="a subset of the size's models (default: all)")
  setup = sweeps.begin(p, NAME, argv, default_seeds=protocol.SEEDS)
  args, c, seeds = setup.args, sweeps.load_config(NAME, setup.args.size), setup.seeds
  asked, spec = args.models or list(c.models), lambda m: sweep.make_sweep(protocol.model_config(m, c), seeds=seeds)
  workdir = lambda m: os.path.join(args.runs_root, NAME, args.size, m)  # noqa: E731
  # every model asked for, and every other one already trained in the runs root (restored and scored, not retrained)
  models = [m for m in c.models if m in asked or sweep.finished(spec(m), workdir(m))]
  models += [m for m in asked if m not in models]
  sweeps.keep_rows(setup.results_dir, NAME, LIKELIHOOD, models, "Add them to --models (a sweep retrains "
                   "bit-for-bit, then is scored).")
  grey, _ = fashion.test_set(c.is_nll_images)
  test = np.asarray(data.binarize_dynamic(jax.random.key(c.test_binarization_seed), grey))  # once, shared
  key, rows, per_image, curves, times = jax.random.key(c.eval_seed), [], {}, {}, []
  for name in models:
    spec_m, workdir_m = spec(name), workdir(name)  # every seed one member
    res = sweep.train_sweep(spec_m, workdir_m)
    est = [e for _, _, e in _scores(spec_m, workdir_m, test, key, c.is_nll_samples)]
    times += [res.get("train_time_s"), *(e.get("time_s") for e in est)]
    per_image |= {(name, m.seed): np.asarray(e["nll"]) for m, e in zip(spec_m.members(), est)}
    stat = {f: sweeps.mean_std([sign * float(np.mean(e[f], dtype=np.float64)) for e in est])
            for f, sign in (("nll", 1), ("elbo", -1), ("bits_per_dim", 1))}
    rows.append([name, len(est), res["final_step"], stat["nll"], stat["elbo"], stat["bits_per_dim"],
                 round(res.get("train_time_s") or 0.0)])
    curves[name] = next(iter(_scores(spec_m, workdir_m, test[:c.curve_images], key, c.curve_samples, True).values()))
    times += [p.get("time_s") for p in curves[name]]
    done = models[:models.index(name) + 1]  # written after each model unless that would drop an old row for now
    if done == models or not sweeps.dropped_rows(setup.results_dir, NAME, LIKELIHOOD, done):
      path = _write(setup, c, done, seeds, rows, per_image, curves, len(test), times)
  return path


def _write(setup, c, models, seeds, rows, per_image, curves, num_test, times) -> str:
  """The results file from the models done so far (written after each, so a stopped run keeps them); ``times``:
  the seconds of every training and estimate behind them (:func:`sweeps.compute_time`)."""
  args, paired, notes = setup.args, [], []
  for name in models:
    method, _, arch = name.partition("_")
    if method != "vae" and f"vae_{arch}" in models:
      diffs = [evaluation.mean_difference(per_image[(name, s)], per_image[(f"vae_{arch}", s)]) for s in seeds]
      paired += [[f"{name} − vae_{arch}", s, d] for s, d in zip(seeds, diffs)]
  if missing := [m for m in c.models if m not in models]:
    notes.append(f"Not (yet) run in this invocation (size {args.size}): {', '.join(missing)}.")
  notes.append(f"IS-NLL with K = {c.is_nll_samples} on {num_test} test images binarized once (seed "
               f"{c.test_binarization_seed}), the same for every model; curve: K = {c.curve_samples} on the first "
               f"{c.curve_images} images at every kept checkpoint of seed {seeds[0]}.")
  fig = plots.metric_curves(curves, os.path.join(setup.figures_dir, "fashion_likelihood_curve.png"),
                            metrics=[("nll", f"test IS-NLL (nats), K = {c.curve_samples}")],
                            title="Fashion-MNIST test NLL (468 updates = 1 epoch)")
  tables = {
      LIKELIHOOD: sweeps.table(
          ["model", "seeds", "updates", f"IS-NLL (K = {c.is_nll_samples})", "−ELBO", "bits/dim",
           "sweep training (s)"], rows),
      "IWAE − VAE, per-image paired difference of IS-NLL (nats; ± standard error over images)": sweeps.table(
          ["comparison", "seed", "mean difference ± s.e."], paired),
      "Test IS-NLL against updates (first seed)": sweeps.table(
          ["model", *[str(p["step"]) for p in next(iter(curves.values()), [])]],
          [[n, *[round(p["nll"], 2) for p in pts]] for n, pts in curves.items()]),
  }
  compute_s, note = sweeps.compute_time(times, "training and IS-NLL estimates")
  return sweeps.write_results(setup.results_dir, NAME, args=args, command=setup.command, started=setup.started,
                              tables=tables, figures=[fig], notes=[*notes, note], compute_s=compute_s)


if __name__ == "__main__":
  sweeps.run_script(main)
