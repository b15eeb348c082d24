"""The README's main command at work: ``experiments.run_all --size quick`` on one script, report included.

This is the quick variant itself (not the smoke size): the bottleneck sweep at its ``quick`` size, latent sizes 2, 8,
32, with one seed (``--seeds 1``) on the offline Fashion-MNIST. Every other script's quick protocol shares its
code path with the ``--size smoke`` test of that script (tests/test_experiments_*_smoke.py, test_uses_smoke.py);
all eleven at quick size take ≈ 10 min, too long for CI.
"""

import json
import os

import pytest

from experiments import run_all

import helpers


def test_run_all_quick_bottleneck_writes_results_and_report(tmp_path, monkeypatch):
  # run_all starts the script in a subprocess: give it one CPU device, as a user has, not conftest's 8 fake ones
  # (which split every batch 8 ways and triple the time); conftest's other flags stay.
  monkeypatch.setenv("XLA_FLAGS", helpers.xla_flags(1))
  # one seed (--seeds, passed to the script): the claim below holds per seed, and it trains a third as much
  assert run_all.main(["--size", "quick", "--only", "bottleneck", "--runs-root", str(tmp_path), "--seeds", "1"]) == 0
  out = tmp_path / "quick-results"
  with open(out / "bottleneck.json") as f:
    results = json.load(f)
  assert results["size"] == "quick" and results["seeds"] == [0] and "--seeds 1" in results["command"]
  table = results["tables"]["Test reconstruction error vs latent size (AE)"]
  mse = {row[0]: row[1]["mean"] for row in table["rows"]}
  assert mse[min(mse)] > 1.5 * mse[max(mse)]  # the article's claim at quick size: a small code loses information
  report = (out / "REPORT.md").read_text()
  assert "Bottleneck" in report and "python -m experiments.bottleneck" in report
  assert all(os.path.exists(os.path.join(run_all.sweeps.ROOT, f)) or os.path.exists(f) for f in results["figures"])


def test_run_all_rejects_zero_seeds_before_running_anything(tmp_path, capsys):
  with pytest.raises(SystemExit) as e:
    run_all.main(["--only", "bottleneck", "--runs-root", str(tmp_path), "--seeds", "0"])
  assert e.value.code == 2 and "argument --seeds: a whole number of at least 1, got '0'" in capsys.readouterr().err
  assert not any(tmp_path.iterdir())
