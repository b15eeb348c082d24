"""Regenerates ``experiments/REPORT.md`` from the experiments' results files.

    python -m experiments.report                 # reads experiments/results/*.json
    python -m experiments.report --results-dir runs/quick-results --out runs/quick-results/REPORT.md

On the committed results (the default) it also rewrites the README's measured claims (:mod:`experiments.claims`).

Every number in the report comes from a results JSON written by an experiment script (``experiments/<name>.py``),
which also records the command that produced it, the seeds, the machine and the wall time; this script only
formats them.
"""

from __future__ import annotations

import argparse
import glob
import json
import math
import os
from typing import Any

from experiments import claims, study_overview, sweeps

ORDER = ["bottleneck", "denoising", "vae_likelihood", "fashion_likelihood", "fashion_likelihood_h200",
         "beta_vae_sprites", "beta_vae_sprites_higgins", "disentanglement_study_cpu", "disentanglement_study_cpu_beta",
         "disentanglement_study_cpu64", "disentanglement_study_cpu64_mss", "disentanglement_study_cpu_mss",
         "disentanglement_study_cpu_mss_beta2", "disentanglement_study_cpu1024",
         "disentanglement_study_cpu1024_mss_beta2", "disentanglement_study_cpu1024_long",
         "disentanglement_study_cpu1024_tc1", "disentanglement_study_cpu1024_methods",
         "disentanglement_study_cpu1024_wide", "disentanglement_study_cpu_conv",
         "disentanglement_study_cpu1024_sbd", "disentanglement_study_cpu1024_sbd_grid",
         "disentanglement_study_cpu1024_sbd_grid-3000steps", "disentanglement_study_cpu1024_sbd_long",
         "disentanglement_study_cpu1024_sbd_long_tc", "disentanglement_study_cpu1024_sbd_mss",
         "disentanglement_study_cpu_higgins", "disentanglement_study_cpu_higgins_tc",
         "disentanglement_study_cpu_higgins_beta8", "disentanglement_study_cpu_higgins_grid",
         "disentanglement_study_cpu_higgins_long", "disentanglement_study_cpu_higgins_long_beta8",
         "disentanglement_study_cpu_higgins_20k", "disentanglement_study_cpu_higgins_fresh",
         "disentanglement_study_cpu_higgins_20k_fresh", "disentanglement_study_cpu_higgins_fresh_beta16",
         "disentanglement_study_cpu_higgins_30k_fresh", "disentanglement_study_cpu_higgins_40k_fresh",
         "factor_response_cpu1024_long", "factor_response_cpu1024_methods", "factor_response_cpu1024_wide",
         "factor_response_cpu_conv", "factor_response_cpu1024_sbd", "factor_response_cpu1024_sbd_grid",
         "factor_response_cpu1024_sbd_long", "metric_confusion_cpu1024_sbd_grid", "metric_confusion_cpu1024_sbd_long",
         "factor_response_cpu1024_sbd_mss", "metric_confusion_cpu1024_sbd_mss", "factor_response_cpu_higgins_tc",
         "factor_response_cpu_higgins_grid", "factor_response_cpu_higgins_long",
         "metric_noise_cpu_higgins_long_beta8", "metric_noise_cpu_higgins_20k", "metric_noise_cpu_higgins_fresh",
         "metric_noise_cpu_higgins_20k_fresh", "metric_noise_cpu_higgins_30k_fresh",
         "metric_noise_cpu_higgins_40k_fresh",
         "disentanglement_study_gpu", "disentanglement_study_gpu_lease",
         "disentanglement_study_gpu_lease_tc", "disentanglement_study_gpu_lease_sbd",
         "disentanglement_study_gpu_lease_higgins", "outliers", "pretraining", "stacked",
         "semi_supervised", "latent_transfer", "attribute_vectors", "interpolation"]
