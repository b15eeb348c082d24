"""Linear vs spherical interpolation between VAE codes on Fashion-MNIST, as figures and code-norm profiles.

Protocol. The VAE is the one of ``experiments/semi_supervised.py`` (MLP 784-500-20, grey Fashion-MNIST,
Bernoulli; the same run directory). Between two codes, :func:`vae_jax.latent.interpolate` gives ``linear`` and
``slerp`` paths (great circle of the directions, norm interpolated linearly), each decoded to images:

* **test pairs**: posterior means of two test images of different classes;
* **prior pairs**: two draws from the prior N(0, I), where the two methods differ most: independent Gaussian
  vectors in 20-d are nearly orthogonal with norm ≈ √20, so the linear midpoint has norm ≈ √10, a region the prior
  (and so the decoder) rarely sees; slerp keeps the norm.

Reported per method, mean ± std over seeds (each seed: its own VAE and pairs): the path's code norm relative to its
endpoints (at the midpoint, and the minimum along the path), and where the midpoint's squared norm falls in the
prior's χ² distribution (≈ 0.5 for a typical prior draw). Figures: one row per path, linear above slerp.

Commands (from the repository root)::

    nice -n 5 .venv/bin/python -m experiments.interpolation --size full
    .venv/bin/python -m experiments.interpolation --size quick
    .venv/bin/python -m experiments.interpolation --size smoke

Sizes: ``full``: the VAE of ``semi_supervised --size full``, 1000 pairs of each kind for the statistics, 11 steps
per path, 3 seeds. ``quick``: its quick VAE, 200 pairs (seconds once that VAE is trained). ``smoke``: a few
training steps, 16 pairs.

Expected result: linear midpoints are ≈ 1/√2 ≈ 0.71 as long as their endpoints for both kinds of pairs (posterior
means of different-class images are nearly orthogonal too), which puts a midpoint at a low χ² percentile: off the
prior's typical shell. Slerp keeps the norm (ratio 1, percentile ≈ 0.5 for prior pairs). Measured norm ratios,
percentiles and endpoint norms (mean ± std over 3 seeds): ``experiments/results/interpolation.json``, the "Latent
interpolation" section of ``experiments/REPORT.md``.
"""

from __future__ import annotations

import dataclasses
import logging
import os

import jax
import jax.numpy as jnp
import numpy as np
import scipy.stats

from experiments import report, semi_supervised, sweeps
from vae_jax import inference, latent, plots

NAME = "interpolation"
METHODS = latent.INTERPOLATION_METHODS
NUM_STEPS = 11
FIGURE_PAIRS = 4  # paths of each kind shown


@dataclasses.dataclass(frozen=True)
class Size:
  num_pairs: int


SIZES = {"full": Size(num_pairs=1000), "quick": Size(num_pairs=200), "smoke": Size(num_pairs=16)}


def sample_test_pairs(key: jax.Array, labels: np.ndarray, num: int) -> tuple[np.ndarray, np.ndarray]:
  """``num`` pairs of test rows whose classes differ."""
  k_a, k_b = jax.random.split(key)
  a = np.asarray(jax.random.randint(k_a, (num,), 0, len(labels)))
  b = np.asarray(jax.random.randint(k_b, (num,), 0, len(labels)))
  keep = labels[a] != labels[b]
  return a[keep], b[keep]


def norm_profile(path: jax.Array) -> dict[str, float]:
  """Statistics of ``[steps, pairs, latent]`` paths, averaged over pairs: the midpoint norm over the endpoints' mean
  norm, the smallest norm on the path over the smaller endpoint norm (1 = never shorter than both ends), and the
  prior percentile of the midpoint's squared norm, ``P(‖ε‖² ≤ ‖z_mid‖²)`` for ε ~ N(0, I) (a χ² CDF): prior draws
  sit near 0.5; a value near 0 means the midpoint lies inside the shell where the prior's mass is not."""
  norms = np.linalg.norm(np.asarray(path, dtype=np.float64), axis=-1)  # [steps, pairs]
  ends = 0.5 * (norms[0] + norms[-1])
  mid = path.shape[0] // 2
  return {"midpoint_norm_ratio": float(np.mean(norms[mid] / ends)),
          "min_norm_ratio": float(np.mean(norms.min(axis=0) / np.minimum(norms[0], norms[-1]))),
          "midpoint_prior_percentile": float(np.mean(scipy.stats.chi2.cdf(norms[mid] ** 2, df=path.shape[-1]))),
          "endpoint_norm": float(np.mean(ends))}


