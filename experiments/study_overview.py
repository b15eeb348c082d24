"""The disentanglement study at a glance: one row per study results file, and issue #17's targets against them.

``experiments.report`` renders :func:`section` ahead of the study's own sections (REPORT §4c-0), so a reader sees in
one table which setups were tried, what each reached and which targets hold, before the per-size detail. Every cell
is read from the files the study wrote (``disentanglement_study_<size>.json``): the per-setting medians over seeds
of its scores table, its paired table's count of headline scores above the reference on every seed, its training
table's updates; the setup (resolution, networks, batch) comes from the size's config. Nothing is recomputed, so
the overview cannot disagree with the sections below it.
"""

from __future__ import annotations

import os
import re
import statistics
from collections.abc import Mapping, Sequence
from typing import Any

from experiments.configs import disentanglement_study as study
from vae_jax import plots

PREFIX = "disentanglement_study_"
NOISE = "metric_noise_"  # experiments.metric_noise's file of a study size: its metrics redrawn from fresh keys
SCORES, PAIRED, TRAINING = "Scores per setting", "Paired against ", "Training"
HEADLINE = (("beta_vae_metric", "β-VAE metric"), ("factor_vae_metric", "FactorVAE metric"), ("mig", "MIG"),
            ("dci_d", "DCI disent."))
# Issue #17's CPU targets on the best setting's median over seeds, counted only where a setting has MIN_SEEDS.
TARGETS = {"mig": 0.25, "beta_vae_metric": 0.90}
MIN_SEEDS = 5
FIGURE = "disentanglement_study_overview.png"
BUDGETS = "disentanglement_study_budgets.png"  # a setting's paired margins at every budget it was scored at


def _table(results: Mapping[str, Any], caption: str) -> dict | None:
  return next((v for k, v in results["tables"].items() if k.startswith(caption)), None)


def setup(size: str) -> str:
  """``32×32, MLP 1024-512-256-10 → broadcast decoder, batch 1,024`` for a study size (``study.encoder``); ``?`` for
  a size no longer known."""
  try:
    cfg = study.get_config(size)
  except ValueError:
    return "?"
  decoder = {"broadcast": " → broadcast decoder"}.get(cfg.decoder, "")
  return f"{cfg.resolution}×{cfg.resolution}, {study.encoder(cfg)}{decoder}, batch {cfg.batch_size:,}"


def study_row(results: Mapping[str, Any]) -> dict[str, Any]:
  """One study file's overview: its settings' medians and per-seed values of the headline scores, its reference (the
  setting the paired table compares against), the updates, and each setting's count of headline scores above the
  reference on every seed."""
  scores, paired, training = (_table(results, c) for c in (SCORES, PAIRED, TRAINING))
  if scores is None or paired is None:
    raise ValueError(f"{results['experiment']}: no scores or paired table; is it a disentanglement study's file?")
  col = {c: i for i, c in enumerate(scores["columns"])}
  cell = lambda c: {"median": c.get("median", statistics.median(c["values"])), "values": c["values"]}  # noqa: E731
  settings = {r[0]: {"seeds": r[col["seeds"]], **{k: cell(r[col[title]]) for k, title in HEADLINE}}
              for r in scores["rows"]}
  reference = re.match(r"Paired against (.+), per seed", next(k for k in results["tables"] if k.startswith(PAIRED)))
  above = {r[0]: r[-1] for r in paired["rows"]}  # its last column: headline scores higher on every seed
  updates = max((r[training["columns"].index("updates")] for r in training["rows"]), default=None) if training else None
  partial = any(n.startswith("Partial:") for n in results.get("notes", []))  # a cut run's (``--only-trained``)
  unpaired = [s for s in settings if s not in above]  # the reference: the one setting its paired table leaves out
  return {"name": results["experiment"], "size": results["size"] + (" (partial)" if partial else ""),
          "settings": settings, "above": above, "seed_list": list(results.get("seeds") or []),
          "reference_setting": unpaired[0] if len(unpaired) == 1 else None,
          "reference": reference.group(1) if reference else "?", "updates": updates,
          "device": "{device_kind} ({cpu_count} cores)".format_map({"device_kind": "?", "cpu_count": "?",
                                                                     **results.get("environment", {})})}


def _section(row: Mapping[str, Any], titles: Mapping[str, str]) -> str:
  """The report section of a study row, e.g. ``4c-SBD‴`` (its title up to the first full stop)."""
  return titles.get(row["name"], row["name"]).split(".")[0]