REQUIRED = ["bottleneck", "denoising", "vae_likelihood", "beta_vae_sprites", "outliers", "pretraining"]
TITLES = {
    "bottleneck": "1. Bottleneck: what a small code loses",
    "denoising": "2. Denoising autoencoder",
    "vae_likelihood": "3. VAE: likelihood, samples and the rate–distortion trade-off",
    "fashion_likelihood": "3b. Fashion-MNIST likelihood at 100 epochs: VAE and IWAE, every model a sweep over seeds",
    "fashion_likelihood_h200": "3b′. The same protocol on an H200: the 784-500-20 IWAE k = 50 and its VAE, retrained "
                               "there so that their paired difference comes from one machine",
    "beta_vae_sprites": "4. β-VAE on sprites: disentanglement",
    "beta_vae_sprites_higgins": "4b. β-VAE on sprites at Higgins et al.'s MLP, on a GPU (10,000 updates)",
    "disentanglement_study_cpu": "4c. The disentanglement study on this CPU: many seeds, every setting a sweep",
    "disentanglement_study_cpu_beta": "4c′. The per-pixel β grid at 32×32 (β = 0.25 here is β = 1 at 64×64)",
    "disentanglement_study_cpu64": "4c″. The study at the literature's batch: 100,000 updates of 64 per model",
    "disentanglement_study_cpu64_mss": "4c″-MSS. The batch-64 study with β-TCVAE's stratified estimator (MSS)",
    "disentanglement_study_cpu_mss": "4c-MSS. The cpu study (batch 256) with β-TCVAE's stratified estimator",
    "disentanglement_study_cpu_mss_beta2": "4c-MSS′. The stratified β-TCVAE at β = 2 (a lighter TC weight, batch 256)",
    "disentanglement_study_cpu1024": "4c‴. The study at batch 1,024 (β-TCVAE's estimator): 6,250 updates per model",
    "disentanglement_study_cpu1024_mss_beta2": "4c‴-MSS′. The stratified β-TCVAE at β = 2 at batch 1,024",
    "disentanglement_study_cpu1024_long": "4c⁗. β-TCVAE at batch 1,024 for twice the updates (12,500 of 1,024)",
    "disentanglement_study_cpu1024_tc1": "4c⁗′. Is β-TCVAE at β = 1 the plain VAE? Both at batch 1,024, 5 seeds",
    "disentanglement_study_cpu1024_methods": "4c⁗″. AnnealedVAE and DIP-VAE-I/II at batch 1,024 against the same "
                                             "β = 1, 5 seeds",
    "disentanglement_study_cpu1024_wide": "4c⁗‴. The literature's 1200-1200 MLP at batch 1,024: β = 1 and β-TCVAE "
                                          "β = 6, 2,000 updates, 5 seeds",
    "disentanglement_study_cpu_conv": "4c⁗⁗. Locatello et al.'s conv net on the CPU's 32×32 sprites: β = 1 and "
                                      "β-TCVAE β = 6, 20,000 updates of 64, 5 seeds",
    "disentanglement_study_cpu1024_sbd": "4c-SBD. The spatial broadcast decoder at batch 1,024: β = 1 and β-TCVAE "
                                         "β = 6, 1,000 updates, 5 seeds",
    "disentanglement_study_cpu1024_sbd_grid": "4c-SBD′. The broadcast decoder's grid widened: β-VAE β ∈ {1, 2}, "
                                              "β-TCVAE β ∈ {3, 6}, 1,000 updates of 1,024, 5 seeds",
    "disentanglement_study_cpu1024_sbd_grid-3000steps": "4c-SBD″. Do the broadcast decoder's β-VAE scores stop "
                                                         "rising? β = 1 and β = 2 for 3,000 updates, seed 0",
    "disentanglement_study_cpu1024_sbd_long": "4c-SBD‴. The broadcast decoder at 3,000 updates of 1,024: β = 1 and "
                                              "β-VAE β = 2, 5 seeds",
    "disentanglement_study_cpu1024_sbd_long_tc": "4c-SBD⁗. β-TCVAE β = 6 at 3,000 updates of 1,024 beside 4c-SBD‴'s "
                                                 "β = 1, 5 seeds",
    "disentanglement_study_cpu1024_sbd_mss": "4c-SBD-MSS. The broadcast decoder with the stratified β-TCVAE at "
                                             "β ∈ {2, 3} beside 4c-SBD's β = 1, 1,000 updates of 1,024, 5 seeds",
    "disentanglement_study_cpu_higgins": "4c-H. Higgins et al.'s 64×64 MLP on the CPU as a study: β-VAE β ∈ {1, 4}, "
                                         "10,000 updates of 64, 5 seeds",
    "disentanglement_study_cpu_higgins_tc": "4c-H′. β-TCVAE β = 6 beside 4c-H's β-VAE β ∈ {1, 4} at Higgins et "
                                            "al.'s 64×64 MLP, 10,000 updates of 64, 5 seeds",
    "disentanglement_study_cpu_higgins_beta8": "4c-H″. β-VAE β = 8 beside 4c-H's β ∈ {1, 4} at Higgins et al.'s "
                                               "64×64 MLP, 10,000 updates of 64, 5 seeds",
    "disentanglement_study_cpu_higgins_grid": "4c-H‴. β-VAE β ∈ {1, 4, 6, 8} at Higgins et al.'s 64×64 MLP (4c-H's, "
                                              "4c-H″'s and β = 6), 10,000 updates of 64, 5 seeds",
    "disentanglement_study_cpu_higgins_long": "4c-H⁗. β-VAE β = 1 and β = 6 at Higgins et al.'s 64×64 MLP for "
                                              "15,000 updates of 64 (4c-H‴'s models continued), 5 seeds",
    "disentanglement_study_cpu_higgins_long_beta8": "4c-H⁵. β-VAE β = 8 continued to 15,000 updates of 64 beside "
                                                    "4c-H⁗'s β = 1 and β = 6, 5 seeds",
    "disentanglement_study_cpu_higgins_20k": "4c-H⁶. β-VAE β = 1 and β = 8 continued to 20,000 updates of 64 "
                                             "(4c-H⁗'s and 4c-H⁵'s models), 5 seeds",
    "disentanglement_study_cpu_higgins_fresh": "4c-H⁷. β-VAE β = 1 and β = 8 trained from scratch to 10,000 "
                                               "updates of 64 on fresh seeds 5–9: 4c-H⁶'s recipe replicated on "
                                               "models that played no part in choosing it (4c-H″'s budget)",
    "disentanglement_study_cpu_higgins_20k_fresh": "4c-H⁸. 4c-H⁷'s fresh seeds 5–9 continued to 20,000 updates of "
                                                   "64: 4c-H⁶'s budget on models that played no part in choosing it",
    "disentanglement_study_cpu_higgins_fresh_beta16": "4c-H⁹. β-VAE β = 16, the top of Locatello et al.'s grid, "
                                                      "beside 4c-H⁷'s β = 1 and β = 8 on the fresh seeds 5–9, "
                                                      "10,000 updates of 64",
    "disentanglement_study_cpu_higgins_30k_fresh": "4c-H¹⁰. 4c-H⁸'s fresh seeds 5–9 continued to 30,000 updates of "
                                                   "64: β = 8's scores still rose from 10,000 to 20,000",
    "disentanglement_study_cpu_higgins_40k_fresh": "4c-H¹¹. 4c-H¹⁰'s fresh seeds 5–9 continued to 40,000 updates of "
                                                   "64: β = 8's MIG still rose from 20,000 to 30,000",
    "factor_response_cpu1024_sbd_mss": "4c-R-SBD-MSS. How the stratified β-TCVAEs with the broadcast decoder encode "
                                       "the factors (β ∈ {2, 3}, 1,000 updates of 1,024)",
    "metric_confusion_cpu1024_sbd_mss": "4c-M″. The β-VAE metric's confusion for the stratified β-TCVAEs with the "
                                        "broadcast decoder (1,000 updates of 1,024)",
    "factor_response_cpu_higgins_tc": "4c-R-H. How Higgins et al.'s 64×64 MLP encodes the factors (β-VAE β ∈ {1, 4}, "
                                      "β-TCVAE β = 6, 10,000 updates of 64)",
    "factor_response_cpu_higgins_grid": "4c-R-H′. How the β-VAEs at Higgins et al.'s 64×64 MLP encode the factors "
                                        "(β ∈ {1, 4, 6, 8}, 10,000 updates of 64)",
    "factor_response_cpu_higgins_long": "4c-R-H″. How β = 1 and β = 6 at Higgins et al.'s 64×64 MLP encode the "
                                        "factors after 15,000 updates of 64 (4c-H⁗'s models)",
    "metric_noise_cpu_higgins_long_beta8": "4c-N. Do 4c-H⁵'s paired verdicts outlive the metrics' own sampling? The "
                                           "FactorVAE metric redrawn from fresh keys",
    "metric_noise_cpu_higgins_20k": "4c-N′. Do 4c-H⁶'s paired verdicts outlive the metrics' own sampling? The "
                                    "FactorVAE metric redrawn from fresh keys",
    "metric_noise_cpu_higgins_fresh": "4c-N″. Do 4c-H⁷'s paired verdicts outlive the metrics' own sampling? The "
                                      "FactorVAE metric redrawn from fresh keys",
    "metric_noise_cpu_higgins_20k_fresh": "4c-N‴. Do 4c-H⁸'s paired verdicts outlive the metrics' own sampling? "
                                          "The FactorVAE metric redrawn from fresh keys",
    "metric_noise_cpu_higgins_30k_fresh": "4c-N⁗. Do 4c-H¹⁰'s paired verdicts outlive the metrics' own sampling? "
                                          "The β-VAE and FactorVAE metrics redrawn from fresh keys",
    "metric_noise_cpu_higgins_40k_fresh": "4c-N⁵. Does 4c-H¹¹'s thinnest margin (seed 9's β-VAE metric, +0.002) "
                                          "outlive the metric's own sampling? The β-VAE metric redrawn from fresh "
                                          "keys",
    "factor_response_cpu1024_long": "4c-R. How the factors are encoded: the mean code against each factor (β = 1 and "
                                    "β-TCVAE β = 6, 12,500 updates of 1,024)",
    "factor_response_cpu1024_methods": "4c-R′. How AnnealedVAE and DIP-VAE encode the factors (3,750 updates of "
                                       "1,024)",
    "factor_response_cpu1024_wide": "4c-R″. How the 1200-1200 MLP encodes the factors (2,000 updates of 1,024)",
    "factor_response_cpu_conv": "4c-R‴. How the conv net encodes the factors (20,000 updates of 64)",
    "factor_response_cpu1024_sbd": "4c-R-SBD. How the spatial broadcast decoder's VAEs encode the factors (1,000 "
                                   "updates of 1,024)",
    "factor_response_cpu1024_sbd_grid": "4c-R-SBD′. How the broadcast decoder's β-VAEs and β-TCVAEs encode the "
                                        "factors across β (1,000 updates of 1,024)",
    "metric_confusion_cpu1024_sbd_grid": "4c-M. Where the β-VAE metric is lost: its classifier's confusion between "
                                         "the factors (broadcast decoder, 1,000 updates of 1,024)",
    "factor_response_cpu1024_sbd_long": "4c-R-SBD″. How the broadcast decoder's VAEs encode the factors after 3,000 "
                                        "updates of 1,024",
    "metric_confusion_cpu1024_sbd_long": "4c-M′. The β-VAE metric's confusion after 3,000 updates of 1,024 (broadcast "
                                         "decoder)",
    "disentanglement_study_gpu": "4d. The disentanglement study at Locatello et al.'s setup (accelerator)",
    "disentanglement_study_gpu_lease": "4d′. Locatello et al.'s conv setup cut to one GPU lease (20,000 updates)",
    "disentanglement_study_gpu_lease_tc": "4d″. β-TCVAE β ∈ {1, 6} at Locatello et al.'s conv setup, one GPU lease",
    "disentanglement_study_gpu_lease_sbd": "4d‴. β-TCVAE β ∈ {1, 6} with the spatial broadcast decoder behind "
                                           "Locatello et al.'s conv encoder, one GPU lease",
    "disentanglement_study_gpu_lease_higgins": "4d⁗. Higgins et al.'s 64×64 MLP in the study: β-VAE β ∈ {1, 4}, "
                                               "β-TCVAE β = 6, 20,000 updates of 64, one GPU lease",
    "outliers": "5. Outlier detection",
    "pretraining": "6. Pre-training: linear probes on the codes",
    "stacked": "Stacked autoencoder: greedy pre-training vs end-to-end",
    "semi_supervised": "Semi-supervised fine-tuning with few labels",
    "latent_transfer": "Latent factor transfer on sprites",
    "attribute_vectors": "Attribute vectors on Fashion-MNIST",
    "interpolation": "Latent interpolation",
}


