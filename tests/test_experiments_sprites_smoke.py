"""The β-VAE sprites experiment end to end at ``--size smoke``: every variant trained, every metric in the table."""

import json
import os

import pytest

from experiments import beta_vae_sprites
from tools import beta_log_table


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
  """Every variant at the smoke size on 3 worker threads, with ``--steps 3`` (the smoke size's own is 2): the
  variant-subset test below compares its rows against this run's instead of training a second pair of runs."""
  out = tmp_path_factory.mktemp("sprites_smoke")
  return beta_vae_sprites.main(["--size", "smoke", "--steps", "3", "--runs-root", str(out), "--results-dir", str(out),
                                "--workers", "3"])


def test_smoke_writes_every_variant_and_metric(smoke_run):
  path = smoke_run
  with open(path) as f:
    results = json.load(f)
  table = results["tables"]["Disentanglement on sprites (mean ± std over seeds)"]
  for _, title in beta_vae_sprites.METRICS:
    assert title in table["columns"]
  labels = [row[0] for row in table["rows"]]
  cfg = beta_vae_sprites.configs.get_config("smoke")
  expected = [beta_vae_sprites.configs.labels(cfg)[v] for v in beta_vae_sprites.configs.variants(cfg)]
  assert labels == expected and len(labels) == 7
  first_metric = table["columns"].index(beta_vae_sprites.METRICS[0][1])
  for row in table["rows"]:
    for cell in row[first_metric:first_metric + len(beta_vae_sprites.METRICS)]:
      assert 0.0 <= cell["mean"] <= 1.0 and cell["n"] == 1
  assert any(caption.startswith("Latent → factor") for caption in results["tables"])
  for fig in results["figures"]:
    assert os.path.exists(os.path.join(beta_vae_sprites.sweeps.ROOT, fig)) or os.path.exists(fig)
  assert any("traversal" in fig for fig in results["figures"])


def _table(path):
  with open(path) as f:
    return json.load(f)["tables"]["Disentanglement on sprites (mean ± std over seeds)"]


def test_worker_threads_and_a_variant_subset_give_the_same_numbers(smoke_run, tmp_path):
  # Two variants on one thread against the same two rows of every variant on 3 threads (the module's smoke run, also
  # at --steps 3): the worker count and the variant subset change no number.
  common = ["--size", "smoke", "--variants", "beta1", "beta4", "--steps", "3"]
  one = beta_vae_sprites.main([*common, "--runs-root", str(tmp_path / "a"), "--results-dir", str(tmp_path / "a")])
  t1, everything = _table(one), _table(smoke_run)
  assert [r[0] for r in t1["rows"]] == ["β=1 (VAE)", "β=4"]
  assert t1["columns"] == everything["columns"]
  assert t1["rows"] == [r for r in everything["rows"] if r[0] in ("β=1 (VAE)", "β=4")]
  for path in (one, smoke_run):
    with open(path) as f:
      assert "3 updates" in " ".join(json.load(f)["notes"])


def test_variant_subset_must_hold_the_plain_vae_and_a_beta(tmp_path):
  with pytest.raises(SystemExit):
    beta_vae_sprites.main(["--size", "smoke", "--variants", "beta4", "--runs-root", str(tmp_path)])
  with pytest.raises(SystemExit):
    beta_vae_sprites.main(["--size", "smoke", "--variants", "beta1", "annealed", "--runs-root", str(tmp_path)])


def test_log_table_summarises_per_run_lines(tmp_path):
  runs = {("beta1", 0): 0.1, ("beta1", 1): 0.2, ("beta4", 0): 0.3, ("beta4", 1): 0.1, ("tcvae", 0): 0.5}
  lines = ["noise line\n"]
  for (variant, seed), mig in runs.items():
    metrics = dict(beta_vae=0.5 + mig, factor_vae=0.4, mig=mig, dci_d=mig, dci_c=0.1, dci_i=0.3, kl=10.0, active=5.0)
    lines.append(f"2026-11-27 07:17:46,626 __main__ {variant} seed {seed}: {metrics} (train 1 s, metrics 2 s)\n")
  log = tmp_path / "run.log"
  log.write_text("".join(lines))
  parsed = beta_log_table.parse(lines)
  assert parsed["beta4"][1]["mig"] == 0.1 and set(parsed) == {"beta1", "beta4", "tcvae"}
  text = beta_log_table.main([str(log)])
  assert "| beta1 | 0, 1 |" in text and "0.150 ± 0.071" in text  # MIG of beta1: mean 0.15, std 0.0707
  assert "beta4 vs beta1 (seeds [0, 1]): higher on every seed for none" in text
  assert "tcvae vs beta1" not in text  # tcvae lacks seed 1: no paired comparison


def test_the_reading_quotes_every_committed_study_verdict_it_finds(tmp_path):
  from experiments.configs import beta_vae_sprites as configs

  cfg = configs.get_config("smoke")
  assert configs.study_verdict(cfg, str(tmp_path)) == ""  # no committed study: nothing quoted
  study = {"command": "python -m experiments.disentanglement_study --size cpu1024_sbd_grid", "finished": "today",
           "notes": ["Setup: …", "Verdict: β-TCVAE β=6: higher than β = 1 on every seed for 2 of 4 headline "
                     "scores."]}
  (tmp_path / "disentanglement_study_cpu1024_sbd_grid.json").write_text(json.dumps(study))
  quoted = configs.study_verdict(cfg, str(tmp_path))
  assert "§4c-SBD′" in quoted and "2 of 4 headline scores" in quoted and "Setup" not in quoted
  assert "§4c)" not in quoted  # the cpu study's file is absent here, so it is left out
  # The committed files exist: the reading quotes each of them, the longest β-VAE budget's verdict and the fresh
  # seeds' (5–9, models that played no part in choosing the recipe) among them.
  results = os.path.join(os.path.dirname(__file__), "..", "experiments", "results")
  committed = configs.study_verdict(cfg, results)
  present = [name for name, _ in cfg.study_results if os.path.exists(os.path.join(results, name))]
  assert len(present) >= 5 and committed.count("The committed disentanglement study") == len(present)
  assert "§4c-H′" in committed
  assert "β-VAE β=8: higher than β = 1 on every seed for 3 of 4 headline scores" in committed and "§4c-H⁶" in committed
  assert "--size cpu_higgins_fresh" in committed and "§4c-H⁷" in committed
  assert "β-VAE β=8: higher than β = 1 on every seed for 2 of 4 headline scores (MIG, DCI disent.)" in committed
  assert "β-VAE β=8: higher than β = 1 on every seed for 4 of 4 headline scores" in committed and "§4c-H¹⁰" in committed
  assert "--size cpu_higgins_40k_fresh" in committed and "§4c-H¹¹" in committed
