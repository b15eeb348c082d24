"""Factor transfer by latent swapping on procedural sprites: β-VAE vs VAE.

Protocol. A β-VAE (β = 4) and a plain VAE (β = 1) are trained with the one loop on procedural dSprites
(``data.name="sprites"``) at 32×32: MLP encoder 1024-512-256 → 10-d Gaussian posterior, mirrored decoder,
Bernoulli likelihood, Adam 1e-3, batch 64, fresh sprites every step. Then, per model and seed:

1. DCI (:func:`vae_jax.evaluation.dci`, gradient-boosted trees) on posterior means of random sprites gives the
   importance matrix; factors with more than 8 values (orientation, pos_x, pos_y) are binned to 8 classes first,
   which keeps the trees affordable and only coarsens which dimension is found to carry the factor.
   :func:`vae_jax.latent.factor_latents` (``threshold=0.2``: every dimension holding ≥ 20 % of the factor's
   importance) turns it into the latent dimensions of each factor.
2. For each factor, random pairs (source, target) that differ in that factor: the source code with the factor's
   dimensions copied from the target (:func:`vae_jax.latent.swap_factors`) is decoded and compared with the
   ground-truth rendering of the source's factors with that one factor taken from the target:
   **IoU** of the decode binarized at 0.5 against the truth, and **BCE** (nats per image) of the decoder logits.
3. References on the same pairs: *source* (the unedited source decode: no transfer), *random dims* (as many
   randomly chosen dimensions swapped: is the DCI choice better than chance?), and *oracle* (the reconstruction of
   the ground-truth image itself: the best a decoder of this quality can do).

Commands (from the repository root)::

    nice -n 5 .venv/bin/python -m experiments.latent_transfer --size full
    .venv/bin/python -m experiments.latent_transfer --size quick
    .venv/bin/python -m experiments.latent_transfer --size smoke

Sizes: ``full``: 8000 training steps (512 k sprites), DCI on 2000 + 1000 codes with 30 boosting stages, 500 pairs
per factor, 3 seeds. ``quick``: 1000 steps, DCI 1000 + 500 codes × 10 stages, 200 pairs. ``smoke``: 4 steps of a
32-unit MLP.

Expected result (if the β-VAE disentangles): its position factors sit in one latent each, so swapping them moves
the sprite to the target's position (IoU well above the *source* and *random dims* references, towards the
*oracle*), while the VAE's entangled code transfers less. Whether either model is disentangled at this length is
what the DCI table and the latent dimensions chosen per factor show; IoU and BCE per factor and reference, DCI and
the chosen dimensions per seed (3 seeds): ``experiments/results/latent_transfer.json`` (per-seed importance matrices
in ``experiments/results/latent_transfer_details.json``), the "Latent factor transfer" section of
``experiments/REPORT.md``; reading: ``experiments/NOTES.md`` (Latent transfer). The β-VAE papers train ≈ 10⁵–10⁶
steps; expect the separation only with far longer runs (``--size full`` here is 8000 steps because of the CPU
budget).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os

import jax
import numpy as np

from experiments import report, sweeps
from vae_jax import plots
from vae_jax.configs import Config, DataConfig, ModelConfig, OptimizerConfig
from vae_jax.methods import beta_vae, vae
from vae_jax.data import sprites
from vae_jax.evaluation import factor_swap

NAME = "latent_transfer"
RESOLUTION = 32
MAX_CLASSES = 8  # factors with more values are binned to this many classes for DCI
THRESHOLD = 0.2  # factor_latents rule


@dataclasses.dataclass(frozen=True)
class Size:
  num_steps: int
  log_every: int
  hidden: tuple[int, ...]
  latent_dim: int
  batch_size: int
  dci_train: int
  dci_test: int
  dci_estimators: int
  num_pairs: int


SIZES = {
    "full": Size(num_steps=8000, log_every=250, hidden=(512, 256), latent_dim=10, batch_size=64, dci_train=2000,
                 dci_test=1000, dci_estimators=30, num_pairs=500),
    "quick": Size(num_steps=1000, log_every=250, hidden=(512, 256), latent_dim=10, batch_size=64, dci_train=1000,
                  dci_test=500, dci_estimators=10, num_pairs=200),
    "smoke": Size(num_steps=4, log_every=2, hidden=(32,), latent_dim=4, batch_size=32, dci_train=200, dci_test=100,
                  dci_estimators=2, num_pairs=16),
}


def configs(size: str) -> dict[str, Config]:
  s = SIZES[size]
  base = Config(
      model=ModelConfig(kind="vae", architecture="mlp", hidden=s.hidden, latent_dim=s.latent_dim,
                        likelihood="bernoulli"),
      method=vae.Config(),
      optimizer=OptimizerConfig(name="adam", learning_rate=1e-3),
      data=DataConfig(name="sprites", resolution=RESOLUTION, num_test=500 if size != "smoke" else 64),
      batch_size=s.batch_size, num_steps=s.num_steps, log_every=s.log_every, eval_every=s.num_steps,
      checkpoint_every=s.num_steps, keep_checkpoints=1, eval_batch_size=250 if size != "smoke" else 64,
      figures=False, tensorboard=False, progress=size == "full")
  return {"beta_vae": dataclasses.replace(base, method=beta_vae.Config(beta=4.0)), "vae": base}


def evaluate_model(model, params, key: jax.Array, s: Size) -> dict:
  """DCI → factor latents → swap/decode/score for every factor (:func:`vae_jax.evaluation.factor_swap`)."""
  return factor_swap(key, model, params, resolution=RESOLUTION, dci_train=s.dci_train, dci_test=s.dci_test,
                     dci_estimators=s.dci_estimators, num_pairs=s.num_pairs, threshold=THRESHOLD,
                     max_classes=MAX_CLASSES)


def _figure(examples: dict, path: str, title: str) -> str:
  rows = []
  for name, (src, tgt, transferred, truth) in examples.items():
    rows += [(f"{name}: source", src), ("target", tgt), ("transferred", transferred), ("ground truth", truth)]
  return str(plots.labelled_rows(rows, path, title=title, cell_inches=0.55))  # labelled image rows


def main(argv: list[str] | None = None) -> str:
  """Runs the experiment; returns the path of the results JSON."""
  setup = sweeps.begin(sweeps.parser(__doc__.split("\n")[0]), NAME, argv)
  args, seed_list = setup.args, setup.seeds
  s = SIZES[args.size]
  variants = configs(args.size)
  runs = sweeps.train_runs(NAME, variants, seed_list, args.runs_root, size=args.size, workers=args.workers)
  per_seed: dict[str, dict[int, dict]] = {}
  figures = []
  for variant in variants:
    per_seed[variant] = {}
    for seed in seed_list:
      res = runs[variant][seed]
      params = jax.device_get(res["state"].params)
      out = evaluate_model(res["model"], params, jax.random.fold_in(jax.random.key(seed), 7), s)
      logging.info("%s seed %d: DCI %s, factor latents %s", variant, seed, out["dci"], out["factor_latents"])
      if seed == seed_list[0]:
        figures.append(_figure(out.pop("examples"), os.path.join(setup.figures_dir, f"{NAME}_{variant}.png"),
                               f"{variant}: swap the factor's latents of source ← target (seed {seed})"))
      else:
        out.pop("examples")
      out["eval"] = res["eval"]
      per_seed[variant][seed] = out

  methods = ("swap", "random dims", "source", "oracle")

  def cell(variant, name, method, metric):
    names = sprites.FACTOR_NAMES if name == "mean" else (name,)
    return sweeps.mean_std([np.mean([per_seed[variant][sd]["factors"][n][method][metric] for n in names])
                            for sd in seed_list])

  columns = ["model", "factor", "swap (DCI dims)", "swap (random dims)", "source (no transfer)",
             "oracle (recon. of truth)"]
  tables = {}
  for metric, caption in (("iou", "IoU of the binarized decode with the ground truth (higher is better)"),
                          ("bce", "BCE of the decode against the ground truth, nats per image (lower is better)")):
    tables[caption] = sweeps.table(columns, [[variant, name, *(cell(variant, name, m, metric) for m in methods)]
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
  for caption, t in tables.items():
    print(f"{caption}\n{report.render_table(t)}\n")
  notes = [f"factor_latents rule: threshold={THRESHOLD} of each factor's DCI importance; {s.num_pairs} pairs per "
           f"factor; {s.num_steps} training steps of batch {s.batch_size}; {len(seed_list)} seed(s).",
           f"Per-seed importance matrices: {NAME}_details.json next to this file."]
  os.makedirs(setup.results_dir, exist_ok=True)
  with open(os.path.join(setup.results_dir, f"{NAME}_details.json"), "w") as f:
    json.dump({"per_seed": {v: {str(sd): o for sd, o in d.items()} for v, d in per_seed.items()},
               "size": dataclasses.asdict(s)}, f, indent=1,
              default=lambda o: o.item() if hasattr(o, "item") else str(o))
  path = sweeps.write_results(
      setup.results_dir, NAME, args=args, command=setup.command, started=setup.started,
      tables=tables, figures=figures, notes=notes)
  logging.info("wrote %s", path)
  return path


if __name__ == "__main__":
  # force: absl/orbax install a root handler at import time, which would swallow INFO progress lines
  logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", force=True)
  logging.getLogger("absl").setLevel(logging.WARNING)  # Orbax logs every checkpoint save at INFO through absl
  main()