def _cell(v: Any) -> str:
  if isinstance(v, dict) and "mean" in v and "std" in v:
    digits = 3 if abs(v["mean"]) < 10 else 1
    return sweeps.fmt(v, digits) + (f" (n={v['n']})" if v.get("n", 3) < 3 else "")
  if isinstance(v, float):
    if not math.isfinite(v):
      return "—"
    return f"{v:.3f}" if abs(v) < 10 else f"{v:.1f}"
  if isinstance(v, (list, tuple)):
    return ", ".join(_cell(x) for x in v)
  return "" if v is None else str(v)


def _markdown_table(columns: list[str], rows: list[list[Any]]) -> str:
  esc = lambda text: str(text).replace("|", "\\|")  # noqa: E731  (a "|" in a cell would split it)
  out = ["| " + " | ".join(esc(c) for c in columns) + " |", "|" + "---|" * len(columns)]
  out += ["| " + " | ".join(esc(_cell(c)) for c in row) + " |" for row in rows]
  return "\n".join(out)


def render_table(value: Any) -> str:
  """A table in any of the three shapes ``sweeps.write_results`` documents; anything else as JSON."""
  if isinstance(value, dict) and "columns" in value and "rows" in value:
    return _markdown_table(value["columns"], value["rows"])
  if isinstance(value, list) and value and all(isinstance(r, dict) for r in value):
    cols = list(dict.fromkeys(k for r in value for k in r))
    return _markdown_table(cols, [[r.get(c) for c in cols] for r in value])
  if isinstance(value, dict) and value and all(isinstance(r, dict) and not {"mean", "std"} <= set(r)
                                               for r in value.values()):
    cols = list(dict.fromkeys(k for r in value.values() for k in r))
    return _markdown_table(["", *cols], [[name, *[r.get(c) for c in cols]] for name, r in value.items()])
  return "```json\n" + json.dumps(value, indent=1)[:4000] + "\n```"