def run_seed(seed: int, vae_run: dict, test_split, s: Size) -> dict:
  model = vae_run["model"]
  params = jax.device_get(vae_run["state"].params)
  k_pairs, k_prior = jax.random.split(jax.random.fold_in(jax.random.key(seed), 13))
  a, b = sample_test_pairs(k_pairs, test_split.labels, s.num_pairs)
  z_a = inference.encode(model, params, test_split.images[a], batch_size=len(a)).mean
  z_b = inference.encode(model, params, test_split.images[b], batch_size=len(a)).mean
  latent_dim = z_a.shape[-1]
  prior = jax.random.normal(k_prior, (2, s.num_pairs, latent_dim), jnp.float32)
  stats, figures_rows = {}, {}
  for kind, (z0, z1) in (("test pairs", (z_a, z_b)), ("prior pairs", (prior[0], prior[1]))):
    stats[kind] = {}
    for method in METHODS:
      path = latent.interpolate(z0, z1, num_steps=NUM_STEPS, method=method)  # [steps, pairs, latent]
      stats[kind][method] = norm_profile(path)
      shown = path[:, :FIGURE_PAIRS]
      figures_rows[(kind, method)] = inference.decode(model, params, shown, batch_size=shown.shape[0] * shown.shape[1])
  return {"stats": stats, "rows": figures_rows, "endpoints": (test_split.images[a[:FIGURE_PAIRS]],
                                                                test_split.images[b[:FIGURE_PAIRS]])}


def _figure(rows: dict, endpoints, path: str, title: str) -> list[str]:
  paths = []
  for kind in ("test pairs", "prior pairs"):
    labelled = []
    n = rows[(kind, METHODS[0])].shape[1]
    for p in range(n):
      for method in METHODS:
        images = rows[(kind, method)][:, p]
        if kind == "test pairs":  # the real endpoints framing the decoded path
          images = np.concatenate([endpoints[0][p:p + 1], images, endpoints[1][p:p + 1]])
        labelled.append((f"{method}" if p else f"{method} (pair 1)", images))
    out = path.replace(".png", f"_{kind.split()[0]}.png")
    note = " (outer columns: the real images)" if kind == "test pairs" else ""
    paths.append(str(plots.labelled_rows(labelled, out, title=f"{title}: {kind}{note}", cell_inches=0.6)))
  return paths


def main(argv: list[str] | None = None) -> str:
  """Runs the experiment; returns the path of the results JSON."""
  setup = sweeps.begin(sweeps.parser(__doc__.split("\n")[0]), NAME, argv)
  args, seed_list = setup.args, setup.seeds
  s = SIZES[args.size]
  vae_config, vae_runs = semi_supervised.pretrained_vae(args, seed_list)
  _, test_split = semi_supervised.load_fashion(vae_config)
  per_seed, figures = {}, []
  for seed in seed_list:
    out = run_seed(seed, vae_runs[seed], test_split, s)
    if seed == seed_list[0]:
      figures += _figure(out["rows"], out["endpoints"], os.path.join(setup.figures_dir, f"{NAME}.png"),
                         f"Fashion-MNIST VAE, linear vs slerp (seed {seed})")
    per_seed[seed] = out["stats"]

  keys = ("midpoint_norm_ratio", "min_norm_ratio", "midpoint_prior_percentile", "endpoint_norm")
  table = sweeps.table(
      ["pairs", "method", "midpoint ‖z‖ / endpoints' mean ‖z‖", "min ‖z‖ on the path / shorter endpoint",
       "prior percentile of midpoint ‖z‖²", "endpoint ‖z‖"],
      [[kind, method, *(sweeps.mean_std([per_seed[sd][kind][method][k] for sd in seed_list]) for k in keys)]
       for kind in ("test pairs", "prior pairs") for method in METHODS])
  caption = f"Code norms along {NUM_STEPS}-point paths ({s.num_pairs} pairs of each kind, {len(seed_list)} seeds)"
  print(f"{caption}\n{report.render_table(table)}")
  path = sweeps.write_results(
      setup.results_dir, NAME, args=args, command=setup.command, started=setup.started,
      tables={caption: table}, figures=figures,
      notes=[f"The VAE is the semi_supervised '{args.size}' VAE ({vae_config.num_steps} steps); test pairs are "
             "posterior means of two test images of different classes, prior pairs two N(0, I) draws."])
  logging.info("wrote %s", path)
  return path


if __name__ == "__main__":
  # force: absl/orbax install a root handler at import time, which would swallow INFO progress lines
  logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", force=True)
  logging.getLogger("absl").setLevel(logging.WARNING)  # Orbax logs every checkpoint save at INFO through absl
  main()
