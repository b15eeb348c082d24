#!/usr/bin/env bash
# The README's main command: set everything up, then train the Flax example's MLP VAE on Fashion-MNIST for two
# epochs, printing the losses, and leave its checkpoints, curves, figures and results.json in runs/quickstart.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/python -m experiments.main --config experiments/configs/quickstart.py --workdir runs/quickstart "$@"
echo "[quickstart] outputs in runs/quickstart: results.json, metrics.jsonl, curves.png, samples.png, reconstructions.png"
