"""Smoke tests of the Fashion-MNIST experiment scripts: each ``--size smoke`` run in-process writes its tables.

Every script trains a few steps of tiny models (8 fake CPU devices, strict dtype promotion, no rank promotion, as
set by ``conftest.py``) into ``tmp_path`` and writes ``tmp_path/<name>.json`` with the tables the report shows.
About 5–15 s per script on an idle 2-core CPU (most of it compilation and data loading).
"""

import json
import math
import os
import shutil

import pytest

from experiments import sweeps

from helpers import datasets_available

pytest.importorskip("matplotlib")



pytestmark = pytest.mark.skipif(not datasets_available("fashion_mnist", "mnist"),
                                reason="Fashion-MNIST/MNIST IDX files not available")


def _run(module, tmp_path) -> dict:
  path = module.main(["--size", "smoke", "--runs-root", str(tmp_path / "runs"), "--results-dir", str(tmp_path)])
  assert path == os.path.join(str(tmp_path), f"{module.NAME}.json")
  with open(path) as f:
    results = json.load(f)
  assert results["experiment"] == module.NAME and results["size"] == "smoke" and results["seeds"] == [0]
  assert results["figures"]
  for fig in results["figures"]:  # recorded relative to the repository root
    assert os.path.exists(os.path.join(sweeps.ROOT, fig)), fig
  return results


def _column(table: dict, name: str) -> list:
  return [row[table["columns"].index(name)] for row in table["rows"]]


def _finite(cell) -> bool:
  return isinstance(cell, dict) and math.isfinite(cell["mean"]) and cell["n"] == 1


def test_bottleneck_smoke(tmp_path):
  from experiments import bottleneck

  results = _run(bottleneck, tmp_path)
  table = results["tables"]["Test reconstruction error vs latent size (AE)"]
  assert _column(table, "latent size") == list(sweeps.load_config("bottleneck", "smoke").latent_sizes)
  assert all(_finite(c) for c in _column(table, "PSNR (dB)"))
  assert os.path.exists(tmp_path / "figures" / "bottleneck_reconstructions.png")


def test_denoising_smoke(tmp_path):
  from experiments import denoising
  from experiments.configs import denoising as protocol

  results = _run(denoising, tmp_path)
  cfg = protocol.get_config("smoke")
  for caption in ("PSNR (dB) against the clean test image", "SSIM against the clean test image"):
    table = results["tables"][caption]
    conditions = list(zip(_column(table, "corruption"), _column(table, "level")))
    assert conditions[0] == ("none", 0.0) and len(conditions) == 1 + len(cfg.families) * len(cfg.levels)
    assert _column(table, "noisy input")[0] is None  # the clean input has no noisy baseline
    for label in protocol.labels(cfg).values():
      assert all(_finite(c) for c in _column(table, label))
  for family in cfg.families:
    assert os.path.exists(tmp_path / "figures" / f"denoising_{family}.png")


def test_vae_likelihood_smoke(tmp_path):
  from experiments import vae_likelihood

  results = _run(vae_likelihood, tmp_path)
  ll = results["tables"]["Test log-likelihood (nats per image)"]
  assert _column(ll, "objective") == ["VAE (ELBO)", "IWAE (k = 5)"]
  nll = _column(ll, next(c for c in ll["columns"] if c.startswith("NLL")))
  elbo = _column(ll, next(c for c in ll["columns"] if "K-sample" in c))
  assert all(_finite(c) for c in nll)
  assert all(n["mean"] <= e["mean"] + 1e-3 for n, e in zip(nll, elbo))  # −log mean w ≤ −mean log w (Jensen)
  rd = results["tables"]["β sweep: rate–distortion on the test set"]
  assert _column(rd, "β") == list(vae_likelihood.configs.get_config("smoke").betas)
  assert all(_finite(c) and c["mean"] >= 0 for c in _column(rd, "rate KL (nats)"))
  for name in ("samples_vae", "samples_iwae", "interpolation", "rate_distortion"):
    assert os.path.exists(tmp_path / "figures" / f"vae_likelihood_{name}.png")


def test_outliers_smoke(tmp_path):
  from experiments import outliers

  results = _run(outliers, tmp_path)
  table = results["tables"]["Outlier detection (outliers = positive class)"]
  scores = list(zip(_column(table, "model"), _column(table, "score")))
  assert ("AE", "reconstruction MSE") in scores and ("DAE", "reconstruction MSE") in scores
  assert ("VAE", "complexity-corrected NLL") in scores and ("VAE", "likelihood ratio (NLL − NLL background)") in scores
  regret = "likelihood regret (16 images per set)"
  assert ("VAE", regret) in scores and ("AE", regret) not in scores  # the regret needs a stochastic encoder
  for col in table["columns"][2:]:
    for cell in _column(table, col):
      value = cell["mean"] if isinstance(cell, dict) else cell
      assert 0.0 <= value <= 1.0
  assert "Mean score per test set" in results["tables"]
  assert os.path.exists(tmp_path / "figures" / "outliers_scores.png")


