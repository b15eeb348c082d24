#!/usr/bin/env bash
# The README's main command: set everything up, then run the quick version of every experiment (the article's
# claims, each at a small size, on the offline Fashion-MNIST and the procedural sprites) and write their report to
# runs/quick-results/REPORT.md. Extra arguments go to experiments.run_all (e.g. --only bottleneck denoising).
# The full-size numbers are in experiments/REPORT.md; a single 30-second VAE run is
#   .venv/bin/python -m experiments.main --config experiments/configs/quickstart.py --workdir runs/quickstart
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/python -m experiments.run_all --size quick "$@"
echo "[quickstart] report: runs/quick-results/REPORT.md (figures in runs/quick-results/figures/)"
echo "[quickstart] full-size results: experiments/REPORT.md"