def render(results: dict[str, Any], report_dir: str) -> str:
  name = results["experiment"]
  env = results.get("environment", {})
  lines = [f"## {TITLES.get(name, name)}", ""]
  lines.append(f"Command: `{results['command']}`  ")
  wall, compute = results["wall_time_s"], results.get("compute_time_s")
  reused = (f" (this invocation; its numbers rest on {compute / 60:.1f} min of training and scoring, recorded by the "
            "invocations that did it and reused from the runs folder)" if compute and compute > 1.05 * wall else "")
  lines.append(f"Size: {results['size']}; seeds: {results.get('seeds')}; wall time: {wall / 60:.1f} min{reused} on "
               f"{env.get('cpu_count', '?')}-core {env.get('platform', '?')} ({env.get('device_kind', '?')}, "
               f"{env.get('host', '?')}); finished {results.get('finished', '?')}.")
  lines.append("")
  lines += [f"**{n}**\n" for n in results.get("notes", []) if n.startswith("Partial:")]  # a cut run's: said first
  for caption, value in results.get("tables", {}).items():
    lines += [f"**{caption}**", "", render_table(value), ""]
  for note in results.get("notes", []):
    lines.append(f"> {note}")
  if results.get("notes"):
    lines.append("")
  for fig in results.get("figures", []):
    path = os.path.relpath(os.path.join(sweeps.ROOT, fig), report_dir)
    lines.append(f"![{os.path.basename(fig)}]({path})")
  lines.append("")
  return "\n".join(lines)


