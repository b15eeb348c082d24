"""The disentanglement study (issue #17): Locatello et al.'s methods on sprites, many seeds, every setting a sweep.

    python -m experiments.disentanglement_study --size cpu     # this CPU: under 2 hours (wall time in the results)
    python -m experiments.disentanglement_study --size full    # Locatello et al.'s setup, 300k updates (accelerator)
    python -m experiments.disentanglement_study --size smoke   # seconds (CI); quick: minutes

The protocol and the expected result: ``experiments/configs/disentanglement_study.py``.
"""

from __future__ import annotations

import logging
import os
import time

import jax
import numpy as np

from experiments import arg_types, sweeps
from experiments.configs import disentanglement_study as study
from vae_jax import evaluation, factory, plots, sweep
from vae_jax.data import sprites
from vae_jax.sweep import scores

NAME = "disentanglement_study"
logger = logging.getLogger(__name__)
METRICS, HEADLINE, SHARPNESS, VERDICT = study.METRICS, study.HEADLINE, study.SHARPNESS, "Verdict: "


def main(argv: list[str] | None = None) -> str:
  p = sweeps.parser(__doc__, NAME)
  p.add_argument("--steps", type=arg_types.at_least(1), default=None, help="training updates (default: the size's)")
  p.add_argument("--dci-check", action="store_true", help="also score DCI at disentanglement_lib's full size on the "
                 "first seed of β = 1 and of the best setting, to compare with the reduced size (minutes per model)")
  study.add_selection_flags(p, reads=False)
  p.set_defaults(size="cpu")
  setup = sweeps.begin(p, NAME, argv, **study.seed_defaults())
  args, cfg, first = setup.args, study.get_config(setup.args.size, setup.args.steps), setup.seeds[0]
  results_dir, figures_dir = ((sweeps.RESULTS_DIR, sweeps.FIGURES_DIR) if cfg.committed and not args.results_dir
                              else (setup.results_dir, setup.figures_dir))  # the committed sizes' results
  name, sampler, rows, train_info = study.results_name(cfg), study.sampler(cfg), [], []
  judge = study.Judge(cfg, os.path.join(args.runs_root, NAME, cfg.run_tag))  # trained when a Fréchet score is new
  todo = study.sweeps(cfg, study.selected_methods(cfg, args.methods))
  todo, missing = study.split_trained(cfg, args.runs_root, setup.seeds, todo) if args.only_trained else (todo, [])
  for sweep_name, method, base, grid in todo:
    spec, workdir = study.sweep_spec(base, grid, setup.seeds), study.sweep_dir(cfg, args.runs_root, sweep_name, method)
    res = sweep.train_sweep(spec, workdir, start_from=study.start_from(cfg, args.runs_root, sweep_name))
    model = factory.make_model(base.model, (cfg.resolution, cfg.resolution, 1))
    members, curves = scores.disentanglement_scores(spec, workdir, model, sampler, study.metric_sizes(cfg),
                                                    study.metric_sizes(cfg, "curve"), study.real_images(cfg))
    fd = scores.frechet_scores(members, workdir, model, judge, study.real_images(cfg), tag=judge.tag)
    rows += [{"member": mb, "params": params, "workdir": workdir, "method": mb.config.method.name,
              "label": study.member_label(mb), "curve": curves.get(mb.name, []),
              "eval": {**ev, **fd[mb.name], "recon": rec["eval"].get("eval/recon", float("nan"))}}
             for (mb, params, ev), rec in zip(members, res["members"])]
    train_info.append(study.training_row(workdir, len(spec.members()), res))
  reference, ref = study.setting_label(*cfg.reference), study.reference_words(cfg)  # row label; "β = 1"
  groups = {r["label"]: [] for r in rows}
  for r in rows:
    groups[r["label"]].append(r)
  cmp = evaluation.compare_settings({g: [(r["member"].seed, r["eval"]) for r in rs] for g, rs in groups.items()},
                                    reference, study.KEYS, HEADLINE, study.PAIRED)
  method_of, median = {r["label"]: r["method"] for r in rows}, cmp["headline_median"].get
  best_beta = max([g for g in groups if method_of[g] == cfg.reference[0] and g != reference] or [reference],
                  key=median)
  best_any = max([g for g in groups if g != reference] or [reference], key=median)
  pick = {g: next(r for r in groups[g] if r["member"].seed == first) for g in groups}
  image = sprites.render(np.asarray([cfg.traversal_base], np.int32), resolution=cfg.resolution)  # a centred heart
  panel = lambda r: (study.panel_title(r), *evaluation.factor_traversal(  # noqa: E731  (rows by KL, factor names)
      model, r["params"], image, r["eval"]["kl_per_dim"], r["eval"]["importance"], sprites.FACTOR_NAMES,
      values=np.linspace(-cfg.traversal_range, cfg.traversal_range, 9), active_kl=evaluation.ACTIVE_KL))

  figures = [plots.traversal_panels([panel(pick[g]) for g in dict.fromkeys((reference, other))],
                                    os.path.join(figures_dir, f"{name}_traversal{suffix}.png"), title=title)
             for other, suffix, title in study.traversal_figures(best_beta, best_any, first)]
  shown = (*METRICS, *SHARPNESS[:1], *study.FRECHET[:1])
  figures.append(plots.score_distributions(
      {g: {k: [r["eval"][k] for r in rs] for k, _ in shown} for g, rs in groups.items()},
      os.path.join(figures_dir, f"{name}_scores.png"), metrics=shown,
      title=f"Scores over seeds ({len(setup.seeds)} per setting; dots: seeds)"))
  figures.append(plots.metric_curves({r["label"]: r["curve"] for r in rows if r["curve"]},
                                     os.path.join(figures_dir, f"{name}_curves.png"), metrics=study.CURVE_METRICS,
                                     title=f"Scores against updates (seed {first})"))
  swap = lambda r: {k: v for k, v in evaluation.factor_swap(  # noqa: E731  (the article's style transfer)
      jax.random.fold_in(jax.random.key(r["member"].seed), 13), model, r["params"], resolution=cfg.resolution,
      **cfg.swap.to_dict()).items() if k != "examples"}
  swaps = {g: evaluation.summarize_swaps(scores.cached_rows(groups[g], lambda r: f"swap/{r['member'].name}", swap),
                                         sprites.FACTOR_NAMES) for g in dict.fromkeys([reference, best_beta, best_any])}
  check = [pick[g] for g in dict.fromkeys([reference, best_any])] if args.dci_check and study.dci_reduced(cfg) else []
  dci = [(r, scores.ScoreCache(os.path.join(args.runs_root, NAME)).get(f"dci_full/{r['member'].name}", lambda r=r: {
      k: v for k, v in evaluation.evaluate_disentanglement(jax.random.fold_in(jax.random.key(r["member"].seed), 7),
                                                           model, r["params"], sampler, study.DCI_CHECK_SIZES).items()
      if k in ("dci_d", "dci_c", "dci_i")})) for r in check]
  edits = {g: study.factor_edits(cfg, judge, model, groups[g]) for g in dict.fromkeys([reference, best_beta, best_any])}
  verdict = study.verdict(cmp, groups, reference, ref, best_beta, method_of, swaps, edits)
  notes = [*study.partial_note(missing), *study.notes(cfg, setup.seeds, dci_check=args.dci_check, judge=judge),
           *study.time_notes(train_info, rows, ref), *[VERDICT + v for v in verdict]]
  path = sweeps.write_results(results_dir, name, args=args, command=setup.command, started=setup.started,
                              tables=study.tables(cmp, ref, train_info, swaps, dci, edits), figures=figures,
                              notes=notes, compute_s=study.compute_seconds(train_info, rows))
  study.write_members(os.path.join(results_dir, NAME), cfg, groups)  # beside, not among, the files the report reads
  logger.info("%s\nwrote %s (%.0f s)", "\n".join(VERDICT + v for v in verdict), path, time.time() - setup.started)
  return path


if __name__ == "__main__":
  sweeps.run_script(main, verbose=("vae_jax.sweep",))
