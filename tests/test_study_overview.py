"""The study at a glance (REPORT §4c-0): read from the study files, never recomputed; the targets judged on the best
setting with five seeds, fewer-seed results named beside them; shared runs drawn once."""

import argparse
import time

import numpy as np

from experiments import report, study_overview, sweeps

COLUMNS = ["setting", "seeds", "β-VAE metric", "FactorVAE metric", "MIG", "DCI disent."]


def _study(tmp_path, size: str, scores: dict[str, list[list[float]]], above: dict[str, int], updates: int,
           notes=(), first_seed=0):
  """A study file as the study writes it: per setting, per headline score, the values over seeds."""
  rows = [[s, len(v[0]), *[sweeps.mean_std(x) for x in v]] for s, v in scores.items()]
  paired = [[s, "", "", "", "", n] for s, n in above.items()]
  tables = {"Scores per setting (mean ± std over seeds)": sweeps.table(COLUMNS, rows),
            "Paired against β = 1 (the plain VAE), per seed": sweeps.table(
                ["setting", "a", "b", "c", "d", "headline scores higher on every seed"], paired),
            "Training (one sweep per row)": sweeps.table(["sweep", "updates"], [["x", updates], ["y", updates]])}
  args = argparse.Namespace(size=size, seeds=5, first_seed=first_seed)
  sweeps.write_results(str(tmp_path), f"disentanglement_study_{size}", args=args,
                       command=f"python -m experiments.disentanglement_study --size {size}", started=time.time(),
                       tables=tables, notes=notes)


def test_overview_reads_the_study_files_and_judges_the_targets_on_five_seeds(tmp_path):
  vae = [[0.80, 0.82, 0.84, 0.86, 0.88], [0.5] * 5, [0.10, 0.11, 0.12, 0.13, 0.14], [0.2] * 5]
  tc = [[0.7] * 5, [0.6] * 5, [0.20, 0.26, 0.27, 0.30, 0.31], [0.3] * 5]
  _study(tmp_path, "cpu1024_sbd", {"β-VAE β=1 (VAE)": vae, "β-TCVAE β=6": tc}, {"β-TCVAE β=6": 2}, 1000)
  one_seed = [[1.0], [0.9], [0.4], [0.7]]  # a single seed scoring above the targets: named, not counted
  _study(tmp_path, "cpu1024_sbd_long", {"β-VAE β=1 (VAE)": one_seed, "β-VAE β=2": [[0.87], [0.8], [0.47], [0.6]]},
         {"β-VAE β=2": 1}, 3000)
  _study(tmp_path, "cpu1024_sbd_long_tc", {"β-VAE β=1 (VAE)": vae}, {}, 3000, notes=["Partial: 1 sweep(s) ..."])
  out = tmp_path / "REPORT.md"
  text = report.main(["--results-dir", str(tmp_path), "--out", str(out)])
  glance = text[text.index("## 4c-0"):text.index("## 4c-SBD.")]  # ahead of the first study's own section
  row = next(line for line in glance.splitlines() if line.startswith("| 4c-SBD |"))
  assert ("| cpu1024_sbd | cpu" in row and "32×32, MLP 1024-512-256-10 → broadcast decoder, batch 1,024 | 1,000 | 5 |"
          in row and "| 0.840 (β-VAE β=1 (VAE)) |" in row and "| 0.270 (β-TCVAE β=6) |" in row)
  assert row.endswith("| 2/4 (β-TCVAE β=6) |")
  cut = next(line for line in glance.splitlines() if line.startswith("| 4c-SBD⁗ |"))  # a cut run's file says so
  assert "| cpu1024_sbd_long_tc (partial) | cpu" in cut and "batch 1,024 | 3,000 |" in cut
  assert cut.endswith("| 0/4 (the reference alone) |")
  assert ("best median MIG ≥ 0.25 over ≥ 5 seeds: **met** — 0.270 (β-TCVAE β=6, 4c-SBD); on fewer seeds 0.470 "
          "(β-VAE β=2, 1 seed(s), 4c-SBD‴)") in glance
  assert ("best median β-VAE metric ≥ 0.90 over ≥ 5 seeds: **not met** — 0.840 (β-VAE β=1 (VAE), 4c-SBD); on "
          "fewer seeds 1.000 (β-VAE β=1 (VAE), 1 seed(s), 4c-SBD‴)") in glance
  assert ("all four headline scores: **none yet**; out of reach where the reference is at a score's maximum, which "
          "no setting can exceed: 4c-SBD‴ (β-VAE β=1 (VAE) scores 1.000 on the β-VAE metric on seed 0)") in glance
  assert (tmp_path / "figures" / study_overview.FIGURE).stat().st_size > 0
  assert f"](figures/{study_overview.FIGURE})" in glance


