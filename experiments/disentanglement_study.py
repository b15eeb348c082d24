"""The disentanglement study (issue #17): does a β-VAE (and its relatives) separate the sprite factors a plain VAE
mixes, and are its images sharper? Many seeds, every setting trained as a sweep, scored at disentanglement_lib's
sample sizes.

    python -m experiments.disentanglement_study --size cpu     # this CPU: about an hour (wall time in the results)
    python -m experiments.disentanglement_study --size gpu     # Locatello et al.'s setup, 300k updates (accelerator)
    python -m experiments.disentanglement_study --size smoke   # seconds (CI)

What is trained: ``experiments/configs/disentanglement_study.py`` (methods, grids, architecture, budget per size).
Each sweep (one method, its swept value × the seeds) trains in ``<runs-root>/disentanglement_study/<size>/<sweep>``
and is resumed or reused on a rerun (``vae_jax.sweep.train_sweep``); each member's scores are cached in that
folder's ``study_evals.json`` as they are computed, so an interrupted evaluation resumes too.

Per member (representation: the posterior mean; every model of a seed scored on the same factor draws):
β-VAE metric, FactorVAE metric, MIG, DCI (disentanglement, completeness, informativeness), SAP
(``vae_jax.evaluation.evaluate_disentanglement`` with ``METRIC_SIZES[size]``), KL per latent, and sharpness:
mean gradient magnitude and Laplacian variance of generated samples (decoded z ~ N(0, I)) and of reconstructions,
each over the same score of real sprites (1 = as sharp as the data). Per sweep, for its first seed: MIG and the
β-VAE metric at each of the five kept checkpoints (the metric-vs-updates curve).

Outputs (``experiments/results/disentanglement_study_<size>.json``, every member's scores and curve in
``experiments/results/disentanglement_study/<size>_members.json``, figures in ``experiments/figures``): the table of every
setting (median, mean ± std over seeds), the paired comparison of every setting against β = 1 (the plain VAE)
per seed, Locatello-style box plots of each score over seeds, the curves, the sharpness table and the
article's figure — traversals of the plain VAE and of the best β-VAE side by side, each row labelled with the
factor its latent carries (DCI importance).
"""

from __future__ import annotations

import functools
import hashlib
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

NAME = "disentanglement_study"
logger = logging.getLogger(__name__)

METRICS = (("beta_vae_metric", "β-VAE metric"), ("factor_vae_metric", "FactorVAE metric"), ("mig", "MIG"),
           ("dci_d", "DCI disent."), ("dci_c", "DCI compl."), ("dci_i", "DCI inform."), ("sap", "SAP"))
HEADLINE = ("beta_vae_metric", "factor_vae_metric", "mig", "dci_d")
SHARPNESS = (("sharp_gen_grad", "samples grad."), ("sharp_gen_lap", "samples Lap. var."),
             ("sharp_rec_grad", "recons grad."), ("sharp_rec_lap", "recons Lap. var."))
EXTRA = (("kl", "KL (nats)"), ("active", "active latents"), ("recon", "recon (nats)"))

# disentanglement_lib's sample sizes except DCI's on the CPU: its 100-stage boosted trees on 10,000 codes cost
# minutes per model there (110 s at 3,000 codes under load); `--dci-check` compares the reduced estimate with the
# full one on the first seed of β = 1 and of the best setting.
METRIC_SIZES = {
    "gpu": evaluation.MetricSizes(),
    "cpu": evaluation.MetricSizes(dci_train=3000, dci_test=1500, dci_estimators=20),
    "smoke": evaluation.MetricSizes(bvae_batch=4, bvae_train=16, bvae_eval=16, fvae_batch=4, fvae_train=16,
                                    fvae_eval=16, fvae_var=128, num_codes=128, dci_train=128, dci_test=128,
                                    dci_estimators=2, sap_train=128, sap_test=128),
}
CURVE_SIZES = {  # the curve's β-VAE metric: fewer points (it is computed at every kept checkpoint)
    "gpu": evaluation.MetricSizes(bvae_train=2000, bvae_eval=1000, fvae_train=16, fvae_eval=16, fvae_var=128,
                                  dci_estimators=1, dci_train=64, dci_test=64, sap_train=0, sap_test=0),
    "cpu": evaluation.MetricSizes(bvae_train=2000, bvae_eval=1000, fvae_train=16, fvae_eval=16, fvae_var=128,
                                  dci_estimators=1, dci_train=64, dci_test=64, sap_train=0, sap_test=0),
    "smoke": evaluation.MetricSizes(bvae_batch=4, bvae_train=16, bvae_eval=16, fvae_batch=4, fvae_train=16,
                                    fvae_eval=16, fvae_var=128, num_codes=128, dci_train=128, dci_test=128,
                                    dci_estimators=1, sap_train=0, sap_test=0),
}
NUM_SHARPNESS = {"gpu": 2000, "cpu": 2000, "smoke": 32}
SWAP_SIZES = {  # factor_swap's DCI codes and stages, pairs per factor
    "gpu": dict(dci_train=2000, dci_test=1000, dci_estimators=30, num_pairs=500),
    "cpu": dict(dci_train=2000, dci_test=1000, dci_estimators=30, num_pairs=500),
    "smoke": dict(dci_train=128, dci_test=64, dci_estimators=2, num_pairs=16),
}
VERDICT = "Verdict: "  # prefix of the notes that state the study's findings (quoted by other reports)
TRAVERSAL_BASE = (2, 3, 0, 16, 16)  # a mid-sized heart, unrotated, in the centre (sprites.FACTOR_NAMES order)
TRAVERSAL_VALUES = tuple(np.linspace(-2.5, 2.5, 9))