def _best(row: Mapping[str, Any], key: str, min_seeds: int = 1) -> tuple[str, float] | None:
  found = [(s, v[key]["median"]) for s, v in row["settings"].items() if v["seeds"] >= min_seeds]
  return max(found, key=lambda sv: sv[1]) if found else None


def ceilings(row: Mapping[str, Any]) -> list[str]:
  """The reference's headline scores at their maximum, 1, on some seed (``β-VAE metric on seed 0``): no setting can
  be *higher* on that seed, so none of the row's settings can be above the reference on every seed for all four."""
  ref = row["settings"].get(row["reference_setting"]) if row["reference_setting"] else None
  seeds = row["seed_list"]
  out = []
  for key, label in HEADLINE if ref else ():
    top = [seeds[i] if i < len(seeds) else f"#{i}" for i, v in enumerate(ref[key]["values"]) if v >= 1.0]
    if top:
      out.append(f"{label} on seed{'s' if len(top) > 1 else ''} {', '.join(map(str, top))}")
  return out


def redrawn(noise: Mapping[str, Any] | None, setting: str, titles: Mapping[str, str]) -> str:
  """What a size's ``metric_noise`` file (``noise``; None: none) says of ``setting``: per redrawn metric, in how many
  of its draws (the study's and the redraws) the setting is above the reference on every seed, and on how many seeds
  by the draws' mean — '' where the file does not have the setting."""
  table = next((v for k, v in noise["tables"].items() if k.startswith("Seeds on which")), None) if noise else None
  parts = []
  for row in table["rows"] if table else ():
    if row[0] == setting:
      every, n = study.draws_above(row[2:-2])
      parts.append(f"{dict(HEADLINE).get(row[1], row[1])} above on every seed in {every} of {n} draws, by "
                   f"the draws' mean on {row[-2]} seeds")
  return f"; redrawn, {_section({'name': noise['experiment']}, titles)}: " + ", ".join(parts) if parts else ""


def targets(rows: Sequence[Mapping[str, Any]], titles: Mapping[str, str],
            noise: Mapping[str, Mapping[str, Any]] | None = None) -> list[str]:
  """Issue #17's CPU targets, each with the best setting that has :data:`MIN_SEEDS` seeds (and the best on fewer);
  a setting above its reference on all four with the size's redrawn metrics (``noise``: study file name -> its
  ``metric_noise`` results, :func:`redrawn`) beside it."""
  noise = noise or {}
  out = []
  for key, goal in TARGETS.items():
    label = dict(HEADLINE)[key]
    best = max(((r, *b) for r in rows if (b := _best(r, key, MIN_SEEDS))), key=lambda x: x[2], default=None)
    fewer = max(((r, *b) for r in rows if (b := _best(r, key)) and r["settings"][b[0]]["seeds"] < MIN_SEEDS),
                key=lambda x: x[2], default=None)
    line = f"best median {label} ≥ {goal:.2f} over ≥ {MIN_SEEDS} seeds: "
    if best is None:
      line += "no study with that many seeds yet"
    else:
      r, setting, value = best
      line += f"**{'met' if value >= goal else 'not met'}** — {value:.3f} ({setting}, {_section(r, titles)})"
    if fewer is not None and (best is None or fewer[2] > best[2]):
      r, setting, value = fewer
      line += (f"; on fewer seeds {value:.3f} ({setting}, {r['settings'][setting]['seeds']} seed(s), "
               f"{_section(r, titles)})")
    out.append(line)
  both = [(r, s) for r in rows for s, n in r["above"].items() if n == len(HEADLINE)]
  capped = [f"{_section(r, titles)} ({r['reference_setting']} scores 1.000 on the {'; '.join(c)})"
            for r in rows if (c := ceilings(r))]
  out.append("a setting above its reference on every seed for all four headline scores: " + (
      ", ".join(f"{s} ({_section(r, titles)}{redrawn(noise.get(r['name']), s, titles)})" for r, s in both)
      or "**none yet**") + (
      "; out of reach where the reference is at a score's maximum, which no setting can exceed: " + ", ".join(capped)
      if capped else ""))
  return out


def _recipe(size: str) -> str:
  """What besides the updates makes a size's models what they are: :func:`setup`, Adam's rate and the methods'
  overrides (``?`` for a size no longer known)."""
  try:
    cfg = study.get_config(size)
  except ValueError:
    return "?"
  overrides = cfg.method_overrides.to_dict()
  return f"{setup(size)}, Adam {cfg.learning_rate:g}" + (f", {overrides}" if overrides else "")