def test_shared_runs_are_drawn_once_and_a_setting_above_on_all_four_is_named(tmp_path, monkeypatch):
  vae = [[0.8] * 5, [0.5] * 5, [0.1] * 5, [0.2] * 5]
  _study(tmp_path, "cpu1024_sbd", {"β-VAE β=1 (VAE)": vae, "β-VAE β=2": vae}, {"β-VAE β=2": 4}, 1000)
  _study(tmp_path, "cpu1024_sbd_grid", {"β-VAE β=1 (VAE)": vae}, {}, 1000)
  drawn = {}
  monkeypatch.setattr(study_overview.plots, "score_distributions", lambda scores, path, **kw: drawn.update(scores))
  loaded = {n: report_load(tmp_path, n) for n in ("disentanglement_study_cpu1024_sbd",
                                                  "disentanglement_study_cpu1024_sbd_grid")}
  text = study_overview.section(loaded, list(loaded), report.TITLES, str(tmp_path))
  assert list(drawn) == ["4c-SBD β-VAE β=1 (VAE)"]  # three rows of the same values: the same runs, drawn once
  assert "all four headline scores: β-VAE β=2 (4c-SBD)" in text and "out of reach" not in text
  # A size whose metrics were redrawn (experiments.metric_noise): how the setting fares in each draw, beside it.
  noise = {"experiment": "metric_noise_cpu1024_sbd", "tables": {
      "Seeds on which a setting is above β = 1 (a column per draw; the last two: the draws' mean)": sweeps.table(
          ["setting", "metric", "study's draw", "redraw 1", "redraw 2", "mean of draws", "smallest mean margin"],
          [["β-VAE β=2", "factor_vae_metric", "5/5", "4/5", "5/5", "4/5", -0.002]])}}
  text = study_overview.section({**loaded, "metric_noise_cpu1024_sbd": noise}, list(loaded), report.TITLES,
                                str(tmp_path))
  assert ("all four headline scores: β-VAE β=2 (4c-SBD; redrawn, metric_noise_cpu1024_sbd: FactorVAE metric above "
          "on every seed in 2 of 3 draws, by the draws' mean on 4/5 seeds)") in text
  assert study_overview.redrawn(None, "β-VAE β=2", report.TITLES) == ""
  assert study_overview.redrawn(noise, "β-VAE β=4", report.TITLES) == ""  # a setting the file does not have
  row = study_overview.study_row(loaded["disentanglement_study_cpu1024_sbd"])
  assert row["reference_setting"] == "β-VAE β=1 (VAE)" and study_overview.ceilings(row) == []
  capped = {**row, "settings": {**row["settings"], "β-VAE β=1 (VAE)": {
      **row["settings"]["β-VAE β=1 (VAE)"], "mig": {"median": 0.5, "values": [0.1, 1.0, 0.2, 1.0, 0.3]}}}}
  assert study_overview.ceilings(capped) == ["MIG on seeds 1, 3"]
  assert study_overview.section({}, [], report.TITLES, str(tmp_path)) == ""
  assert study_overview.setup("no_such_size") == "?"


