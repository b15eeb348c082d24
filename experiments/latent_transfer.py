"""Factor transfer by latent swapping on procedural sprites: β-VAE vs VAE.

    nice -n 5 .venv/bin/python -m experiments.latent_transfer --size full
    .venv/bin/python -m experiments.latent_transfer --size quick
    .venv/bin/python -m experiments.latent_transfer --size smoke

The protocol and the expected result: ``experiments/configs/latent_transfer.py``.
"""

from __future__ import annotations

import json
import logging
import os

import jax
import numpy as np

from experiments import sweeps
from vae_jax import plots
from vae_jax.data import sprites
from vae_jax.evaluation import factor_swap

NAME = "latent_transfer"
METHODS = ("swap", "random dims", "source", "oracle")


def main(argv: list[str] | None = None) -> str:
  """Runs the experiment; returns the path of the results JSON."""
  setup = sweeps.begin(sweeps.parser(__doc__, NAME), NAME, argv)
  args, seed_list = setup.args, setup.seeds
  cfg = sweeps.load_config(NAME, args.size)
  variants = sweeps.variants(NAME, cfg)
  runs = sweeps.train_runs(NAME, variants, seed_list, args.runs_root, size=args.size, workers=args.workers)
  per_seed: dict[str, dict[int, dict]] = {variant: {} for variant in variants}
  figures = []
  for variant in variants:
    for seed in seed_list:
      res = runs[variant][seed]
      out = factor_swap(jax.random.fold_in(jax.random.key(seed), 7), res["model"], jax.device_get(res["state"].params),
                        resolution=cfg.resolution, dci_train=cfg.dci_train, dci_test=cfg.dci_test,
                        dci_estimators=cfg.dci_estimators, num_pairs=cfg.num_pairs, threshold=cfg.threshold,
                        max_classes=cfg.max_classes)
      logging.info("%s seed %d: DCI %s, factor latents %s", variant, seed, out["dci"], out["factor_latents"])
      examples = out.pop("examples")
      if seed == seed_list[0]:
        rows = [row for name, (src, tgt, moved, truth) in examples.items()
                for row in ((f"{name}: source", src), ("target", tgt), ("transferred", moved), ("ground truth", truth))]
        figures.append(str(plots.labelled_rows(
            rows, os.path.join(setup.figures_dir, f"{NAME}_{variant}.png"), cell_inches=0.55,
            title=f"{variant}: swap the factor's latents of source ← target (seed {seed})")))
      per_seed[variant][seed] = {**out, "eval": res["eval"]}

  def cell(variant, name, method, metric):
    names = sprites.FACTOR_NAMES if name == "mean" else (name,)
    return sweeps.mean_std([np.mean([per_seed[variant][sd]["factors"][n][method][metric] for n in names])
                            for sd in seed_list])

  columns = ["model", "factor", "swap (DCI dims)", "swap (random dims)", "source (no transfer)",
             "oracle (recon. of truth)"]
  tables = {}
  for metric, caption in (("iou", "IoU of the binarized decode with the ground truth (higher is better)"),
                          ("bce", "BCE of the decode against the ground truth, nats per image (lower is better)")):
    tables[caption] = sweeps.table(columns, [[variant, name, *(cell(variant, name, m, metric) for m in METHODS)]
                                             for variant in variants for name in (*sprites.FACTOR_NAMES, "mean")])
  dci_keys = ("disentanglement", "completeness", "informativeness_test")
  tables["DCI (factors binned to at most 8 classes)"] = sweeps.table(
      ["model", "disentanglement", "completeness", "informativeness (test accuracy)"],
      [[variant, *(sweeps.mean_std([per_seed[variant][sd]["dci"][k] for sd in seed_list]) for k in dci_keys)]
       for variant in variants])
  tables["Latent dimensions chosen per factor"] = sweeps.table(
      ["model", "seed", *sprites.FACTOR_NAMES],
      [[variant, sd, *(str(per_seed[variant][sd]["factor_latents"][n]) for n in sprites.FACTOR_NAMES)]
       for variant in variants for sd in seed_list])
  notes = [f"factor_latents rule: threshold={cfg.threshold} of each factor's DCI importance; {cfg.num_pairs} pairs "
           f"per factor; {cfg.num_steps} training steps of batch {cfg.batch_size}; {len(seed_list)} seed(s).",
           f"Per-seed importance matrices: {NAME}_details.json next to this file."]
  os.makedirs(setup.results_dir, exist_ok=True)
  with open(os.path.join(setup.results_dir, f"{NAME}_details.json"), "w") as f:
    json.dump({"per_seed": {v: {str(sd): o for sd, o in d.items()} for v, d in per_seed.items()},
               "size": cfg.to_dict()}, f, indent=1, default=lambda o: o.item() if hasattr(o, "item") else str(o))
  path = sweeps.write_results(setup.results_dir, NAME, args=args, command=setup.command, started=setup.started,
                              tables=tables, figures=figures, notes=notes)
  logging.info("wrote %s", path)
  return path


if __name__ == "__main__":
  sweeps.run_script(main, verbose=("vae_jax",))
