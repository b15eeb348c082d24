#!/usr/bin/env bash
# Sets up everything vae_jax needs on a Debian machine with Python 3.11:
#   the Debian data package (full Fashion-MNIST, offline), oneDNN and g++ (CPU convolutions, Adam), a virtualenv in
#   .venv, the pinned requirements, and vae_jax itself (editable). Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

need_apt=()
[ -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] || need_apt+=(dataset-fashion-mnist)
python3 -c "import ensurepip, venv" 2>/dev/null || need_apt+=(python3-venv)
# oneDNN's convolutions and the one-pass Adam for XLA:CPU (vae_jax/onednn_conv.py and vae_jax/fused_adam.py build
# their handlers with g++ on first use; without them the CPU keeps XLA's slower convolutions and optax's update).
[ -f /usr/include/dnnl.hpp ] || need_apt+=(libdnnl-dev)
command -v g++ >/dev/null || need_apt+=(g++)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "[setup] apt-get install ${need_apt[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  echo "[setup] creating .venv"
  python3 -m venv .venv
fi
if ! .venv/bin/python -c "import vae_jax, jax, flax, optax, orbax.checkpoint, tensorflow_datasets, pytest" 2>/dev/null \
   || [ requirements.txt -nt .venv/.installed ]; then
  echo "[setup] pip install -r requirements.txt (first run: a few minutes)"
  .venv/bin/pip install -q --disable-pip-version-check -r requirements.txt
  .venv/bin/pip install -q --disable-pip-version-check --no-deps -e .
  touch .venv/.installed
fi
echo "[setup] ready: $(.venv/bin/python -c 'import jax, flax; print("jax", jax.__version__, "flax", flax.__version__, "devices", jax.devices())')"