def _paired(rows: Sequence[Mapping[str, Any]]):
  """``(recipe, "<setting> − <reference>", updates, seeds, {headline key: {seed: margin}})`` for every setting a
  complete study file pairs seed by seed with its reference (:func:`_recipe`; where the file says which seeds its
  values are)."""
  for r in rows:
    ref = r["settings"].get(r["reference_setting"]) if r["reference_setting"] else None
    recipe = _recipe(r["size"].split()[0])
    if ref is None or r["updates"] is None or recipe == "?" or r["size"].endswith("(partial)"):
      continue
    for s, v in r["settings"].items():
      if s == r["reference_setting"] or not v["seeds"] == ref["seeds"] == len(r["seed_list"]):
        continue
      yield (recipe, f"{s} − {r['reference_setting']}", r["updates"], tuple(r["seed_list"]),
             {k: {seed: a - b for seed, a, b in zip(r["seed_list"], v[k]["values"], ref[k]["values"])}
              for k, _ in HEADLINE})


def _grouped(rows: Sequence[Mapping[str, Any]], key, sub) -> dict[str, dict]:
  """:func:`_paired`'s margins as ``{key(...): {sub(...): margins}}``; a key whose files give two different margins
  under one sub-key (other models under one recipe) is left out rather than mixed."""
  groups: dict[str, dict] = {}
  clashes: set[str] = set()
  for recipe, pair, updates, seeds, margins in _paired(rows):
    k = key(recipe, pair, updates, seeds)
    if groups.setdefault(k, {}).setdefault(sub(updates, seeds), margins) != margins:
      clashes.add(k)
  return {k: g for k, g in groups.items() if k not in clashes}


def budget_chains(rows: Sequence[Mapping[str, Any]]) -> dict[str, dict[int, dict[str, dict[int, float]]]]:
  """``{"<recipe>: <setting> − <reference>": {updates: {headline key: {seed: margin}}}}`` for every setting that
  study files score at two or more numbers of updates with the same recipe (:func:`_recipe`), reference and seeds:
  whether more training widens or closes its paired margins. Two files that disagree at the same updates (other
  models under one recipe) drop that chain rather than mix them."""
  chains = _grouped(rows, lambda recipe, pair, updates, seeds: f"{recipe}: {pair} (seeds {', '.join(map(str, seeds))})",
                    lambda updates, seeds: updates)
  return {k: dict(sorted(c.items())) for k, c in chains.items() if len(c) >= 2}


def pooled(rows: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, dict[int, float]]]:
  """``{"<recipe>: <setting> − <reference> at <updates> updates": {headline key: {seed: margin}}}`` where study
  files score the same recipe (:func:`_recipe`), setting, reference and updates on disjoint seed sets (e.g. a size
  on fresh seeds, ``first_seed``, beside the first one): every seed's paired margin in one pool. A seed set that two
  files give alike (a size reading another's runs) counts once; one they give differently drops that pool."""
  pools = _grouped(rows, lambda recipe, pair, updates, seeds: f"{recipe}: {pair} at {updates:,} updates",
                   lambda updates, seeds: seeds)
  out = {}
  for key, by_seeds in pools.items():
    seen = [seed for seeds in by_seeds for seed in seeds]
    if len(by_seeds) >= 2 and len(seen) == len(set(seen)):
      out[key] = {k: {seed: m for margins in by_seeds.values() for seed, m in margins[k].items()} for k, _ in HEADLINE}
  return out


def pooled_lines(pools: Mapping[str, Mapping[str, Mapping[int, float]]]) -> list[str]:
  """One line per pool: its seeds, and per headline score the seeds above the reference and the smallest margin."""
  out = []
  for label, margins in pools.items():
    seeds = sorted(next(iter(margins.values())))
    parts = [f"{t} {sum(m > 0 for m in margins[k].values())}/{len(margins[k])} (min {min(margins[k].values()):+.3f})"
             for k, t in HEADLINE]
    out.append(f"{label}, seeds {', '.join(map(str, seeds))} pooled — " + ", ".join(parts))
  return out


