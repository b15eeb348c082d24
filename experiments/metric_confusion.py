"""Where a disentanglement study's β-VAE metric is lost: its classifier's confusion between the sprite factors.

    nice -n 5 .venv/bin/python -m experiments.metric_confusion --size cpu1024_sbd_grid --runs-root /work/runs
    .venv/bin/python -m experiments.metric_confusion --size smoke --runs-root runs   # after the study's smoke size

The β-VAE metric (Higgins et al. 2017) is the accuracy of a linear classifier naming the factor held fixed in a
batch of pairs from the pairs' mean absolute code differences. This script reads the study's trained sweeps
(``python -m experiments.disentanglement_study --size <size>`` trains them) at their last checkpoint and scores the
metric again with the study's own keys and sample sizes — the same accuracy as the study's table — keeping the
classifier's confusion matrix: per setting, each factor's accuracy and what it is mistaken for. A model that gives
scale, pos_x and pos_y a latent each and mixes shape with orientation scores 0.6 + 0.4 × its accuracy on those two.
Writes ``metric_confusion_<run tag>.json``.
"""

from __future__ import annotations

import logging

import jax
import numpy as np

from experiments import sweeps
from experiments.configs import disentanglement_study as study
from vae_jax import evaluation, factory, sweep
from vae_jax.data import sprites
from vae_jax.sweep import scores

NAME, STUDY = "metric_confusion", "disentanglement_study"
logger = logging.getLogger(__name__)


def confusions(trained: list[tuple], step: int, model, sampler, sizes: evaluation.MetricSizes) -> dict[str, list]:
  """The β-VAE metric of every member of ``trained`` (``study.trained_sweeps``) at checkpoint ``step``, by setting:
  ``[{"seed", "score", "confusion" [K][K]}]``, with the key and sizes of the study's own score
  (``vae_jax.sweep.scores``' metric key, ``vae_jax.evaluation.beta_vae_score``)."""
  groups = {}
  for spec, workdir in trained:
    state = sweep.load_sweep(workdir, step)[1]
    for i, mb in enumerate(spec.members()):
      params = jax.device_put(sweep.member_state(state, i).params)
      res = evaluation.beta_vae_score(scores.metric_key(mb.seed), model, params, sampler, sizes)
      groups.setdefault(study.member_label(mb), []).append(
          {"seed": mb.seed, "score": res["eval_accuracy"], "confusion": res["eval_confusion"]})
      logger.info("%s seed %d: β-VAE metric %.3f", study.member_label(mb), mb.seed, res["eval_accuracy"])
  return groups


def main(argv: list[str] | None = None) -> str:
  p = sweeps.parser(__doc__, STUDY)
  study.add_selection_flags(p, reads=True)
  p.set_defaults(size="cpu1024_sbd_grid")
  setup = sweeps.begin(p, NAME, argv, **study.seed_defaults())
  args, cfg = setup.args, study.get_config(setup.args.size)
  results_dir = sweeps.RESULTS_DIR if cfg.committed and not args.results_dir else setup.results_dir
  model = factory.make_model(study.base(cfg).model, (cfg.resolution, cfg.resolution, 1))
  trained, partial = study.trained_sweeps(cfg, args.runs_root, setup.seeds,
                                          study.selected_methods(cfg, args.methods), args.only_trained)
  sizes = study.metric_sizes(cfg)
  groups = confusions(trained, cfg.num_steps, model, study.sampler(cfg), sizes)
  names = sprites.FACTOR_NAMES
  per_factor = lambda r: np.diag(r["confusion"]) / np.sum(r["confusion"], axis=1)  # noqa: E731  (row = held fixed)
  rows = [[g, sweeps.mean_std([r["score"] for r in rs]),
           *(sweeps.mean_std([float(per_factor(r)[k]) for r in rs]) for k in range(len(names)))]
          for g, rs in groups.items()]
  summed = {g: np.sum([r["confusion"] for r in rs], axis=0) for g, rs in groups.items()}
  mixed = [[g, names[k], *(f"{v / max(1, m[k].sum()):.2f}" for v in m[k])] for g, m in summed.items()
           for k in range(len(names))]
  tables = {
      "β-VAE metric and each factor's accuracy (mean ± std over seeds)": sweeps.table(
          ["setting", "β-VAE metric", *names], rows),
      "What each factor held fixed is classified as (fraction of its held-out points, all seeds)": sweeps.table(
          ["setting", "factor held fixed", *(f"→ {n}" for n in names)], mixed),
      "Per seed: confusion counts (rows: the factor held fixed, in the order of the columns above)": sweeps.table(
          ["setting", "seed", "β-VAE metric", "confusion"],
          [[g, r["seed"], r["score"], r["confusion"]] for g, rs in groups.items() for r in rs])}
  notes = [*partial, study.models_note(cfg) + f"; the metric at the study's sizes ({sizes.bvae_train}/"
           f"{sizes.bvae_eval} points of batch {sizes.bvae_batch}, scikit-learn's LogisticRegression defaults) and "
           "keys, so each score is the study's.",
           "A factor's accuracy: the share of its held-out points (batches of pairs sharing that factor) the "
           "classifier names correctly. Chance is 1/5; a factor with no latent of its own is confused with the "
           "others that have none."]
  return sweeps.write_results(results_dir, f"{NAME}_{cfg.run_tag}", args=args, command=setup.command,
                              started=setup.started, tables=tables, figures=[], notes=notes)


if __name__ == "__main__":
  sweeps.run_script(main)