def test_pretraining_smoke(tmp_path):
  from experiments import pretraining

  results = _run(pretraining, tmp_path)
  table = results["tables"]["Linear-probe accuracy on Fashion-MNIST"]
  names = _column(table, "representation")
  cfg = pretraining.configs.get_config("smoke")
  assert names[0] == "raw pixels" and names[1:5] == list(pretraining.configs.labels(cfg).values())
  assert names[5].startswith("stacked AE")  # the placeholder: no stacked.json in tmp_path
  for cell in _column(table, "test accuracy (%)")[1:5]:
    assert _finite(cell) and 0.0 <= cell["mean"] <= 100.0
  assert os.path.exists(tmp_path / "figures" / "pretraining_probe.png")


def test_fashion_likelihood_smoke(tmp_path):
  from experiments import fashion_likelihood

  results = _run(fashion_likelihood, tmp_path)
  cfg = sweeps.load_config("fashion_likelihood", "smoke")
  table = results["tables"]["Test likelihood (nats; mean ± std over seeds)"]
  assert _column(table, "model") == list(cfg.models)
  nll = {m: c["mean"] for m, c in zip(cfg.models, _column(table, f"IS-NLL (K = {cfg.is_nll_samples})"))}
  neg_elbo = {m: c["mean"] for m, c in zip(cfg.models, _column(table, "−ELBO"))}
  assert all(nll[m] <= neg_elbo[m] for m in cfg.models)  # −log mean w ≤ −mean log w, image by image (Jensen)
  # The per-image paired difference on the shared binarized test set averages to the difference of the means.
  paired_caption = next(k for k in results["tables"] if k.startswith("IWAE − VAE"))
  (comparison, seed, diff), = results["tables"][paired_caption]["rows"]
  assert comparison == "iwae5_tiny − vae_tiny" and seed == 0 and diff["n"] == cfg.is_nll_images
  assert math.isclose(diff["mean"], nll["iwae5_tiny"] - nll["vae_tiny"], abs_tol=1e-3) and diff["std"] > 0
  curve = results["tables"]["Test IS-NLL against updates (first seed)"]
  assert curve["columns"][1:] == [str(s) for s in range(cfg.checkpoint_every, cfg.num_steps + 1, cfg.checkpoint_every)]
  again = _run(fashion_likelihood, tmp_path)  # everything cached: the same tables
  assert again["tables"] == results["tables"]
  # The rerun computed nothing, but its results still say how long the work behind them took (training + estimates).
  train_s = sum(_column(table, "sweep training (s)"))
  assert again["compute_time_s"] == results["compute_time_s"] > max(train_s - len(cfg.models), 0)
  assert not any("not counted" in n for n in results["notes"])  # every estimate of this run recorded its time
  # A run on a subset reports the other models already trained in its runs root (restored, scores cached) ...
  subset = fashion_likelihood.main(["--size", "smoke", "--runs-root", str(tmp_path / "runs"), "--results-dir",
                                    str(tmp_path), "--models", "iwae5_tiny"])
  with open(subset) as f:
    assert json.load(f)["tables"] == results["tables"]
  # ... and refuses, before any training, to drop a model of the results file that it would not produce.
  with pytest.raises(ValueError, match=r"holds results of vae_tiny, which this run would drop.*--models"):
    fashion_likelihood.main(["--size", "smoke", "--runs-root", str(tmp_path / "other"), "--results-dir",
                             str(tmp_path), "--models", "iwae5_tiny"])
  assert not (tmp_path / "other").exists()
  with open(subset) as f:
    before = json.load(f)
  assert before["tables"] == results["tables"]
  # With --keep-earlier it keeps vae_tiny's rows instead, marked as carried from the invocation that computed them,
  # beside the iwae5_tiny it trains in the other runs root (bit for bit the same numbers; only its time differs).
  argv = ["--size", "smoke", "--runs-root", str(tmp_path / "other"), "--results-dir", str(tmp_path), "--models",
          "iwae5_tiny", "--keep-earlier"]
  with open(fashion_likelihood.main(argv)) as f:
    kept = json.load(f)
  def same_numbers(new, old, paired=True):  # all but the training seconds; paired: the IWAE − VAE rows too
    for caption, t in old["tables"].items():
      cut = -1 if caption == fashion_likelihood.LIKELIHOOD else None
      want = [r[:cut] for r in t["rows"]] if paired or caption != fashion_likelihood.PAIRED else []
      assert [r[:cut] for r in new["tables"][caption]["rows"]] == want, caption

  # A comparison of a carried model with one of this run is carried only because the new iwae5_tiny reproduced its
  # old row bit for bit, and a note says so (one that differs drops it: tests/test_sweeps.py).
  same_numbers(kept, results)
  assert sum(n.startswith("iwae5_tiny: retrained here and equal to its earlier row bit for bit") for n in
             kept["notes"]) == 1 and len(set(kept["notes"])) == len(kept["notes"])
  assert kept["carried"] == {"vae_tiny": f"`{before['command']}` (finished {before['finished']})"}
  assert any(n.startswith("Carried") and "vae_tiny" in n and before["command"] in n for n in kept["notes"])
  assert not any("Not (yet) run" in n for n in kept["notes"])
  assert kept["compute_time_s"] >= _column(table, "sweep training (s)")[0]  # vae_tiny's training is counted
  # Carried again by a later run, a row keeps the invocation that really computed it.
  with open(fashion_likelihood.main(argv)) as f:
    assert json.load(f)["carried"] == kept["carried"]
  # --partial scores an unfinished sweep's checkpoints and trains nothing: here iwae5_tiny in the other runs root as
  # a run killed after its checkpoint at update 4 leaves it (no results file, no later checkpoint).
  unfinished = tmp_path / "other" / "fashion_likelihood" / "smoke" / "iwae5_tiny"
  shutil.rmtree(unfinished / "checkpoints" / str(cfg.num_steps))
  (unfinished / "results.json").unlink()
  with open(fashion_likelihood.main([*argv, "--partial"])) as f:
    part = json.load(f)
  assert _column(part["tables"][fashion_likelihood.LIKELIHOOD], "model") == ["vae_tiny"]  # carried; no iwae5 row
  assert part["tables"][fashion_likelihood.PAIRED]["rows"] == []
  curve_rows = {r[0]: r[1:] for r in part["tables"][fashion_likelihood.CURVE]["rows"]}
  first_curve = {r[0]: r[1:] for r in results["tables"][fashion_likelihood.CURVE]["rows"]}
  assert curve_rows == {"vae_tiny": first_curve["vae_tiny"], "iwae5_tiny": [first_curve["iwae5_tiny"][0], None]}
  assert any(n.startswith("Partial: iwae5_tiny was trained to update 4 of 8 ") for n in part["notes"])
  assert not (unfinished / "checkpoints" / str(cfg.num_steps)).exists()  # nothing trained
  # The same command without --partial resumes it from update 4: the numbers of the uninterrupted run.
  with open(fashion_likelihood.main(argv)) as f:
    same_numbers(json.load(f), results, paired=False)
  # --partial with nothing trained or checkpointed says so instead of writing an empty file.
  with pytest.raises(ValueError, match=r"nothing to report: iwae5_tiny not trained nor checkpointed"):
    fashion_likelihood.main(["--size", "smoke", "--runs-root", str(tmp_path / "empty"), "--results-dir",
                             str(tmp_path / "empty_res"), "--models", "iwae5_tiny", "--partial"])
  assert not (tmp_path / "empty_res" / "fashion_likelihood.json").exists()
  # Rows of another size never sit beside this size's.
  with open(tmp_path / "fashion_likelihood.json", "w") as f:
    json.dump({**kept, "size": "quick"}, f)
  with pytest.raises(ValueError, match=r"holds size 'quick', not 'smoke'"):
    fashion_likelihood.main(argv)
  # --tag (a GPU lease's run): its own file, report section and figure beside the untouched untagged results; the
  # same numbers, since it rescored the same runs.
  untagged = (tmp_path / "fashion_likelihood.json").read_text()
  tagged_path = fashion_likelihood.main(["--size", "smoke", "--runs-root", str(tmp_path / "runs"), "--results-dir",
                                         str(tmp_path), "--tag", "h200"])
  assert tagged_path == str(tmp_path / "fashion_likelihood_h200.json")
  with open(tagged_path) as f:
    tagged = json.load(f)
  assert tagged["experiment"] == "fashion_likelihood_h200" and tagged["tables"] == results["tables"]
  assert tagged["figures"][0].endswith("fashion_likelihood_h200_curve.png")
  assert (tmp_path / "figures" / "fashion_likelihood_h200_curve.png").exists()
  assert (tmp_path / "fashion_likelihood.json").read_text() == untagged