def report_load(tmp_path, name):
  import json

  with open(tmp_path / f"{name}.json") as f:
    return json.load(f)


def test_a_setting_scored_at_several_budgets_has_its_paired_margins_per_budget(tmp_path):
  one = [[0.70, 0.75, 0.80, 0.78, 0.76], [0.50] * 5, [0.03] * 5, [0.09] * 5]
  at10k = [[0.81, 0.83, 0.83, 0.84, 0.80], [0.60, 0.55, 0.49, 0.60, 0.55], [0.07] * 5, [0.17] * 5]
  at15k = [[0.82, 0.84, 0.84, 0.85, 0.81], [0.64, 0.59, 0.51, 0.69, 0.59], [0.09] * 5, [0.18] * 5]
  _study(tmp_path, "cpu_higgins_beta8", {"β-VAE β=1 (VAE)": one, "β-VAE β=8": at10k}, {"β-VAE β=8": 3}, 10_000)
  _study(tmp_path, "cpu_higgins_long_beta8", {"β-VAE β=1 (VAE)": one, "β-VAE β=8": at15k}, {"β-VAE β=8": 4}, 15_000)
  _study(tmp_path, "cpu1024_sbd", {"β-VAE β=1 (VAE)": one, "β-VAE β=8": at10k}, {"β-VAE β=8": 3}, 1000)  # one budget
  rows = [study_overview.study_row(report_load(tmp_path, f"disentanglement_study_{s}"))
          for s in ("cpu_higgins_beta8", "cpu_higgins_long_beta8", "cpu1024_sbd")]
  chains = study_overview.budget_chains(rows)
  (label, by_updates), = chains.items()  # the broadcast-decoder size has β = 8 at one budget only: no chain
  assert label.startswith("64×64, MLP 4096-1200-1200-10, batch 64, Adam 0.0005: β-VAE β=8 − β-VAE β=1 (VAE)")
  assert list(by_updates) == [10_000, 15_000]
  assert by_updates[10_000]["factor_vae_metric"] == dict(enumerate([0.6 - 0.5, 0.55 - 0.5, 0.49 - 0.5, 0.6 - 0.5,
                                                                     0.55 - 0.5]))  # seed: margin
  line, = study_overview.budget_lines(chains)
  assert ("10,000: β-VAE metric 5/5 (min +0.030), FactorVAE metric 4/5 (min -0.010), MIG 5/5 (min +0.040), DCI "
          "disent. 5/5 (min +0.080); 15,000: β-VAE metric 5/5 (min +0.040), FactorVAE metric 5/5 (min +0.010)") in line
  text = report.main(["--results-dir", str(tmp_path), "--out", str(tmp_path / "REPORT.md")])
  assert f"](figures/{study_overview.BUDGETS})" in text and "10,000: β-VAE metric 5/5" in text
  assert (tmp_path / "figures" / study_overview.BUDGETS).stat().st_size > 0
  # other models at a budget the chain already has (e.g. another run under the same recipe): the chain is dropped
  _study(tmp_path, "cpu_higgins_grid", {"β-VAE β=1 (VAE)": one, "β-VAE β=8": at15k}, {"β-VAE β=8": 4}, 10_000)
  assert study_overview.budget_chains([*rows, study_overview.study_row(
      report_load(tmp_path, "disentanglement_study_cpu_higgins_grid"))]) == {}
  # fresh seeds (--first-seed 5) at two budgets: a chain of their own, its margins under the seeds' own numbers
  sizes = {"cpu_higgins_20k": (at10k, 10_000), "cpu_higgins_20k_fresh": (at15k, 15_000)}  # one recipe
  for size, (scores, updates) in sizes.items():
    _study(tmp_path, size, {"β-VAE β=1 (VAE)": one, "β-VAE β=8": scores}, {"β-VAE β=8": 3}, updates, first_seed=5)
  fresh = study_overview.budget_chains([study_overview.study_row(report_load(tmp_path, f"disentanglement_study_{s}"))
                                        for s in sizes])
  (label, by_updates), = fresh.items()
  assert label.endswith("(seeds 5, 6, 7, 8, 9)") and list(by_updates[15_000]["mig"]) == [5, 6, 7, 8, 9]