def main(argv: list[str] | None = None) -> str:
  p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  p.add_argument("--results-dir", default=sweeps.RESULTS_DIR)
  p.add_argument("--out", default=os.path.join(sweeps.ROOT, "experiments", "REPORT.md"))
  args = p.parse_args(argv)
  files = glob.glob(os.path.join(args.results_dir, "*.json"))
  loaded = {}
  for path in files:
    with open(path) as f:
      data = json.load(f)
    if "experiment" in data:
      loaded[data["experiment"]] = data
  names = [n for n in ORDER if n in loaded] + sorted(n for n in loaded if n not in ORDER)
  missing = [n for n in REQUIRED if n not in loaded]
  parts = ["# vae_jax results report", "",
           "Generated by `python -m experiments.report` from "
           f"`{os.path.relpath(args.results_dir, sweeps.ROOT)}/*.json`. "
           "Each section names the command that produced its numbers, the seeds (mean ± sample std over seeds), "
           "the machine and the wall time.", ""]
  if missing:
    parts += [f"Not yet run at this size: {', '.join(missing)}.", ""]
  report_dir = os.path.dirname(os.path.abspath(args.out))
  sections = [render(loaded[n], report_dir) for n in names]
  first_study = next((i for i, n in enumerate(names) if n.startswith(study_overview.PREFIX)), None)
  if first_study is not None:  # the study at a glance, ahead of its sizes' sections
    sections.insert(first_study, study_overview.section(loaded, names, TITLES, report_dir))
  parts += sections
  text = "\n".join(parts)
  os.makedirs(report_dir, exist_ok=True)
  with open(args.out, "w") as f:
    f.write(text)
  print(f"wrote {args.out} ({len(names)} experiments)")
  if os.path.abspath(args.results_dir) == os.path.abspath(sweeps.RESULTS_DIR):  # the committed results: the README too
    claims.main([])
  return text


if __name__ == "__main__":
  main()
