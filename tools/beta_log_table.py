"""Mean ± std table of a ``beta_vae_sprites`` log: for runs whose script did not get to write its results JSON.

    python -m tools.beta_log_table experiments/results/gpu/beta_vae_sprites_higgins_7models.log

Reads the per-run lines the script logs (``<variant> seed <k>: {metrics} (train … s, metrics … s)``), one run per
(variant, seed), and prints the headline metrics per variant (mean ± sample std over the seeds present) and, for
each β > 1 and β-TCVAE with every seed of β = 1, the metrics on which it beats β = 1 on every seed.
"""

from __future__ import annotations

import argparse
import ast
import re
import sys

import numpy as np

from experiments import sweeps
from experiments.configs import beta_vae_sprites as configs

LINE = re.compile(r"__main__ (\w+) seed (\d+): (\{.*?\}) \(train")
KEYS = ("beta_vae", "factor_vae", "mig", "dci_d", "dci_c", "dci_i", "kl", "active")
HEADLINE = ("beta_vae", "factor_vae", "mig", "dci_d")


def parse(lines) -> dict[str, dict[int, dict]]:
  """``{variant: {seed: metrics}}`` from log lines; a later line for the same run replaces an earlier one."""
  runs: dict[str, dict[int, dict]] = {}
  for line in lines:
    m = LINE.search(line)
    if m:
      runs.setdefault(m.group(1), {})[int(m.group(2))] = ast.literal_eval(m.group(3))
  return runs


def table(runs: dict[str, dict[int, dict]]) -> str:
  order = list(configs.variants(configs.get_config("smoke")))
  runs = dict(sorted(runs.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else len(order)))
  out = ["| model | seeds | " + " | ".join(KEYS) + " |", "|---|---|" + "---|" * len(KEYS)]
  for variant, by_seed in runs.items():
    seeds = sorted(by_seed)
    cells = [sweeps.fmt(sweeps.mean_std([by_seed[s][k] for s in seeds]), 3) for k in KEYS]
    out.append(f"| {variant} | {', '.join(map(str, seeds))} | " + " | ".join(cells) + " |")
  base = runs.get("beta1", {})
  for variant, by_seed in runs.items():
    common = sorted(set(by_seed) & set(base))
    if variant == "beta1" or len(common) < len(base) or not base:
      continue
    wins = [k for k in HEADLINE if all(by_seed[s][k] > base[s][k] for s in common)]
    mean_delta = {k: float(np.mean([by_seed[s][k] - base[s][k] for s in common])) for k in HEADLINE}
    out.append(f"\n{variant} vs beta1 (seeds {common}): higher on every seed for {wins or 'none'}; mean difference "
               + ", ".join(f"{k} {v:+.3f}" for k, v in mean_delta.items()))
  return "\n".join(out)


def main(argv: list[str] | None = None) -> str:
  p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  p.add_argument("log", help="a log of python -m experiments.beta_vae_sprites (or scripts/gpu_check.sh beta)")
  args = p.parse_args(argv)
  with open(args.log) as f:
    runs = parse(f)
  if not runs:
    sys.exit(f"{args.log}: no per-run lines ('<variant> seed <k>: {{...}} (train ...') found")
  text = table(runs)
  print(text)
  return text


if __name__ == "__main__":
  main()