def setting_label(method: str, hparams: dict, config) -> str:
  """Row label of a setting, e.g. ``β-VAE β=4`` or ``DIP-VAE-I λ_od=5``."""
  names = {"beta_vae": "β-VAE", "beta_tcvae": "β-TCVAE", "factor_vae": "FactorVAE", "dip_vae_i": "DIP-VAE-I",
           "dip_vae_ii": "DIP-VAE-II", "annealed_vae": "AnnealedVAE"}
  field, _ = study.GRIDS[method]
  key = f"method.{field}"
  value = hparams[key] if key in hparams else getattr(config.method, field)
  symbol = {"beta": "β", "gamma": "γ", "lambda_od": "λ_od", "c_max": "C_max"}[field]
  if method == "beta_vae" and value == 1.0:
    return "β-VAE β=1 (VAE)"
  return f"{names[method]} {symbol}={value:g}"


def _json_ready(ev: dict) -> dict:
  return {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in ev.items()}


def sharpness(model, params, key: jax.Array, resolution: int, num: int) -> dict:
  """Sharpness of generated samples and of reconstructions relative to real sprites (1 = as sharp as the data)."""
  k_real, k_prior = jax.random.split(key)
  real, _ = sprites.sample(k_real, num, resolution=resolution)
  real = np.asarray(real)
  recon = inference.reconstruct(model, params, real, batch_size=500)
  z = np.asarray(jax.random.normal(k_prior, (num, model.latent_dim)))
  generated = inference.decode(model, params, z, batch_size=500)
  grad_real = evaluation.gradient_magnitude(real).mean()
  lap_real = evaluation.laplacian_variance(real).mean()
  return {"sharp_gen_grad": float(evaluation.gradient_magnitude(generated).mean() / grad_real),
          "sharp_gen_lap": float(evaluation.laplacian_variance(generated).mean() / lap_real),
          "sharp_rec_grad": float(evaluation.gradient_magnitude(recon).mean() / grad_real),
          "sharp_rec_lap": float(evaluation.laplacian_variance(recon).mean() / lap_real)}


def _tag(sizes: evaluation.MetricSizes) -> str:
  """A short fingerprint of metric sizes, part of every cache key (scores at other sizes are not reused)."""
  return hashlib.sha1(repr(sizes).encode()).hexdigest()[:10]


class _Cache:
  """``study_evals.json`` of a sweep folder: scores by key, written atomically after each new entry."""

  def __init__(self, workdir: str):
    self.path = os.path.join(workdir, "study_evals.json")
    self.data = {}
    if os.path.exists(self.path):
      with open(self.path) as f:
        self.data = json.load(f)

  def get(self, key: str, fn):
    if key not in self.data:
      self.data[key] = _json_ready(fn())
      tmp = self.path + ".tmp"
      with open(tmp, "w") as f:
        json.dump(self.data, f)
      os.replace(tmp, self.path)
    return self.data[key]


