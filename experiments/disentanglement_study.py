"""The disentanglement study (issue #17): Locatello et al.'s methods on sprites, many seeds, every setting a sweep.

    python -m experiments.disentanglement_study --size cpu     # this CPU: about an hour (wall time in the results)
    python -m experiments.disentanglement_study --size full    # Locatello et al.'s setup, 300k updates (accelerator)
    python -m experiments.disentanglement_study --size smoke   # seconds (CI); quick: minutes

What is trained and scored, sizes, outputs: ``experiments/configs/disentanglement_study.py``; results:
``experiments/results/disentanglement_study_<cpu|gpu>.json``.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import time

import jax
import numpy as np

from experiments import sweeps
from experiments.configs import disentanglement_study as study
from vae_jax import evaluation, factory, inference, plots, sweep
from vae_jax.data import sprites
from vae_jax.sweep import scores

NAME = "disentanglement_study"
logger = logging.getLogger(__name__)

METRICS = (("beta_vae_metric", "β-VAE metric"), ("factor_vae_metric", "FactorVAE metric"), ("mig", "MIG"),
           ("dci_d", "DCI disent."), ("dci_c", "DCI compl."), ("dci_i", "DCI inform."), ("sap", "SAP"))
HEADLINE = ("beta_vae_metric", "factor_vae_metric", "mig", "dci_d")
SHARPNESS = (("sharp_gen_grad", "samples grad."), ("sharp_gen_lap", "samples Lap. var."),
             ("sharp_rec_grad", "recons grad."), ("sharp_rec_lap", "recons Lap. var."))
EXTRA = (("kl", "KL (nats)"), ("active", "active latents"), ("recon", "recon (nats)"))
VERDICT = "Verdict: "  # prefix of the notes that state the study's findings (quoted by other reports)


def score_sweep(cfg, spec, workdir: str, res: dict, model, sampler) -> list[dict]:
  """Every member's scores (cached in the sweep folder) and, for the first seed, the metric-vs-updates curve."""
  sizes, curve_sizes = study.metric_sizes(cfg), study.metric_sizes(cfg, "curve")
  cache = scores.ScoreCache(workdir)

  def score(mb, params):
    t, key = time.perf_counter(), jax.random.key(mb.seed)
    ev = evaluation.evaluate_disentanglement(jax.random.fold_in(key, 7), model, params, sampler, sizes)
    k_real, k_prior = jax.random.split(jax.random.fold_in(key, 11))
    real = np.asarray(sprites.sample(k_real, cfg.num_sharpness, resolution=cfg.resolution)[0])
    ev.update(evaluation.relative_sharpness(k_prior, model, params, real), eval_time_s=time.perf_counter() - t)
    logger.info("%s: %s (%.0f s)", mb.name, {k: round(float(ev[k]), 3) for k, _ in METRICS}, ev["eval_time_s"])
    return ev

  def curve(mb, params):
    ev = evaluation.evaluate_disentanglement(jax.random.fold_in(jax.random.key(mb.seed), 7), model, params, sampler,
                                             curve_sizes)
    return {"beta_vae_metric": ev["beta_vae_metric"], "mig": ev["mig"]}

  members = scores.score_members(spec, workdir, score, tag=scores.tag(sizes), cache=cache)
  curves = scores.score_checkpoints(spec, workdir, curve, tag=scores.tag(curve_sizes), cache=cache)
  rows = []
  for (mb, params, ev), rec in zip(members, res["members"]):
    method = mb.config.method.name
    value = mb.hparams.get(f"method.{study.GRIDS[method][0]}", getattr(mb.config.method, study.GRIDS[method][0]))
    ev["recon"] = rec["eval"].get("eval/recon", float("nan"))
    rows.append({"member": mb, "eval": ev, "params": params, "method": method, "workdir": workdir,
                 "label": study.setting_label(method, value), **({"curve": curves[mb.name]} if mb.name in curves
                                                                  else {})})
  return rows


def dci_check(rows: list[dict], cfg, sampler, cache_dir: str, model, labels: list[str]) -> list[list]:
  """DCI at the reduced size vs disentanglement_lib's full size (10,000/5,000 codes, 100 stages), first seed of
  the settings ``labels``."""
  full = evaluation.MetricSizes(bvae_train=16, bvae_eval=16, fvae_train=16, fvae_eval=16, fvae_var=128,
                                sap_train=0, sap_test=0)
  reduced = study.metric_sizes(cfg)
  if (reduced.dci_train, reduced.dci_test, reduced.dci_estimators) == (full.dci_train, full.dci_test,
                                                                       full.dci_estimators):
    return []
  cache, out = scores.ScoreCache(cache_dir), []
  first = min(r["member"].seed for r in rows)
  for r in (r for r in rows if r["member"].seed == first and r["label"] in labels):
    mb = r["member"]

    def score(mb=mb, params=r["params"]):
      ev = evaluation.evaluate_disentanglement(jax.random.fold_in(jax.random.key(mb.seed), 7), model, params,
                                               sampler, full)
      return {"dci_d": ev["dci_d"], "dci_c": ev["dci_c"], "dci_i": ev["dci_i"]}

    f = cache.get(f"dci_full/{mb.name}", score)
    out.append([r["label"], mb.seed, *[f"{r['eval'][k]:.3f} / {f[k]:.3f}" for k in ("dci_d", "dci_c", "dci_i")]])
  return out