def test_fresh_seeds_beside_the_first_ones_are_pooled_at_the_same_budget(tmp_path):
  one = [[0.70, 0.75, 0.80, 0.78, 0.76], [0.50] * 5, [0.03] * 5, [0.09] * 5]
  first = [[0.81, 0.83, 0.83, 0.84, 0.80], [0.60, 0.55, 0.49, 0.60, 0.55], [0.07] * 5, [0.17] * 5]
  fresh = [[0.72, 0.83, 0.83, 0.84, 0.80], [0.60, 0.55, 0.59, 0.60, 0.45], [0.07] * 5, [0.17] * 5]
  _study(tmp_path, "cpu_higgins_beta8", {"β-VAE β=1 (VAE)": one, "β-VAE β=8": first}, {"β-VAE β=8": 3}, 10_000)
  _study(tmp_path, "cpu_higgins_grid", {"β-VAE β=1 (VAE)": one, "β-VAE β=8": first}, {"β-VAE β=8": 3}, 10_000)
  _study(tmp_path, "cpu_higgins_fresh", {"β-VAE β=1 (VAE)": one, "β-VAE β=8": fresh}, {"β-VAE β=8": 2}, 10_000,
         first_seed=5)
  _study(tmp_path, "cpu_higgins_long_beta8", {"β-VAE β=1 (VAE)": one, "β-VAE β=8": first}, {"β-VAE β=8": 3}, 15_000)
  rows = [study_overview.study_row(report_load(tmp_path, f"disentanglement_study_{s}"))
          for s in ("cpu_higgins_beta8", "cpu_higgins_grid", "cpu_higgins_fresh", "cpu_higgins_long_beta8")]
  (label, margins), = study_overview.pooled(rows).items()  # the grid reads β = 8's runs: seeds 0–4 counted once
  assert label == ("64×64, MLP 4096-1200-1200-10, batch 64, Adam 0.0005: β-VAE β=8 − β-VAE β=1 (VAE) at 10,000 "
                   "updates")
  assert sorted(margins["factor_vae_metric"]) == list(range(10))
  np.testing.assert_allclose([margins["factor_vae_metric"][s] for s in range(10)],
                             [0.1, 0.05, -0.01, 0.1, 0.05, 0.1, 0.05, 0.09, 0.1, -0.05])
  line, = study_overview.pooled_lines(study_overview.pooled(rows))
  assert line.endswith("seeds 0, 1, 2, 3, 4, 5, 6, 7, 8, 9 pooled — β-VAE metric 10/10 (min +0.020), FactorVAE "
                       "metric 8/10 (min -0.050), MIG 10/10 (min +0.040), DCI disent. 10/10 (min +0.080)")
  text = report.main(["--results-dir", str(tmp_path), "--out", str(tmp_path / "REPORT.md")])
  assert "pooled — β-VAE metric 10/10 (min +0.020), FactorVAE metric 8/10 (min -0.050)" in text
  # the same seeds scored differently by two files (other models under one recipe): no pool
  _study(tmp_path, "cpu_higgins_grid", {"β-VAE β=1 (VAE)": one, "β-VAE β=8": fresh}, {"β-VAE β=8": 2}, 10_000)
  rows[1] = study_overview.study_row(report_load(tmp_path, "disentanglement_study_cpu_higgins_grid"))
  assert study_overview.pooled(rows) == {}
  assert study_overview.pooled(rows[:1]) == {}  # one seed set alone is not a pool
