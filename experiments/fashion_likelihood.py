"""Fashion-MNIST likelihood of the VAE and the IWAE at 100 epochs, every model a sweep over seeds (issue #18).

    python -m experiments.fashion_likelihood                         # full (hours on a 2-core CPU; resumable)
    python -m experiments.fashion_likelihood --models vae_h500 iwae5_h500
    python -m experiments.fashion_likelihood --size quick            # minutes

The protocol, sizes and expected result: ``experiments/configs/fashion_likelihood.py``. Per-image estimates are
cached in each sweep's folder (``vae_jax.sweep.scores``), so a rerun computes only what is missing. The results hold
the models asked for and every other one trained in the runs root, rewritten after each model (a subset that would
drop an earlier run's model stops at once and says so); models not run yet are named in the notes. When the runs of
earlier models are gone (a new machine), ``--keep-earlier`` keeps their rows of the results file, marked as carried
with the command that computed them, beside the models this invocation trains:

    python -m experiments.fashion_likelihood --models iwae50_burda --keep-earlier

A sweep that cannot finish in one sitting (k = 50 takes hours on a 2-core CPU) can be reported as far as it got:
``--partial`` trains nothing, scores the first seed's curve at the checkpoints an unfinished sweep has (while its
training goes on in another process, or after it stopped) and notes the update each reached; without ``--partial``
the same command resumes and finishes it.
"""

from __future__ import annotations

import logging
import os
import time

import jax
import numpy as np

from experiments import fashion, sweeps
from experiments.configs import fashion_likelihood as protocol
from vae_jax import data, evaluation, factory, plots, sweep
from vae_jax.sweep import io as sweep_io
from vae_jax.sweep import scores

NAME = "fashion_likelihood"
LIKELIHOOD = "Test likelihood (nats; mean ± std over seeds)"
PAIRED = "IWAE − VAE, per-image paired difference of IS-NLL (nats; ± standard error over images)"
CURVE = "Test IS-NLL against updates (first seed)"
logger = logging.getLogger(__name__)


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
  p.add_argument("--partial", action="store_true",
                 help="do not train unfinished sweeps: score the first seed's curve at the checkpoints they have (a "
                      "training running elsewhere goes on) and say how far each got; rerun without it to finish")
  p.add_argument("--keep-earlier", action="store_true",
                 help="keep the rows of models in the results file that this run neither trains nor finds in its "
                      "runs root, marked as carried, instead of refusing to drop them")
  setup = sweeps.begin(p, NAME, argv, default_seeds=protocol.SEEDS)
  args, c, seeds = setup.args, sweeps.load_config(NAME, setup.args.size), setup.seeds
  asked, spec = args.models or list(c.models), lambda m: sweep.make_sweep(protocol.model_config(m, c), seeds=seeds)
  workdir = lambda m: os.path.join(args.runs_root, NAME, args.size, m)  # noqa: E731
  # every model asked for, and every other one already trained in the runs root (restored and scored, not retrained)
  models = [m for m in c.models if m in asked or sweep.finished(spec(m), workdir(m))]
  models += [m for m in asked if m not in models]
  earlier = sweeps.read_results(setup.results_dir, NAME) if args.keep_earlier else None
  if earlier and earlier["size"] != args.size:
    raise ValueError(f"{NAME}: --keep-earlier: {setup.results_dir}/{NAME}.json holds size {earlier['size']!r}, not "
                     f"{args.size!r}; its rows cannot sit beside this size's. Write elsewhere with --results-dir.")
  if earlier is None:
    sweeps.keep_rows(setup.results_dir, NAME, LIKELIHOOD, models, "Add them to --models (a sweep retrains "
                     "bit-for-bit, then is scored), or keep their rows with --keep-earlier.")
  grey, _ = fashion.test_set(c.is_nll_images)
  test = np.asarray(data.binarize_dynamic(jax.random.key(c.test_binarization_seed), grey))  # once, shared
  key, rows, per_image, curves, times, path = jax.random.key(c.eval_seed), [], {}, {}, [], None
  partial: dict[str, int] = {}  # --partial: model -> the step its unfinished sweep had reached
  for name in models:
    spec_m, workdir_m = spec(name), workdir(name)  # every seed one member
    if args.partial and not sweep.finished(spec_m, workdir_m):
      if not _has_checkpoints(spec_m, workdir_m):
        continue
      partial[name] = -1
    else:
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
    if name in partial:
      partial[name] = curves[name][-1]["step"]  # the newest checkpoint scored
    done = [m for m in models[:models.index(name) + 1] if m in curves]  # written after each model unless that
    # would drop an old row for now
    if done == models or earlier or not sweeps.dropped_rows(setup.results_dir, NAME, LIKELIHOOD, done):
      path = _write(setup, c, done, seeds, rows, per_image, curves, len(test), times, earlier, partial)
  if unscored := [m for m in models if m not in curves]:
    logger.warning("--partial: %s has no checkpoint in %s yet; nothing of it to score.", ", ".join(unscored),
                   os.path.join(args.runs_root, NAME, args.size))
  if path is None:
    raise ValueError(f"{NAME}: --partial: nothing to write — no model asked for is trained or has a checkpoint.")
  return path


