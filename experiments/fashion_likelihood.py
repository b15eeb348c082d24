"""Fashion-MNIST likelihood of the VAE and the IWAE at 100 epochs, every model a sweep over seeds (issue #18).

    python -m experiments.fashion_likelihood                         # full (hours on a 2-core CPU; resumable)
    python -m experiments.fashion_likelihood --models vae_h500 iwae5_h500 --size quick   # two models, minutes

Protocol: ``experiments/configs/fashion_likelihood.py``. The results hold the models asked for and every one trained
in the runs root; a subset that would drop a model of the results file stops, unless ``--keep-earlier`` keeps its
rows (marked carried). ``--partial`` trains nothing: an unfinished sweep gets its curve so far (it may train on).
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
PAIRED = "IWAE − VAE, per-image paired difference of IS-NLL (nats; ± standard error over images)"
CURVE = "Test IS-NLL against updates (first seed)"


def _scores(spec, workdir: str, images: np.ndarray, key, num_samples: int, curve: bool = False):
  """Per-image IS-NLL / ELBO / bits/dim of every member, or the first seed's curve; cached, with their seconds."""
  model = factory.make_model(spec.base.model, images.shape[1:])
  def score(mb, params):
    t = time.perf_counter()
    est = evaluation.importance_sampled_nll(key, model, params, images, num_samples=num_samples, progress=not curve)
    out = {"nll": float(est["nll_mean"])} if curve else {k: np.asarray(est[k]) for k in ("nll", "elbo", "bits_per_dim")}
    return {**out, "time_s": time.perf_counter() - t}
  fn = scores.score_checkpoints if curve else scores.score_members
  return fn(spec, workdir, score, tag=f"is_nll_K{num_samples}_N{len(images)}")


def main(argv: list[str] | None = None) -> str:
  p = sweeps.parser(__doc__, NAME, tag=True)
  p.add_argument("--models", nargs="*", default=None, help="a subset of the size's models (default: all)")
  p.add_argument("--partial", action="store_true", help="score unfinished sweeps' checkpoints, train nothing")
  p.add_argument("--keep-earlier", action="store_true", help="keep the results file's rows of models not run")
  setup = sweeps.begin(p, NAME, argv, default_seeds=protocol.SEEDS)
  args, c, seeds, out = setup.args, sweeps.load_config(NAME, setup.args.size), setup.seeds, sweeps.tagged(NAME, setup)
  asked, spec = args.models or list(c.models), lambda m: sweep.make_sweep(protocol.model_config(m, c), seeds=seeds)
  workdir = lambda m: os.path.join(args.runs_root, NAME, args.size, m)  # noqa: E731
  models = [m for m in c.models if m in asked or sweep.finished(spec(m), workdir(m))]  # + the trained ones: rescored
  models += [m for m in asked if m not in models]
  earlier = sweeps.earlier_results(setup, out, LIKELIHOOD, models, keep=args.keep_earlier)
  grey, _ = fashion.test_set(c.is_nll_images)
  test = np.asarray(data.binarize_dynamic(jax.random.key(c.test_binarization_seed), grey))  # once, shared
  key, rows, per_image, curves, times, partial, path, timing = jax.random.key(c.eval_seed), [], {}, {}, [], {}, None, []
  for name in models:
    spec_m, workdir_m = spec(name), workdir(name)  # every seed one member
    if args.partial and not sweep.finished(spec_m, workdir_m):  # its curve so far (if it has a checkpoint), no row
      partial[name] = sweep.checkpointed(spec_m, workdir_m)
    else:
      res = sweep.train_sweep(spec_m, workdir_m)
      est = [e for _, _, e in _scores(spec_m, workdir_m, test, key, c.is_nll_samples)]
      times += [t_train := sweeps.train_time(res, name, timing), *(e.get("time_s") for e in est)]
      per_image |= {(name, m.seed): np.asarray(e["nll"]) for m, e in zip(spec_m.members(), est)}
      stat = lambda f, sign=1: sweeps.mean_std([sign * float(np.mean(e[f], dtype=np.float64)) for e in est])  # noqa: E731
      rows.append([name, len(est), res["final_step"], stat("nll"), stat("elbo", -1), stat("bits_per_dim"),
                   round(t_train)])
    if partial.get(name, 0) is not None:
      curves[name] = [*_scores(spec_m, workdir_m, test[:c.curve_images], key, c.curve_samples, True).values()][0]
      times += [p.get("time_s") for p in curves[name]]
    done = [m for m in models[:models.index(name) + 1] if m in curves]  # written after each unless that drops rows
    if done and (done == models or earlier or not sweeps.dropped_rows(setup.results_dir, out, LIKELIHOOD, done)):
      path = _write(setup, out, c, done, seeds, rows, per_image, curves, len(test), times, earlier, partial, timing)
  if path is None:
    raise ValueError(f"{NAME}: nothing to report: {', '.join(models)} not trained nor checkpointed in {workdir('')}")
  return path