def run_sweeps(size: str, seeds: list[int], runs_root: str, num_steps: int | None, only: list[str] | None):
  """Trains (or reuses) every sweep of the study; yields ``(name, SweepConfig, workdir, results)``."""
  tag = size if num_steps is None else f"{size}-{num_steps}steps"
  for name, base, (field, values) in study.sweeps(size, num_steps):
    if only and base.method.name not in only:
      continue
    spec = sweep.make_sweep(base, {field: values} if field else {}, seeds=seeds)
    workdir = os.path.join(runs_root, NAME, tag, name)
    t = time.perf_counter()
    res = sweep.train_sweep(spec, workdir)
    logger.info("sweep %s: %d members, %.0f s (images/s %s)", name, len(spec.members()), time.perf_counter() - t,
                res.get("images_per_sec"))
    yield name, spec, workdir, res


def evaluate_sweep(spec, workdir: str, results: dict, size: str, sampler, resolution: int) -> list[dict]:
  """Scores of every member (cached), and the curve points of the first seed's members."""
  cache = _Cache(workdir)
  base = spec.base
  model = factory.make_model(base.model, (resolution, resolution, 1))
  _, state = sweep.load_sweep(workdir)
  rows = []
  for mb, rec in zip(spec.members(), results["members"]):
    params = sweep.member_state(state, mb.index).params

    def score(mb=mb, params=params):
      t = time.perf_counter()
      ev = evaluation.evaluate_disentanglement(jax.random.fold_in(jax.random.key(mb.seed), 7), model, params, sampler,
                                               METRIC_SIZES[size])
      ev.update(sharpness(model, params, jax.random.fold_in(jax.random.key(mb.seed), 11), resolution,
                          NUM_SHARPNESS[size]))
      ev["eval_time_s"] = time.perf_counter() - t
      logger.info("%s: %s (%.0f s)", mb.name, {k: round(float(ev[k]), 3) for k, _ in METRICS}, ev["eval_time_s"])
      return ev

    ev = dict(cache.get(f"{mb.name}/{_tag(METRIC_SIZES[size])}", score))
    ev["recon"] = rec["eval"].get("eval/recon", float("nan"))
    rows.append({"member": mb, "eval": ev, "params": params})

  # The metric-vs-updates curve: every kept checkpoint, first seed. A checkpoint is restored only when one of its
  # points is not cached yet (a rerun restores none).
  by_name = {row["member"].name: row for row in rows}
  first_seed = [mb for mb in spec.members() if mb.seed == spec.seeds[0]]
  mgr_steps = sorted(int(s) for s in os.listdir(os.path.join(workdir, "checkpoints")) if s.isdigit())
  for step in mgr_steps:
    keys = {mb.name: f"curve/{mb.name}/{step}/{_tag(CURVE_SIZES[size])}" for mb in first_seed}
    st = sweep.load_sweep(workdir, step)[1] if any(k not in cache.data for k in keys.values()) else None
    for mb in first_seed:

      def curve(mb=mb, st=st):
        p = sweep.member_state(st, mb.index).params
        ev = evaluation.evaluate_disentanglement(jax.random.fold_in(jax.random.key(mb.seed), 7), model, p, sampler,
                                                 CURVE_SIZES[size])
        return {"beta_vae_metric": ev["beta_vae_metric"], "mig": ev["mig"]}

      point = cache.get(keys[mb.name], curve)
      by_name[mb.name].setdefault("curve", []).append({"step": step, **point})
  return rows


def dci_check(rows: list[dict], size: str, sampler, cache_dir: str, model, labels: list[str]) -> list[list]:
  """DCI at the reduced size vs disentanglement_lib's full size (10,000/5,000 codes, 100 stages), first seed of
  the settings ``labels``."""
  full = evaluation.MetricSizes(bvae_train=16, bvae_eval=16, fvae_train=16, fvae_eval=16, fvae_var=128,
                                sap_train=0, sap_test=0)
  reduced = METRIC_SIZES[size]
  if (reduced.dci_train, reduced.dci_test, reduced.dci_estimators) == (full.dci_train, full.dci_test,
                                                                       full.dci_estimators):
    return []
  cache = _Cache(cache_dir)
  out = []
  first = min(r["member"].seed for r in rows)
  for r in rows:
    mb = r["member"]
    if mb.seed != first or r["label"] not in labels:
      continue

    def score(mb=mb, params=r["params"]):
      ev = evaluation.evaluate_disentanglement(jax.random.fold_in(jax.random.key(mb.seed), 7), model, params,
                                               sampler, full)
      return {"dci_d": ev["dci_d"], "dci_c": ev["dci_c"], "dci_i": ev["dci_i"]}

    f = cache.get(f"dci_full/{mb.name}", score)
    out.append([r["label"], mb.seed, *[f"{r['eval'][k]:.3f} / {f[k]:.3f}" for k in ("dci_d", "dci_c", "dci_i")]])
  return out