def traversal(r: dict, model, cfg) -> tuple[str, np.ndarray, list[str]]:
  """A :func:`vae_jax.plots.traversal_panels` panel: each latent of the model (rows by KL) swept from the posterior
  mean of a centred heart, labelled with its factor (DCI importance)."""
  ev = r["eval"]
  kl = np.asarray(ev["kl_per_dim"])
  base_image = sprites.render(np.asarray([cfg.traversal_base], np.int32), resolution=cfg.resolution)
  base = inference.encode(model, r["params"], base_image, batch_size=1).mean[0]
  values = np.linspace(-cfg.traversal_range, cfg.traversal_range, 9, dtype=np.float32)
  order = np.argsort(-kl)
  codes = np.tile(base, (len(order), len(values), 1))
  codes[np.arange(len(order)), :, order] = values[None, :]
  images = inference.decode(model, r["params"], codes.reshape(-1, len(base)), batch_size=codes.shape[0] * len(values))
  factors = evaluation.latent_factor_names(kl, ev["importance"], sprites.FACTOR_NAMES, active_kl=evaluation.ACTIVE_KL)
  title = f"{r['label']} (seed {r['member'].seed}): MIG {ev['mig']:.2f}, DCI-D {ev['dci_d']:.2f}"
  return title, images.reshape(len(order), len(values), *images.shape[1:]), [f"z{d} KL={kl[d]:.1f} {factors[d]}"
                                                                              for d in order]


def latent_swaps(groups: dict[str, list[dict]], labels: list[str], cfg, model):
  """The article's style transfer on the given settings, every seed (:func:`vae_jax.evaluation.factor_swap`,
  cached per member): table rows and a verdict on whether the swap beats no transfer."""
  rows, verdict = [], []
  for lab in labels:
    per_seed = []
    for r in groups[lab]:
      mb = r["member"]

      def run(mb=mb, params=r["params"]):
        out = evaluation.factor_swap(jax.random.fold_in(jax.random.key(mb.seed), 13), model, params,
                                     resolution=cfg.resolution, **cfg.swap)
        out.pop("examples")
        return out

      per_seed.append(scores.ScoreCache(r["workdir"]).get(f"swap/{mb.name}", run))
    wins = []
    for name in sprites.FACTOR_NAMES:
      cells = [sweeps.mean_std([o["factors"][name][e]["iou"] for o in per_seed]) for e in evaluation.FACTOR_SWAP_EDITS]
      higher = sum(o["factors"][name]["swap"]["iou"] > o["factors"][name]["source"]["iou"] for o in per_seed)
      rows.append([lab, name, *cells, f"{higher}/{len(per_seed)}"])
      if higher == len(per_seed):
        wins.append(name)
    verdict.append(f"{lab}: swap beats no transfer on every seed for {', '.join(wins) if wins else 'no factor'}")
  return rows, "Latent swap (IoU): " + "; ".join(verdict) + "."