def _has_checkpoints(spec, workdir: str) -> bool:
  """Whether ``workdir`` holds a checkpoint of this very sweep (an unfinished one, for ``--partial``)."""
  ckpts = os.path.join(workdir, "checkpoints")
  return (os.path.isdir(ckpts) and any(s.isdigit() for s in os.listdir(ckpts))
          and sweep_io.read_sweep(workdir).to_dict() == spec.to_dict())


def _carry(earlier, c, models, rows, paired, curves) -> tuple[list, list, dict, dict[str, str], float]:
  """Merges into this invocation's rows, paired differences and curves those of ``earlier`` (the results file as it
  was before; None: nothing) for the models it does not produce, in the protocol's order. Also returns where each
  kept model's numbers were computed and the training seconds behind them."""
  if not earlier:
    return rows, paired, curves, {}, 0.0
  old = {caption: {"columns": ["model"], "rows": []} for caption in (LIKELIHOOD, PAIRED, CURVE)} | earlier["tables"]
  kept = [r for r in old[LIKELIHOOD]["rows"] if r[0] not in models]
  names = {r[0] for r in kept}
  # a comparison is carried only between two carried models (one of this run may differ from its old self)
  paired = [*paired, *(r for r in old[PAIRED]["rows"] if set(r[0].split(" − ")) <= names)]
  steps = old[CURVE]["columns"][1:]
  curves = {**curves, **{r[0]: [{"step": int(s), "nll": v} for s, v in zip(steps, r[1:]) if v is not None]
                         for r in old[CURVE]["rows"] if r[0] in names}}  # not a partial model's
  order = lambda name: list(c.models).index(name) if name in c.models else len(c.models)  # noqa: E731
  return (sorted([*rows, *kept], key=lambda r: order(r[0])), paired,
          dict(sorted(curves.items(), key=lambda kv: order(kv[0]))), sweeps.provenance(earlier, [r[0] for r in kept]),
          sum(float(r[-1] or 0.0) for r in kept))


def _write(setup, c, models, seeds, rows, per_image, curves, num_test, times, earlier=None, partial=None) -> str:
  """The results file from the models done so far (written after each, so a stopped run keeps them), with the
  rows of ``earlier`` it keeps (:func:`_carry`); ``times``: the seconds of every training and estimate behind them
  (:func:`sweeps.compute_time`); ``partial``: the models only partly trained (``--partial``) and the step each
  reached — they have a curve, no row."""
  args, paired, notes, partial = setup.args, [], [], partial or {}
  for name in [m for m in models if m not in partial]:
    method, _, arch = name.partition("_")
    if method != "vae" and f"vae_{arch}" in models and f"vae_{arch}" not in partial:
      diffs = [evaluation.mean_difference(per_image[(name, s)], per_image[(f"vae_{arch}", s)]) for s in seeds]
      paired += [[f"{name} − vae_{arch}", s, d] for s, d in zip(seeds, diffs)]
  rows, paired, curves, carried, carried_s = _carry(earlier, c, models, rows, paired, curves)
  notes += [f"Partial: {name} was trained to update {step:,} of {c.num_steps:,} when this file was written (still "
            "training, or stopped): its curve's points so far, no IS-NLL row yet. The same command without "
            "--partial resumes and finishes it." for name, step in partial.items()]
  longest = max((len(pts) for pts in curves.values()), default=0)
  if missing := [m for m in c.models if m not in models and m not in carried]:
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
      PAIRED: sweeps.table(["comparison", "seed", "mean difference ± s.e."], paired),
      CURVE: sweeps.table(["model", *[str(p["step"]) for p in next((v for v in curves.values() if len(v) == longest),
                                                                     [])]],
                          [[n, *[round(p["nll"], 2) for p in pts], *[None] * (longest - len(pts))]
                           for n, pts in curves.items()]),
  }
  compute_s, note = sweeps.compute_time(times, "training and IS-NLL estimates")
  if carried:
    compute_s += carried_s
    note += f" With the carried models' training ({carried_s / 60:.1f} min; their estimates' times were not kept)."
  return sweeps.write_results(setup.results_dir, NAME, args=args, command=setup.command, started=setup.started,
                              tables=tables, figures=[fig], notes=[*notes, note], compute_s=compute_s,
                              carried=carried)


if __name__ == "__main__":
  sweeps.run_script(main)