def traversal(r: dict, model, resolution: int) -> tuple[str, np.ndarray, list[str]]:
  """A :func:`vae_jax.plots.traversal_panels` panel: each latent of the model (rows by KL) swept over
  ``TRAVERSAL_VALUES`` from the posterior mean of a centred heart, labelled with its factor (DCI importance)."""
  ev = r["eval"]
  kl, imp = np.asarray(ev["kl_per_dim"]), np.asarray(ev["importance"])
  base_image = sprites.render(np.asarray([TRAVERSAL_BASE], np.int32), resolution=resolution)
  base = inference.encode(model, r["params"], base_image, batch_size=1).mean[0]
  values = np.asarray(TRAVERSAL_VALUES, np.float32)
  order = np.argsort(-kl)
  codes = np.tile(base, (len(order), len(values), 1))
  codes[np.arange(len(order)), :, order] = values[None, :]
  images = inference.decode(model, r["params"], codes.reshape(-1, len(base)), batch_size=codes.shape[0] * len(values))
  labels = [f"z{d} KL={kl[d]:.1f} " + (sprites.FACTOR_NAMES[int(np.argmax(imp[d]))] if kl[d] > evaluation.ACTIVE_KL
                                       else "(inactive)") for d in order]
  title = f"{r['label']} (seed {r['member'].seed}): MIG {ev['mig']:.2f}, DCI-D {ev['dci_d']:.2f}"
  return title, images.reshape(len(order), len(values), *images.shape[1:]), labels