def main(argv: list[str] | None = None) -> str:
  p = sweeps.parser(__doc__, extra_sizes=("cpu",))
  p.add_argument("--steps", type=int, default=None, help="training updates (default: the size's)")
  p.add_argument("--methods", nargs="+", default=None, choices=sorted(study.GRIDS),
                 help="only these methods (β-VAE, which holds β = 1, is always trained)")
  p.add_argument("--dci-check", action="store_true",
                 help="also score DCI at disentanglement_lib's full size on the first seed of β = 1 and of the best "
                      "setting, to compare with the reduced size (minutes per model on a CPU)")
  p.set_defaults(size="cpu")
  setup = sweeps.begin(p, NAME, argv, default_seeds={s: v["seeds"] for s, v in study.SIZES.items()})
  args, cfg = setup.args, study.get_config(setup.args.size, setup.args.steps)
  resolution, size = cfg.resolution, cfg.tag
  only = None if args.methods is None else sorted({study.REFERENCE[0], *args.methods})
  sampler = evaluation.GroundTruthSampler(sprites.FACTOR_SIZES,
                                          observe=functools.partial(sprites.render, resolution=resolution))
  results_dir, figures_dir = setup.results_dir, setup.figures_dir
  if args.size in ("cpu", "full") and not args.results_dir:  # the study's sizes are the committed results
    results_dir, figures_dir = sweeps.RESULTS_DIR, sweeps.FIGURES_DIR
  name = f"{NAME}_{size}"

  rows: list[dict] = []
  train_info = []
  model = None
  for sweep_name, _, base, (field, values) in study.sweeps(cfg, only):
    spec = sweep.make_sweep(base, {field: values} if field else {}, seeds=setup.seeds)
    workdir = os.path.join(args.runs_root, NAME, cfg.run_tag, sweep_name)
    res = sweep.train_sweep(spec, workdir)
    logger.info("sweep %s: %d members (images/s %s)", sweep_name, len(spec.members()), res.get("images_per_sec"))
    model = factory.make_model(base.model, (resolution, resolution, 1))
    rows.extend(score_sweep(cfg, spec, workdir, res, model, sampler))
    train_info.append([sweep_name, len(spec.members()), res["final_step"], round(res.get("train_time_s") or 0.0),
                       round(res["images_per_sec"] or 0.0) if res.get("images_per_sec") else "—"])

  groups: dict[str, list[dict]] = {}
  for r in rows:
    groups.setdefault(r["label"], []).append(r)
  reference = study.setting_label(*study.REFERENCE)
  method_of = {r["label"]: r["method"] for r in rows}
  by_seed = {r["member"].seed: r for r in groups[reference]}

  keys = [k for k, _ in METRICS] + [k for k, _ in SHARPNESS] + [k for k, _ in EXTRA]

  def stat(values):
    v = np.asarray(values, np.float64)
    return {**sweeps.mean_std(list(v)), "median": float(np.median(v))}

  table_rows = []
  for lab, rs in groups.items():
    table_rows.append([lab, len(rs), *[stat([r["eval"][k] for r in rs]) for k in keys]])
  columns = ["setting", "seeds", *[t for _, t in METRICS], *[t for _, t in SHARPNESS], *[t for _, t in EXTRA]]

  # Paired against β = 1, seed by seed.
  paired_rows, wins_by_label = [], {}
  for lab, rs in groups.items():
    if lab == reference:
      continue
    cells, wins = [], []
    for k in HEADLINE + ("sap",):
      d = [r["eval"][k] - by_seed[r["member"].seed]["eval"][k] for r in rs if r["member"].seed in by_seed]
      higher = sum(x > 0 for x in d)
      cells.append(f"{np.mean(d):+.3f} ± {np.std(d, ddof=1) if len(d) > 1 else 0:.3f} ({higher}/{len(d)})")
      if d and higher == len(d) and k in HEADLINE:
        wins.append(k)
    wins_by_label[lab] = wins
    paired_rows.append([lab, *cells, len(wins)])

  def headline_median(lab):
    return float(np.mean([np.median([r["eval"][k] for r in groups[lab]]) for k in HEADLINE]))

  betas = [lab for lab in groups if method_of[lab] == study.REFERENCE[0] and lab != reference]
  best_beta = max(betas, key=headline_median) if betas else reference
  others = [lab for lab in groups if lab != reference]
  best_any = max(others, key=headline_median) if others else reference

  figures = []
  first = setup.seeds[0]
  pick = {lab: next(r for r in groups[lab] if r["member"].seed == first) for lab in {reference, best_beta, best_any}}
  caption = "Latent traversals (seed {}), rows by KL, each labelled with the factor of largest DCI importance"
  figures.append(plots.traversal_panels([traversal(pick[lab], model, cfg) for lab in (reference, best_beta)],
                                        os.path.join(figures_dir, f"{name}_traversal.png"),
                                        title=caption.format(first)))
  if best_any != best_beta:
    figures.append(plots.traversal_panels([traversal(pick[lab], model, cfg) for lab in (reference, best_any)],
                                          os.path.join(figures_dir, f"{name}_traversal_best.png"),
                                          title=caption.format(first) + f"; best setting {best_any}"))
  figures.append(plots.score_distributions(
      {lab: {k: [r["eval"][k] for r in rs] for k, _ in (*METRICS, *SHARPNESS[:1])} for lab, rs in groups.items()},
      os.path.join(figures_dir, f"{name}_scores.png"), metrics=(*METRICS, *SHARPNESS[:1]),
      title=f"Scores over seeds ({len(setup.seeds)} per setting; dots: seeds)"))
  figures.append(plots.metric_curves(
      {r["label"]: r["curve"] for r in rows if r.get("curve")}, os.path.join(figures_dir, f"{name}_curves.png"),
      metrics=(("mig", "MIG"), ("beta_vae_metric", "β-VAE metric (2,000/1,000 points)")),
      title=f"Scores against updates (seed {first})"))

  swap_rows, swap_verdict = latent_swaps(groups, [reference, *dict.fromkeys([best_beta, best_any])], cfg, model)

  dci_rows = (dci_check(rows, cfg, sampler, os.path.join(args.runs_root, NAME), model, [reference, best_any])
              if args.dci_check else [])

  titles = dict(METRICS)
  best_stats = {lab: {k: float(np.median([r["eval"][k] for r in groups[lab]])) for k in HEADLINE} for lab in groups}
  verdict = []
  for lab in (best_beta, *[lab for lab in groups if method_of[lab] in study.VERDICT_METHODS]):
    if lab == reference:
      continue
    w = wins_by_label[lab]
    verdict.append(f"{lab}: higher than β = 1 on every seed for {len(w)} of {len(HEADLINE)} headline scores"
                   + (f" ({', '.join(titles[k] for k in w)})" if w else "") + ".")
  best_mig = max(best_stats, key=lambda lab: best_stats[lab]["mig"])
  best_bvae = max(best_stats, key=lambda lab: best_stats[lab]["beta_vae_metric"])
  verdict.append(f"Best median MIG {best_stats[best_mig]['mig']:.3f} ({best_mig}; target ≥ 0.25); best median β-VAE "
                 f"metric {best_stats[best_bvae]['beta_vae_metric']:.3f} ({best_bvae}; target ≥ 0.90).")
  sharp = {lab: float(np.median([r["eval"]["sharp_gen_grad"] for r in groups[lab]])) for lab in groups}
  verdict.append("Sharpness of generated samples (gradient magnitude relative to real sprites, median over seeds): "
                 + "; ".join(f"{lab} {v:.2f}" for lab, v in sharp.items()) + ". 'Sharper' holds for a setting "
                 "only if its ratio is above β = 1's.")

  notes = [
      *study.notes(cfg, setup.seeds, dci_check=args.dci_check),
      "Paired table: setting − β=1 on the same seed, mean ± std over seeds, (seeds where higher / seeds).",
      "Time: training " + ", ".join(f"{row[0]} {row[3]} s" for row in train_info) + " (each sweep's train_time_s, "
      "from the run that trained it); scoring the members "
      f"{sum(r['eval'].get('eval_time_s', 0.0) for r in rows):.0f} s "
      "in all (curves, swaps and the DCI check not counted). Scores are cached in each sweep folder, so this file's "
      "wall_time_s counts only what the run that wrote it computed.",
      *[VERDICT + v for v in verdict],
  ]
  tables = {
      "Scores per setting (mean ± std over seeds)": sweeps.table(columns, table_rows),
      "Paired against β = 1 (the plain VAE), per seed": sweeps.table(
          ["setting", *[titles[k] for k in HEADLINE + ("sap",)], "headline scores higher on every seed"],
          paired_rows),
      "Training (one sweep per row)": sweeps.table(["sweep", "members", "updates", "train s",
                                                    "images/s (all members)"], train_info),
  }
  tables["Latent swap: IoU of the decode with the ground truth (mean ± std over seeds)"] = sweeps.table(
      ["setting", "factor", "swap (DCI latents)", "swap (random latents)", "source (no transfer)",
       "oracle (recon. of truth)", "seeds where swap > source"], swap_rows)
  notes.append(VERDICT + swap_verdict)
  if dci_rows:
    tables["DCI check: reduced / disentanglement_lib's full size (first seed)"] = sweeps.table(
        ["setting", "seed", "disent.", "compl.", "inform."], dci_rows)
  path = sweeps.write_results(results_dir, name, args=args, command=setup.command, started=setup.started,
                              tables=tables, figures=figures, notes=notes)
  raw = {lab: [{"seed": r["member"].seed, **{k: r["eval"][k] for k in keys}, "curve": r.get("curve", [])}
               for r in rs] for lab, rs in groups.items()}
  members_dir = os.path.join(results_dir, NAME)  # beside, not among, the results files the report reads
  os.makedirs(members_dir, exist_ok=True)
  with open(os.path.join(members_dir, f"{size}_members.json"), "w") as f:
    json.dump(raw, f, indent=1, default=float)
  for note in notes:
    if note.startswith(VERDICT):
      print(note)
  print(f"wrote {path} ({time.time() - setup.started:.0f} s)")
  return path


if __name__ == "__main__":
  logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s", force=True)
  logger.setLevel(logging.INFO)
  logging.getLogger("vae_jax.sweep").setLevel(logging.INFO)
  main()
