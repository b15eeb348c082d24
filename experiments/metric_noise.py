"""Whether a study's paired verdicts outlive the metrics' own sampling: the β-VAE and FactorVAE metrics redrawn.

    nice -n 5 .venv/bin/python -m experiments.metric_noise --size cpu_higgins_long_beta8 --runs-root /work/runs \
        --metrics factor_vae_metric --redraws 2
    .venv/bin/python -m experiments.metric_noise --size smoke --runs-root runs   # after the study's smoke size

The study scores every model of a seed from one key (``vae_jax.sweep.scores.metric_key``: the same factor draws for
each model, a paired comparison), so "above the reference on every seed" compares one draw per seed. The β-VAE and
FactorVAE metrics are a classifier's accuracy on 5,000 held-out points (disentanglement_lib's sizes): one draw's own
sampling noise is about √(p(1 − p)/5,000) ≈ 0.007, as large as some margins the verdicts rest on. This script scores
the study's trained models (last checkpoint) again from ``--redraws`` fresh keys (``fold_in(metric_key(seed), 1000 +
r)``: every model of a seed on the same new draws, the study's sample sizes; cached in each sweep folder beside the
study's own scores, so a cut run resumes) and gives, per setting and metric, on how many seeds it is above the
reference in each draw — the study's own draw first — and in the mean over the draws.
Writes ``metric_noise_<run tag>.json``.
"""

from __future__ import annotations

import logging

import jax
import numpy as np

from experiments import arg_types, sweeps
from experiments.configs import disentanglement_study as study
from vae_jax import evaluation, factory
from vae_jax.sweep import scores

NAME, STUDY = "metric_noise", "disentanglement_study"
SCORES = {"beta_vae_metric": evaluation.beta_vae_score, "factor_vae_metric": evaluation.factor_vae_score}
logger = logging.getLogger(__name__)


def redraw_key(seed: int, r: int) -> jax.Array:
  """The key of redraw ``r`` (0, 1, …) of every model of seed ``seed``: not the study's (``metric_key(seed)``)."""
  return jax.random.fold_in(scores.metric_key(seed), 1000 + r)


def draws(trained: list[tuple], model, sampler, sizes, metrics: list[str], n: int) -> dict[str, dict[int, dict]]:
  """``{setting: {seed: {metric: [the study's score (None if not scored yet), redraw 1, …, redraw n]}}}`` of every
  member of ``trained`` (``study.trained_sweeps``) at its last checkpoint."""
  out: dict[str, dict[int, dict]] = {}
  for spec, workdir in trained:
    cache = scores.ScoreCache(workdir)
    for mb in spec.members():
      own = cache.data.get(f"{mb.name}/{scores.tag(sizes)}", {})
      out.setdefault(study.member_label(mb), {})[mb.seed] = {m: [own.get(m)] for m in metrics}
    for m in metrics:
      for r in range(n):
        def score(mb, params, m=m, r=r):
          return {m: SCORES[m](redraw_key(mb.seed, r), model, params, sampler, sizes)["eval_accuracy"]}
        for mb, _, got in scores.score_members(spec, workdir, score, tag=scores.tag((sizes, m, r)), cache=cache):
          out[study.member_label(mb)][mb.seed][m].append(got[m])
          logger.info("%s seed %d, %s redraw %d: %.3f", study.member_label(mb), mb.seed, m, r + 1, got[m])
  return out


def main(argv: list[str] | None = None) -> str:
  p = sweeps.parser(__doc__, STUDY)
  study.add_selection_flags(p, reads=True)
  p.add_argument("--metrics", nargs="+", choices=sorted(SCORES), default=sorted(SCORES), help="the metrics redrawn")
  p.add_argument("--redraws", type=arg_types.at_least(1), default=2, help="fresh draws per model and metric (≥ 1)")
  p.set_defaults(size="cpu_higgins_long_beta8")
  setup = sweeps.begin(p, NAME, argv, **study.seed_defaults())
  args, cfg = setup.args, study.get_config(setup.args.size)
  results_dir = sweeps.RESULTS_DIR if cfg.committed and not args.results_dir else setup.results_dir
  model = factory.make_model(study.base(cfg).model, (cfg.resolution, cfg.resolution, 1))
  trained, partial = study.trained_sweeps(cfg, args.runs_root, setup.seeds,
                                          study.selected_methods(cfg, args.methods), args.only_trained)
  sizes = study.metric_sizes(cfg)
  got = draws(trained, model, study.sampler(cfg), sizes, args.metrics, args.redraws)
  ref_label, ref = study.setting_label(*cfg.reference), study.reference_words(cfg)
  reference = got[ref_label]
  heads = ["study's draw", *(f"redraw {r + 1}" for r in range(args.redraws))]
  verdict, per_seed = [], []
  for label, seeds in got.items():
    for m in args.metrics:
      for seed, by_metric in seeds.items():
        values = by_metric[m]
        known = [v for v in values if v is not None]
        per_seed.append([label, m, seed, *values, round(float(np.mean(known)), 4), round(float(np.std(known)), 4)])
      if label == ref_label:
        continue
      paired = [(seeds[s][m], reference[s][m]) for s in seeds if s in reference]
      above = [f"{sum(a[d] > b[d] for a, b in paired)}/{len(paired)}" if all(a[d] is not None and b[d] is not None
                                                                              for a, b in paired) else "–"
               for d in range(args.redraws + 1)]
      margins = [float(np.mean([v for v in a if v is not None]) - np.mean([v for v in b if v is not None]))
                 for a, b in paired]
      verdict.append([label, m, *above, f"{sum(x > 0 for x in margins)}/{len(paired)}", round(min(margins), 4)])
  tables = {
      f"Seeds on which a setting is above {ref} (a column per draw; the last two: the draws' mean)": sweeps.table(
          ["setting", "metric", *heads, "mean of draws", "smallest mean margin"], verdict),
      "Per seed: each draw's score, their mean and standard deviation": sweeps.table(
          ["setting", "metric", "seed", *heads, "mean", "std"], per_seed)}
  notes = [*partial, study.models_note(cfg) + f"; the metrics at the study's sizes (β-VAE metric "
           f"{sizes.bvae_train}/{sizes.bvae_eval} points, FactorVAE metric {sizes.fvae_train}/{sizes.fvae_eval} "
           f"votes, batch {sizes.fvae_batch}). The "
           "study's draw is its key (fold_in(key(seed), 7)); redraw r uses fold_in(that key, 1000 + r − 1); every "
           "model of a seed sees the same draws. A draw's sampling noise is the spread of its column over draws.",
           *study.redraw_verdicts(verdict, ref)]
  return sweeps.write_results(results_dir, f"{NAME}_{cfg.run_tag}", args=args, command=setup.command,
                              started=setup.started, tables=tables, figures=[], notes=notes)


if __name__ == "__main__":
  sweeps.run_script(main)