def latent_swaps(groups: dict[str, list[dict]], labels: list[str], size: str, model, resolution: int):
  """The article's style transfer on the given settings, every seed (:func:`vae_jax.evaluation.factor_swap`,
  cached per member): table rows and a verdict on whether the swap beats no transfer."""
  rows, verdict = [], []
  for lab in labels:
    per_seed = []
    for r in groups[lab]:
      mb = r["member"]

      def run(mb=mb, params=r["params"]):
        out = evaluation.factor_swap(jax.random.fold_in(jax.random.key(mb.seed), 13), model, params,
                                     resolution=resolution, **SWAP_SIZES[size])
        out.pop("examples")
        return out

      per_seed.append(_Cache(r["workdir"]).get(f"swap/{mb.name}", run))
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
  p = sweeps.parser(__doc__, extra_sizes=("cpu", "gpu"))
  p.add_argument("--steps", type=int, default=None, help="training updates (default: the size's)")
  p.add_argument("--methods", nargs="+", default=None, choices=sorted(study.GRIDS),
                 help="only these methods (β-VAE, which holds β = 1, is always trained)")
  p.add_argument("--dci-check", action="store_true",
                  help="also score DCI at disentanglement_lib's full size on the first seed of β = 1 and of the best "
                       "setting, to compare with the reduced size (minutes per model on a CPU)")
  p.set_defaults(size="cpu")
  setup = sweeps.begin(p, NAME, argv, default_seeds={s: v["seeds"] for s, v in study.SIZES.items()})
  args = setup.args
  if args.size not in study.SIZES:
    p.error(f"--size {args.size}: this study has sizes {sorted(study.SIZES)}")
  size = args.size
  s = study.SIZES[size]
  resolution = s["resolution"]
  only = None if args.methods is None else sorted({"beta_vae", *args.methods})
  sampler = evaluation.GroundTruthSampler(sprites.FACTOR_SIZES,
                                          observe=functools.partial(sprites.render, resolution=resolution))
  results_dir, figures_dir = setup.results_dir, setup.figures_dir
  if size in ("cpu", "gpu") and not args.results_dir:  # the study's sizes are the committed results
    results_dir, figures_dir = sweeps.RESULTS_DIR, sweeps.FIGURES_DIR
  name = f"{NAME}_{size}"

  rows: list[dict] = []
  train_info = []
  model = None
  for sweep_name, spec, workdir, res in run_sweeps(size, setup.seeds, args.runs_root, args.steps, only):
    model = factory.make_model(spec.base.model, (resolution, resolution, 1))
    sweep_rows = evaluate_sweep(spec, workdir, res, size, sampler, resolution)
    for r in sweep_rows:
      r["method"] = spec.base.method.name
      r["label"] = setting_label(r["member"].config.method.name, r["member"].hparams, r["member"].config)
      r["workdir"] = workdir
    rows.extend(sweep_rows)
    train_info.append([sweep_name, len(spec.members()), res["final_step"], round(res.get("train_time_s") or 0.0),
                       round(res["images_per_sec"] or 0.0) if res.get("images_per_sec") else "—"])

  groups: dict[str, list[dict]] = {}
  for r in rows:
    groups.setdefault(r["label"], []).append(r)
  reference = "β-VAE β=1 (VAE)"
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

  betas = [lab for lab in groups if lab.startswith("β-VAE") and lab != reference]
  best_beta = max(betas, key=headline_median) if betas else reference
  others = [lab for lab in groups if lab != reference]
  best_any = max(others, key=headline_median) if others else reference

  figures = []
  first = setup.seeds[0]
  pick = {lab: next(r for r in groups[lab] if r["member"].seed == first) for lab in {reference, best_beta, best_any}}
  caption = "Latent traversals (seed {}), rows by KL, each labelled with the factor of largest DCI importance"
  figures.append(plots.traversal_panels([traversal(pick[lab], model, resolution) for lab in (reference, best_beta)],
                                        os.path.join(figures_dir, f"{name}_traversal.png"),
                                        title=caption.format(first)))
  if best_any != best_beta:
    figures.append(plots.traversal_panels([traversal(pick[lab], model, resolution) for lab in (reference, best_any)],
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

  swap_rows, swap_verdict = latent_swaps(groups, [reference, *dict.fromkeys([best_beta, best_any])], size, model,
                                         resolution)

  dci_rows = (dci_check(rows, size, sampler, os.path.join(args.runs_root, NAME), model, [reference, best_any])
              if args.dci_check else [])

  titles = dict(METRICS)
  best_stats = {lab: {k: float(np.median([r["eval"][k] for r in groups[lab]])) for k in HEADLINE} for lab in groups}
  verdict = []
  for lab in (best_beta, *[lab for lab in groups if lab.startswith("β-TCVAE")]):
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

  base = study.get_config(size, args.steps)
  m = METRIC_SIZES[size]
  arch = (f"MLP {resolution * resolution}-{'-'.join(map(str, base.model.hidden))}-{base.model.latent_dim}"
          if base.model.architecture == "mlp" else
          f"conv {'-'.join(map(str, base.model.conv_channels))} (4×4 stride 2), dense "
          f"{'-'.join(map(str, base.model.conv_dense))}, latent {base.model.latent_dim}")
  notes = [
      f"Setup ({size}): {resolution}×{resolution} procedural sprites drawn fresh every step; {arch}, Bernoulli; Adam "
      f"{base.optimizer.learning_rate:g}, batch {base.batch_size}, {base.num_steps:,} updates "
      f"({base.num_steps * base.batch_size:,} images, {base.num_steps * base.batch_size / sprites.NUM_SPRITES:.1f} "
      f"passes over the 737,280 factor combinations); seeds {setup.seeds}; each setting a sweep "
      "(vae_jax.sweep: the members trained in one program).",
      f"Scores on the posterior mean: β-VAE metric {m.bvae_train}/{m.bvae_eval} points of batch {m.bvae_batch}; "
      f"FactorVAE metric {m.fvae_train}/{m.fvae_eval} votes of batch {m.fvae_batch}, variances from {m.fvae_var} "
      f"codes; MIG on {m.num_codes} codes, 20 bins; DCI gradient-boosted trees ({m.dci_estimators} stages) on "
      f"{m.dci_train}/{m.dci_test} codes; SAP on {m.sap_train}/{m.sap_test}. disentanglement_lib's sizes except "
      "where smaller" + (" (the DCI check table compares with the full size)." if args.dci_check else
                         "; the reduced DCI was not compared with the full one in this run (--dci-check)."),
      "Paired table: setting − β=1 on the same seed, mean ± std over seeds, (seeds where higher / seeds).",
      "Time: training " + ", ".join(f"{row[0]} {row[3]} s" for row in train_info) + " (each sweep's train_time_s, "
      f"from the run that trained it); scoring the members {sum(r['eval'].get('eval_time_s', 0.0) for r in rows):.0f} s "
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
