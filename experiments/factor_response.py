"""How a disentanglement study's models encode each sprite factor: the mean code against the factor's value.

    nice -n 5 .venv/bin/python -m experiments.factor_response --size cpu1024_long --runs-root /work/runs
    .venv/bin/python -m experiments.factor_response --size smoke --runs-root runs   # after the study's smoke size

It reads the study's trained sweeps (``python -m experiments.disentanglement_study --size <size>`` trains them) and
writes ``factor_response_<run tag>.json`` and its figure: per setting, how many seeds carry position and scale in a
monotonic latent (|Spearman ρ| ≥ 0.9, :data:`vae_jax.evaluation.MONOTONIC`), the factor's share of the latents'
movement, and the curves of the first seed — where a folded or radial code shows why MIG stays low.
"""

from __future__ import annotations

import logging
import os

import jax

from experiments import arg_types, sweeps
from experiments.configs import disentanglement_study as study
from vae_jax import evaluation, factory, inference, plots, sweep
from vae_jax.data import sprites

NAME, STUDY = "factor_response", "disentanglement_study"
ORDINAL = (False, True, False, True, True)  # shape and the cyclic orientation have no order to be monotonic in
SHOWN = ("scale", "pos_x", "pos_y")  # the figure's factors
logger = logging.getLogger(__name__)


def respond(trained: list[tuple], step: int, model, sampler, per_value: int) -> dict[str, list[dict]]:
  """The members of ``trained`` (``study.trained_sweeps``) at checkpoint ``step`` by setting: each one's seed, responses
  (key ``fold_in(key(seed), 17)``) and their summary — not its parameters, which are dropped once read."""
  groups = {}
  for spec, workdir in trained:
    state = sweep.load_sweep(workdir, step)[1]
    for i, mb in enumerate(spec.members()):
      code_fn = inference.code_fn(model, jax.device_put(sweep.member_state(state, i).params))
      resp = evaluation.factor_response(jax.random.fold_in(jax.random.key(mb.seed), 17), code_fn, sampler,
                                        num_per_value=per_value)
      summary = evaluation.response_summary(resp, sprites.FACTOR_NAMES, ordinal=ORDINAL)
      groups.setdefault(study.member_label(mb), []).append({"seed": mb.seed, "responses": resp, "summary": summary})
      logger.info("%s seed %d, step %d: %s", study.member_label(mb), mb.seed, step,
                  {f: (v["latent"], round(v["rho"], 2)) for f, v in summary.items() if v["monotonic"] is not None})
  return groups


def main(argv: list[str] | None = None) -> str:
  p = sweeps.parser(__doc__, STUDY)
  p.add_argument("--per-value", type=arg_types.at_least(1), default=256,
                 help="images per factor value (the other factors uniform)")
  study.add_selection_flags(p, reads=True)
  p.set_defaults(size="cpu1024_long")
  setup = sweeps.begin(p, NAME, argv, **study.seed_defaults())
  args, cfg = setup.args, study.get_config(setup.args.size)
  results_dir, figures_dir = ((sweeps.RESULTS_DIR, sweeps.FIGURES_DIR) if cfg.committed and not args.results_dir
                              else (setup.results_dir, setup.figures_dir))
  model, sampler = factory.make_model(study.base(cfg).model, (cfg.resolution, cfg.resolution, 1)), study.sampler(cfg)
  trained, partial = study.trained_sweeps(cfg, args.runs_root, setup.seeds,
                                          study.selected_methods(cfg, args.methods), args.only_trained)
  kept = sorted(set.intersection(*[set(sweep.kept_steps(w)) for _, w in trained]))  # the study's curve checkpoints
  by_step = {s: respond(trained, s, model, sampler, args.per_value) for s in kept}  # (a continued sweep's: its own)
  groups, ordinal = by_step[cfg.num_steps], [f for f, o in zip(sprites.FACTOR_NAMES, ORDINAL) if o]
  count = lambda rs, f: f"{sum(r['summary'][f]['monotonic'] for r in rs)}/{len(rs)}"  # noqa: E731
  rows = [[g, f, count(rs, f),
           sweeps.mean_std([abs(r["summary"][f]["rho"]) for r in rs]),
           sweeps.mean_std([r["summary"][f]["share"] for r in rs]),
           ", ".join(f"z{r['summary'][f]['latent']} ({r['summary'][f]['rho']:+.2f})" for r in rs)]
          for g, rs in groups.items() for f in ordinal]
  per_factor = [[g, f, sweeps.mean_std([r["summary"][f]["share"] for r in rs])]
                for g, rs in groups.items() for f, o in zip(sprites.FACTOR_NAMES, ORDINAL) if not o]
  first, name = setup.seeds[0], f"{NAME}_{cfg.run_tag}"
  fig = plots.factor_responses(
      [(g, next(r for r in rs if r["seed"] == first)["responses"]) for g, rs in groups.items()], sprites.FACTOR_NAMES,
      os.path.join(figures_dir, f"{name}.png"), shown=[sprites.FACTOR_NAMES.index(f) for f in SHOWN],
      title=f"Mean code against each factor (seed {first}; {args.per_value} images per value, others uniform)")
  tables = {
      "Ordinal factors: is the latent that moves most with the factor monotonic in it?": sweeps.table(
          ["setting", "factor", f"seeds monotonic (abs. ρ ≥ {evaluation.MONOTONIC})", "abs. Spearman ρ",
           "share of the latents' movement", "latent (ρ) per seed"], rows),
      "Shape and orientation: share of the latents' movement in the one that moves most": sweeps.table(
          ["setting", "factor", "share"], per_factor),
      "Seeds with a monotonic code at every kept checkpoint": sweeps.table(
          ["setting", "updates", *ordinal], [[g, s, *(count(gs[g], f) for f in ordinal)] for g in groups
                                             for s, gs in by_step.items()])}
  notes = [*partial, study.models_note(cfg, last=False) + f"; each factor value averaged over {args.per_value} "
           "sprites with the other factors uniform (key fold_in(key(seed), 17)).",
           "A latent's movement is its mean code's range over the factor's values; |ρ| the Spearman correlation of "
           "that mean code with the value. A folded code (the latent sweeps half the range twice, another latent "
           "telling the halves apart) or a radial one (distance from the centre) has |ρ| well below 1 and no total "
           "correlation for β-TCVAE to penalise."]
  return sweeps.write_results(results_dir, name, args=args, command=setup.command, started=setup.started,
                              tables=tables, figures=[fig], notes=notes)


if __name__ == "__main__":
  sweeps.run_script(main)
