#!/usr/bin/env bash
# Fashion-MNIST at a real budget (issue #18, first part): the Flax example's VAE (784-500-20, Bernoulli, Adam 1e-3,
# batch 128, dynamic binarization) for 100 epochs (46,800 updates), seeds 0-2, each followed by experiments.evaluate
# (IS-NLL with K = 5000 on all 10,000 test images, ELBO, probes, outliers vs MNIST). Runs go to runs/fashion100/;
# copy results.json, metrics.jsonl, the figures and evaluation/ into experiments/results/fashion100/seed<S>/.
#   bash scripts/fashion_long.sh            # all three seeds (≈ 25 min training + 4 min IS-NLL per seed, idle 2-core CPU)
#   SEEDS="0" bash scripts/fashion_long.sh  # one seed
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
for s in ${SEEDS:-0 1 2}; do
  wd=runs/fashion100/vae/seed$s
  $PY -m experiments.main --config experiments/configs/flax_vae_fashion.py --workdir "$wd" \
    --config.num_steps 46800 --config.seed "$s" --config.progress false
  $PY -m experiments.evaluate --workdir "$wd" --num-samples 5000 --num-images 10000
done
