"""Runs every experiment script at one size, then regenerates the report.

    python -m experiments.run_all --size quick     # 12 scripts, minutes on a 2-core CPU (README.md, Quickstart);
                                                   # report in runs/quick-results/REPORT.md
    python -m experiments.run_all --size full      # the report's numbers (hours on a 2-core CPU)
    python -m experiments.run_all --seeds 1        # every script with one seed (a faster check)

Each script runs in its own process (a failure is reported and the others still run); the exit code is non-zero
if any failed.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

from experiments import arg_types, report, sweeps

SCRIPTS = ["bottleneck", "denoising", "vae_likelihood", "fashion_likelihood", "beta_vae_sprites", "outliers",
           "pretraining", "stacked", "semi_supervised", "latent_transfer", "attribute_vectors", "interpolation"]


def main(argv: list[str] | None = None) -> int:
  p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  p.add_argument("--size", choices=sweeps.SIZES, default="quick")
  p.add_argument("--only", nargs="*", default=None, help="a subset of the scripts")
  p.add_argument("--runs-root", default=os.path.join(sweeps.ROOT, "runs"))
  p.add_argument("--seeds", type=arg_types.at_least(1), default=None,
                 help="seeds of every script (default: each script's own)")
  args = p.parse_args(argv)
  names = args.only or SCRIPTS
  failed = []
  for name in names:
    t0 = time.time()
    cmd = [sys.executable, "-m", f"experiments.{name}", "--size", args.size, "--runs-root", args.runs_root,
           *(["--seeds", str(args.seeds)] if args.seeds is not None else [])]
    print(f"[run_all] {' '.join(cmd[1:])}", flush=True)
    rc = subprocess.call(cmd, cwd=sweeps.ROOT)
    print(f"[run_all] {name}: {'ok' if rc == 0 else f'FAILED (exit {rc})'} in {time.time() - t0:.0f} s", flush=True)
    if rc:
      failed.append(name)
  if args.size == "full":
    out_dir = sweeps.RESULTS_DIR
    out = os.path.join(sweeps.ROOT, "experiments", "REPORT.md")
  else:
    out_dir = os.path.join(args.runs_root, f"{args.size}-results")
    out = os.path.join(out_dir, "REPORT.md")
  report.main(["--results-dir", out_dir, "--out", out])
  if failed:
    print(f"[run_all] failed: {', '.join(failed)}", file=sys.stderr)
  return 1 if failed else 0


if __name__ == "__main__":
  sys.exit(main())