def _write(setup, out, c, models, seeds, rows, per_image, curves, num_test, times, earlier, partial, timing) -> str:
  """The results file ``out`` from the models done so far, with the rows of ``earlier`` it keeps (``--keep-earlier``);
  ``times``: the seconds behind them; ``partial``: model -> the update it reached; ``timing``: notes on times."""
  steps = max(([p["step"] for p in v] for v in curves.values()), key=len, default=[])
  pairs = [(m, "vae_" + m.partition("_")[2]) for m in models if not m.startswith("vae_") and m not in partial]
  paired = [[f"{a} − {b}", s, evaluation.mean_difference(per_image[(a, s)], per_image[(b, s)])]
            for a, b in pairs if b in models and b not in partial for s in seeds]
  tables, carried = sweeps.carry_rows(earlier, {
      LIKELIHOOD: sweeps.table(["model", "seeds", "updates", f"IS-NLL (K = {c.is_nll_samples})", "−ELBO", "bits/dim",
                                "sweep training (s)"], rows),
      PAIRED: sweeps.table(["comparison", "seed", "mean difference ± s.e."], paired),
      CURVE: sweeps.table(["model", *map(str, steps)], [[n, *[round(p["nll"], 2) for p in v]] for n, v in
                                                         curves.items()], pad=True)},
      LIKELIHOOD, models, c.models, (notes := list(timing)))  # a copy: _write runs after every model
  notes += [f"Partial: {m} was trained to update {curves[m][-1]['step']:,} of {c.num_steps:,} when this "
            "file was written: its curve so far, no row yet; the command without --partial finishes it."
            for m in partial if m in curves]
  if missing := [m for m in c.models if m not in models and m not in carried]:
    notes.append(f"Not (yet) run in this invocation (size {setup.args.size}): {', '.join(missing)}.")
  notes.append(protocol.estimates_note(c, num_test, seeds[0]))
  fig = plots.metric_curves(sweeps.table_series(tables[CURVE], "nll"), f"{setup.figures_dir}/{out}_curve.png",
                            metrics=[("nll", f"test IS-NLL (nats), K = {c.curve_samples}")],
                            title="Fashion-MNIST test NLL (468 updates = 1 epoch)")
  compute_s, note = sweeps.compute_time([*times, *(float(r[-1] or 0) for r in tables[LIKELIHOOD]["rows"] if r[0]
                                                   in carried)], "training and IS-NLL estimates (carried: training)")
  return sweeps.write_results(setup.results_dir, out, args=setup.args, command=setup.command, started=setup.started,
                              tables=tables, figures=[fig], notes=[*notes, note], compute_s=compute_s, carried=carried)


if __name__ == "__main__":
  sweeps.run_script(main, verbose=("vae_jax.sweep",))  # each sweep logs its progress at every checkpoint