def budget_lines(chains: Mapping[str, Mapping[int, Mapping[str, Mapping[int, float]]]]) -> list[str]:
  """One line per chain: at each number of updates, per headline score the seeds above the reference and the
  smallest margin."""
  out = []
  for label, by_updates in chains.items():
    cells = []
    for updates, margins in by_updates.items():
      parts = [f"{t} {sum(m > 0 for m in margins[k].values())}/{len(margins[k])} (min {min(margins[k].values()):+.3f})"
               for k, t in HEADLINE]
      cells.append(f"{updates:,}: " + ", ".join(parts))
    out.append(f"{label} — " + "; ".join(cells))
  return out


def section(loaded: Mapping[str, Mapping[str, Any]], names: Sequence[str], titles: Mapping[str, str],
            report_dir: str) -> str:
  """REPORT §4c-0 over the study files among ``names`` (in report order), with the figure of every setting's per-seed
  headline scores written to ``<report_dir>/figures/`` (:data:`FIGURE`; a setting several sizes read from the same
  runs drawn once); '' when there is none."""
  rows = [study_row(loaded[n]) for n in names if n.startswith(PREFIX)]
  if not rows:
    return ""
  noise = {r["name"]: loaded[n] for r in rows if (n := NOISE + r["name"].removeprefix(PREFIX)) in loaded}
  table = ["| § | size | machine | setup | updates | seeds | reference | " + " | ".join(
      f"best median {t}" for _, t in HEADLINE) + " | most headline scores above the reference on every seed |",
           "|" + "---|" * (8 + len(HEADLINE))]
  for r in rows:
    section_id = _section(r, titles)
    seeds = sorted({v["seeds"] for v in r["settings"].values()})
    best = [(_best(r, k) or ("—", float("nan"))) for k, _ in HEADLINE]
    top = max(r["above"].items(), key=lambda kv: kv[1], default=("the reference alone", 0))
    updates = "?" if r["updates"] is None else f"{r['updates']:,}"
    table.append(f"| {section_id} | {r['size']} | {r['device']} | {setup(r['size'].split()[0])} | {updates} | "
                 f"{'/'.join(map(str, seeds))} | {r['reference']} | "
                 + " | ".join(f"{v:.3f} ({s})" for s, v in best) + f" | {top[1]}/{len(HEADLINE)} ({top[0]}) |")
  figure = os.path.join(report_dir, "figures", FIGURE)
  os.makedirs(os.path.dirname(figure), exist_ok=True)
  shown, seen = {}, set()  # a setting several sizes share (the same runs, read again) is drawn once, where first read
  for r in rows:
    for s, v in r["settings"].items():
      values = {k: v[k]["values"] for k, _ in HEADLINE}
      if (fingerprint := repr(sorted(values.items()))) not in seen:
        seen.add(fingerprint)
        shown[f"{_section(r, titles)} {s}"] = values
  plots.score_distributions(shown, figure,
                            metrics=HEADLINE, targets=TARGETS,
                            title="Every study setting's scores over seeds (dashed: issue #17's targets)")
  chains = budget_chains(rows)
  budgets = os.path.join(report_dir, "figures", BUDGETS)
  if chains:
    plots.paired_margins(chains, budgets, metrics=HEADLINE,
                         title="Per-seed margin over the reference against updates (above the dashed line: higher)")
  more = (["A setting scored at several budgets (the same recipe, reference and seeds): on how many seeds it is above "
           "the reference at each number of updates, and its smallest margin (the study's metric draw).", "",
           *[f"- {line}" for line in budget_lines(chains)], "",
           f"![{BUDGETS}]({os.path.relpath(budgets, report_dir)})", ""] if chains else [])
  pools = pooled(rows)
  more += (["A setting trained on more than one set of seeds (the same recipe, reference and updates; e.g. fresh "
            "seeds beside the first ones), every seed's paired margin pooled (each file's own metric draw):", "",
            *[f"- {line}" for line in pooled_lines(pools)], ""] if pools else [])
  lines = ["## 4c-0. The disentanglement study at a glance: every size, its best settings and the targets", "",
           "Read from the study files below (each row's section); best = the highest median over seeds among the "
           "size's settings, reference included; the last column counts a setting's headline scores (β-VAE metric, "
           "FactorVAE metric, MIG, DCI disentanglement) above the reference on every one of its seeds; a size marked "
           "partial is a cut run's trained sweeps (its section's first note names the rest).", "",
           *table, "", "Issue #17's CPU targets:", "", *[f"- {t}" for t in targets(rows, titles, noise)], "",
           f"![{FIGURE}]({os.path.relpath(figure, report_dir)})", "", *more]
  return "\n".join(lines)
