"""Evaluates a trained run: every applicable metric (JSON) and figure, written to ``<workdir>/evaluation/``.

    python -m experiments.evaluate --workdir runs/vae_fashion              # a VAE on Fashion-MNIST
    python -m experiments.evaluate --workdir runs/bvae_sprites --num-samples 100
    python -m experiments.evaluate --workdir runs/vae_fashion --ood-dir /data/kmnist   # another outlier set

What applies is read from the run (``vae_jax.evaluation.trained_run``): reconstruction metrics and figures for
every model; the importance-sampled NLL (``--num-samples`` K, default 1000; 5000 is the literature's setting), ELBO,
samples, KL bars and traversals for a stochastic encoder; denoising for a corrupting method; a linear probe for
labelled data; outlier AUROC/AUPRC against ``--ood-dir`` (any MNIST-format IDX directory holding
``t10k-images-idx3-ubyte[.gz]`` with images of the run's size; by default the MNIST test set for a Fashion-MNIST
run); the disentanglement metrics for sprites.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys

from experiments import arg_types
from vae_jax.evaluation import trained_run


def main(argv: list[str] | None = None) -> dict:
  p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  p.add_argument("--workdir", required=True, help="a run directory written by experiments.main")
  p.add_argument("--num-samples", type=arg_types.at_least(1), default=1000, help="importance samples K for the IS-NLL")
  p.add_argument("--num-images", type=arg_types.at_least(1), default=10_000, help="test images for the IS-NLL")
  p.add_argument("--probe-train", type=arg_types.at_least(1), default=10_000,
                 help="training codes for the linear probe")
  p.add_argument("--disentanglement-samples", type=arg_types.at_least(1), default=5000)
  p.add_argument("--ood-dir", default=None,
                 help="MNIST-format IDX directory whose t10k-images-idx3-ubyte[.gz] is the outlier set "
                      "(default: the MNIST test set, for Fashion-MNIST runs)")
  p.add_argument("--out", default=None, help="output folder (default <workdir>/evaluation)")
  args = p.parse_args(argv)
  logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
  logging.getLogger("absl").setLevel(logging.WARNING)
  if not os.path.exists(os.path.join(args.workdir, "config.json")):
    raise SystemExit(f"--workdir {args.workdir!r} is not a vae_jax run (no config.json); train one with "
                     "python -m experiments.main first.")
  results = trained_run.evaluate_run(
      args.workdir, num_samples=args.num_samples, num_images=args.num_images, probe_train=args.probe_train,
      disentanglement_samples=args.disentanglement_samples, ood_dir=args.ood_dir, out_dir=args.out,
      command=" ".join(["python -m experiments.evaluate", *(sys.argv[1:] if argv is None else argv)]))
  print(json.dumps({k: v for k, v in results.items() if k != "environment"}, indent=1, default=str)[:4000])
  return results


if __name__ == "__main__":
  main()
