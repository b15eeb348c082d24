"""The disentanglement study end to end at its smoke size: every method trained as a sweep, scored, paired against
β = 1, drawn; a rerun reuses the sweeps and the cached scores."""

import dataclasses
import json
import math
import os
from unittest import mock

import helpers
import numpy as np
import pytest

from experiments import disentanglement_study as study
from experiments import factor_response, metric_confusion, metric_noise
from experiments.configs import disentanglement_study as configs
from vae_jax import evaluation, sweep
from vae_jax.sweep import scores as sweep_scores
from vae_jax.evaluation.factor_edits import EDITED_FACTORS


def test_smoke_trains_every_setting_as_a_sweep_and_a_rerun_reuses_everything(tmp_path, monkeypatch):
  # β-VAE only (β = 1 and 4 × 2 seeds: one sweep); the other methods' sweeps are tests/test_sweep_train.py's.
  args = ["--size", "smoke", "--methods", "beta_vae", "--runs-root", str(tmp_path / "runs"), "--results-dir",
          str(tmp_path / "out")]
  path = study.main(args)
  with open(path) as f:
    res = json.load(f)
  tables = res["tables"]
  scores = tables["Scores per setting (mean ± std over seeds)"]
  labels = [row[0] for row in scores["rows"]]
  assert labels == ["β-VAE β=1 (VAE)", "β-VAE β=4"]
  for row in scores["rows"]:
    assert row[1] == 2  # two seeds per setting
    for cell, (key, _) in zip(row[2:], study.METRICS):
      assert 0.0 <= cell["mean"] <= 1.0 or (key == "sap" and cell["mean"] == cell["mean"]), (row[0], key, cell)
  paired = tables["Paired against β = 1 (the plain VAE), per seed"]
  assert len(paired["rows"]) == len(labels) - 1  # every setting but the reference
  assert all(row[1].endswith("/2)") for row in paired["rows"])  # paired over both seeds
  swap = tables["Latent swap: IoU of the decode with the ground truth (mean ± std over seeds)"]
  assert [(row[0], row[1]) for row in swap["rows"]] == [(lab, f) for lab in labels for f in study.sprites.FACTOR_NAMES]
  assert all(row[-1].endswith("/2") for row in swap["rows"])
  training = tables["Training (one sweep per row)"]  # each sweep by its runs folder: where it was trained
  assert [row[:3] for row in training["rows"]] == [["smoke/beta_vae", 4, 10]]
  assert any(n.startswith("Time: training smoke/beta_vae ") for n in res["notes"])
  for fig in res["figures"]:
    assert os.path.exists(os.path.join(study.sweeps.ROOT, fig)) or os.path.exists(fig)
  with open(os.path.join(tmp_path / "out", study.NAME, "smoke_members.json")) as f:
    members = json.load(f)
  curve = members["β-VAE β=4"][0]["curve"]
  assert [p["step"] for p in curve] == [2, 4, 6, 8, 10]  # the five kept checkpoints of the first seed
  fd_keys = [k for k, _ in configs.FRECHET]
  assert fd_keys == ["fd_gen", "fd_rec", "fd_real"] and set(fd_keys) <= set(configs.KEYS)
  for rs in members.values():
    assert all(math.isfinite(m[k]) and m[k] >= 0.0 for m in rs for k in fd_keys), rs
  columns = scores["columns"]
  for k, title in configs.FRECHET:
    assert all(math.isfinite(row[columns.index(title)]["mean"]) for row in scores["rows"])
  assert sum(n.startswith("Verdict: Fréchet distance") for n in res["notes"]) == 1
  assert sum("sprites judge" in n and "held-out accuracy" in n for n in res["notes"]) == 1
  edits = next(t for title, t in tables.items() if title.startswith("Attribute edits read by the sprites judge"))
  edited = [(lab, f) for lab in labels for f in EDITED_FACTORS]  # β = 1 and the best β-VAE (also the best setting)
  assert [(row[0], row[1]) for row in edits["rows"]] == edited
  assert all(0.0 <= cell["mean"] <= 1.0 and cell["n"] == 2 for row in edits["rows"] for cell in row[3:7])
  assert sum(n.startswith("Verdict: Attribute edits") for n in res["notes"]) == 1

  # A rerun trains nothing and recomputes no score: the sweeps' results and the score caches stay as they were.
  sweep_dir = tmp_path / "runs" / study.NAME / "smoke" / "beta_vae"
  before = {p: os.path.getmtime(sweep_dir / p) for p in ("results.json", "study_evals.json")}
  again = study.main(args)
  with open(again) as f:
    assert json.load(f)["tables"] == tables
  assert {p: os.path.getmtime(sweep_dir / p) for p in before} == before

  # A runs folder scored before the Fréchet distances and the attribute edits existed (no frechet/ or edits/ entries,
  # no judge): a rerun computes those and nothing else — no training, no other score, one judge — and leaves every
  # other cached score as it was.
  cache_path = sweep_dir / "study_evals.json"
  cached = json.loads(cache_path.read_text())
  old = {k: v for k, v in cached.items() if not k.startswith(("frechet/", "edits/"))}
  assert len(cached) - len(old) == 8  # two settings × two seeds, each both
  cache_path.write_text(json.dumps(old))
  os.remove(tmp_path / "runs" / study.NAME / "smoke" / "study_evals.json")  # the judge's accuracy
  calls = {name: helpers.count_calls(monkeypatch, evaluation, name) for name in (
      "evaluate_disentanglement", "relative_sharpness", "factor_swap", "train_sprite_judge", "sprite_frechet",
      "factor_edits")}
  third = study.main(args)
  assert {k: len(v) for k, v in calls.items()} == {"evaluate_disentanglement": 0, "relative_sharpness": 0,
                                                   "factor_swap": 0, "train_sprite_judge": 1, "sprite_frechet": 4,
                                                   "factor_edits": 4}
  assert os.path.getmtime(sweep_dir / "results.json") == before["results.json"]  # nothing trained
  now = json.loads(cache_path.read_text())
  assert set(now) == set(cached) and {k: now[k] for k in old} == old
  no_time = lambda entries: {k: {m: v for m, v in e.items() if m != "fd_time_s"}  # noqa: E731
                             for k, e in entries.items() if k.startswith(("frechet/", "edits/"))}
  assert no_time(now) == no_time(cached)  # the judge is a pure function of its key: the same distances
  with open(third) as f:
    assert json.load(f)["tables"] == tables

  # A cut run (the other methods' sweeps never trained): --only-trained reports the trained sweeps without training
  # or scoring anything again, and names the ones it left out; without the reference's sweep it refuses.
  everything = ["--size", "smoke", "--runs-root", str(tmp_path / "runs"), "--results-dir", str(tmp_path / "cut")]
  with open(study.main([*everything, "--only-trained"])) as f:
    cut = json.load(f)
  assert cut["tables"] == tables and {k: len(v) for k, v in calls.items()} == {  # the counts of the third run
      "evaluate_disentanglement": 0, "relative_sharpness": 0, "factor_swap": 0, "train_sprite_judge": 1,
      "sprite_frechet": 4, "factor_edits": 4}
  partial = cut["notes"][0]
  assert partial.startswith("Partial: 3 sweep(s) not finished") and all(
      f"smoke/{m}" in partial for m in ("beta_tcvae", "factor_vae", "dip_vae_i_lambda_od5"))
  assert sorted(os.listdir(tmp_path / "runs" / study.NAME / "smoke")) == ["beta_vae", "study_evals.json"]  # untrained
  with pytest.raises(FileNotFoundError, match=r"reference setting.s sweep \(β-VAE β=1 \(VAE\)\) is not trained"):
    study.main(["--size", "smoke", "--only-trained", "--runs-root", str(tmp_path / "none"), "--results-dir",
                str(tmp_path / "cut")])

  # The factor response curves of the same trained sweeps: every setting × ordinal factor, counted over both seeds.
  fr_path = factor_response.main(["--size", "smoke", "--methods", "beta_vae", "--runs-root", str(tmp_path / "runs"),
                                  "--results-dir", str(tmp_path / "out"), "--per-value", "4"])
  assert os.path.basename(fr_path) == "factor_response_smoke.json"
  with open(fr_path) as f:
    fr = json.load(f)
  mono = fr["tables"]["Ordinal factors: is the latent that moves most with the factor monotonic in it?"]
  assert [(row[0], row[1]) for row in mono["rows"]] == [(lab, f) for lab in labels for f in ("scale", "pos_x", "pos_y")]
  for row in mono["rows"]:
    assert row[2] in ("0/2", "1/2", "2/2") and 0.0 <= row[3]["mean"] <= 1.0 and 0.0 <= row[4]["mean"] <= 1.0
    assert len(row[5].split(", ")) == 2  # the latent and ρ of each seed
  at = fr["tables"]["Seeds with a monotonic code at every kept checkpoint"]
  assert [(row[0], row[1]) for row in at["rows"]] == [(lab, s) for lab in labels for s in (2, 4, 6, 8, 10)]
  assert [row[2:] for row in at["rows"] if row[1] == 10] == [[row[2] for row in mono["rows"] if row[0] == lab]
                                                             for lab in labels]  # the last checkpoint is the table's
  assert fr["figures"] and all(os.path.exists(os.path.join(study.sweeps.ROOT, fig)) for fig in fr["figures"])
  with pytest.raises(FileNotFoundError, match="train the study first.*or pass --only-trained"):  # not all trained
    factor_response.main(["--size", "smoke", "--runs-root", str(tmp_path / "runs"), "--results-dir",
                          str(tmp_path / "out2")])
  with open(factor_response.main(["--size", "smoke", "--only-trained", "--runs-root", str(tmp_path / "runs"),
                                  "--results-dir", str(tmp_path / "out2"), "--per-value", "4"])) as f:
    assert json.load(f)["notes"][0].startswith("Partial: 3 sweep(s)")

  # The β-VAE metric's confusion, scored again with the study's keys and sizes: each member's score is the study's.
  mc_path = metric_confusion.main(["--size", "smoke", "--methods", "beta_vae", "--runs-root", str(tmp_path / "runs"),
                                   "--results-dir", str(tmp_path / "out")])
  with open(mc_path) as f:
    mc = json.load(f)["tables"]
  per_seed = mc["Per seed: confusion counts (rows: the factor held fixed, in the order of the columns above)"]["rows"]
  assert sorted((row[0], row[1], row[2]) for row in per_seed) == sorted(
      (lab, m["seed"], m["beta_vae_metric"]) for lab, ms in members.items() for m in ms)
  for row in per_seed:
    confusion = np.asarray(row[3])
    assert confusion.shape == (5, 5) and confusion.sum() == configs.get_config("smoke").metrics.bvae_eval
    assert np.trace(confusion) / confusion.sum() == row[2]
  mixed = mc["What each factor held fixed is classified as (fraction of its held-out points, all seeds)"]["rows"]
  assert [(row[0], row[1]) for row in mixed] == [(lab, f) for lab in labels for f in study.sprites.FACTOR_NAMES]

  # The metrics redrawn from fresh keys: the study's own draw first (its cached score), then the redraws, cached too.
  noise_args = ["--size", "smoke", "--methods", "beta_vae", "--runs-root", str(tmp_path / "runs"), "--results-dir",
                str(tmp_path / "out"), "--redraws", "2", "--metrics", "factor_vae_metric"]
  with open(metric_noise.main(noise_args)) as f:
    noise = json.load(f)
  mn = noise["tables"]
  assert [n.split(" redrawn: ")[0] for n in noise["notes"] if n.startswith("Verdict: ")] == [
      "Verdict: β-VAE β=4, FactorVAE metric"]
  rows = mn["Per seed: each draw's score, their mean and standard deviation"]["rows"]
  assert sorted((r[0], r[2], r[3]) for r in rows) == sorted(
      (lab, m["seed"], m["factor_vae_metric"]) for lab, ms in members.items() for m in ms)  # the study's draw
  assert all(len(r) == 8 for r in rows) and any(r[4] != r[3] or r[5] != r[3] for r in rows)  # other draws
  assert all(r[6] == pytest.approx(np.mean(r[3:6]), abs=1e-4) for r in rows)
  verdict = mn["Seeds on which a setting is above β = 1 (a column per draw; the last two: the draws' mean)"]["rows"]
  assert [r[:2] for r in verdict] == [[lab, "factor_vae_metric"] for lab in labels if lab != labels[0]]
  assert all(c in ("0/2", "1/2", "2/2") for r in verdict for c in r[2:6])
  cache = sweep_scores.ScoreCache(str(tmp_path / "runs" / study.NAME / "smoke" / "beta_vae")).data
  assert sum(k.endswith(sweep_scores.tag((configs.metric_sizes(configs.get_config("smoke")), "factor_vae_metric", 1)))
             for k in cache) == 4  # the second redraw of each of the 4 members, kept for a rerun
  with pytest.raises(SystemExit):
    metric_noise.main([*noise_args[:-4], "--redraws", "0"])


def test_every_method_of_the_grids_has_a_setting_label_and_config():
  for method, (field, values) in configs.GRIDS.items():
    for v in values:
      assert getattr(configs.method_config(method, v), field) == v
      assert configs.setting_label(method, v).endswith(f"={v:g}") or (method, v) in (configs.REFERENCE,
                                                                                      ("beta_tcvae", 1.0))
  assert configs.method_config("dip_vae_i", 5.0).lambda_d == 50.0  # tied: λ_d = 10 λ_od
  assert configs.method_config("dip_vae_ii", 5.0).lambda_d == 5.0
  assert configs.setting_label(*configs.REFERENCE) == "β-VAE β=1 (VAE)"
  assert configs.setting_label("beta_tcvae", 1.0) == "β-TCVAE β=1 (VAE, sampled KL)"  # α = γ = 1: the VAE's terms
  names = [name for name, *_ in configs.sweeps(configs.get_config("full"))]
  assert len(names) == len(set(names)) == 4 + 2 * 6  # four swept methods + DIP-VAE-I/II one sweep per λ_od
  for size in configs.SIZES:  # the reference's sweep first (β-VAE's, β-TCVAE's in gpu_lease_tc and gpu_lease_sbd)
    assert configs.sweeps(configs.get_config(size))[0][1] == configs.get_config(size).reference[0]
  # the per-pixel β grid: β-VAE only, paired against β = 0.25 (the per-pixel plain VAE); every other size
  # against β = 1, and the reference is always one of the trained settings
  cfg = configs.get_config("cpu_beta")
  (_, method, _, (field, values)), = configs.sweeps(cfg)
  assert (method, field, values) == ("beta_vae", "method.beta", (0.25, 0.5, 1.0, 2.0))
  assert cfg.reference == ("beta_vae", 0.25) and configs.reference_words(cfg) == "β = 0.25"
  for size in configs.SIZES:
    if size not in ("cpu_beta", "gpu_lease_tc", "gpu_lease_sbd"):
      assert configs.get_config(size).reference == configs.REFERENCE
  assert configs.time_notes([], [], "β = 0.25")[0].startswith("Paired table: setting − β=0.25 on the same seed")
  with pytest.raises(ValueError, match=r"reference setting \('beta_vae', 3.0\) is not in its grids"):
    with mock.patch.dict(configs._GRIDS, {"cpu": {"beta_vae": ("beta", (1.0, 4.0))}}), \
         mock.patch.object(configs, "REFERENCE", ("beta_vae", 3.0)):
      configs.get_config("cpu")


def test_results_names_never_collide():
  # each size its own results file; --steps overriding a size's updates writes beside that size's file, not over it
  names = [configs.results_name(configs.get_config(size)) for size in configs.SIZES]
  assert len(set(names)) == len(names) and "disentanglement_study_cpu" in names
  assert configs.results_name(configs.get_config("cpu", num_steps=5000)) == "disentanglement_study_cpu-5000steps"


def test_a_size_reads_the_sweeps_it_shares_and_sets_its_method_overrides():
  """cpu64_mss trains only its β-TCVAE (stratified estimator, labelled so); its β-VAE sweep is cpu64's — the same
  base config, grid and folder, so it is trained once — and a --steps override keeps to its own folders."""
  mss, cpu64 = configs.get_config("cpu64_mss"), configs.get_config("cpu64")
  ours, theirs = ({name: (method, base, grid) for name, method, base, grid in configs.sweeps(c)} for c in (mss, cpu64))
  assert ours["beta_vae"] == theirs["beta_vae"]
  assert configs.sweep_dir(mss, "/r", "beta_vae", "beta_vae") == "/r/disentanglement_study/cpu64/beta_vae"
  assert configs.sweep_dir(mss, "/r", "beta_tcvae", "beta_tcvae") == "/r/disentanglement_study/cpu64_mss/beta_tcvae"
  assert configs.sweep_dir(configs.get_config("cpu64_mss", 5000), "/r", "beta_vae", "beta_vae") == (
      "/r/disentanglement_study/cpu64-5000steps/beta_vae")
  assert ours["beta_tcvae"][1].method.estimator == "mss" and theirs["beta_tcvae"][1].method.estimator == "mws"
  assert configs.setting_label("beta_tcvae", 6.0, "mss") == "β-TCVAE (MSS) β=6"
  assert configs.setting_label("beta_tcvae", 6.0) == "β-TCVAE β=6"
  cpu_mss = configs.get_config("cpu_mss")
  assert dict((n, b) for n, _, b, _ in configs.sweeps(cpu_mss))["beta_vae"] == dict(
      (n, b) for n, _, b, _ in configs.sweeps(configs.get_config("cpu")))["beta_vae"]
  assert configs.sweep_dir(cpu_mss, "/r", "beta_vae", "beta_vae") == "/r/disentanglement_study/cpu/beta_vae"
  beta2 = configs.get_config("cpu_mss_beta2")  # cpu_mss at β = 2: the same β-VAE sweep (cpu's), its own β-TCVAE one
  assert [(m, v) for m, _, v in beta2.grids] == [("beta_vae", (1.0, 4.0)), ("beta_tcvae", (2.0,))]
  assert configs.sweep_dir(beta2, "/r", "beta_vae", "beta_vae") == "/r/disentanglement_study/cpu/beta_vae"
  assert configs.sweep_dir(beta2, "/r", "beta_tcvae", "beta_tcvae") == (
      "/r/disentanglement_study/cpu_mss_beta2/beta_tcvae")
  assert dict((n, c) for n, _, c, _ in configs.sweeps(beta2))["beta_tcvae"].method.estimator == "mss"
  big = configs.get_config("cpu1024_mss_beta2")  # at cpu1024's batch, against β = 1 alone, every sweep its own
  assert [(m, v) for m, _, v in big.grids] == [("beta_vae", (1.0,)), ("beta_tcvae", (2.0,))]
  assert (big.batch_size, big.num_steps) == (1024, 6250)
  ref = dict((n, b) for n, _, b, _ in configs.sweeps(big))["beta_vae"]  # cpu1024's β-VAE base: the same models
  assert ref == dict((n, b) for n, _, b, _ in configs.sweeps(configs.get_config("cpu1024")))["beta_vae"]
  assert configs.sweep_dir(big, "/r", "beta_vae", "beta_vae") == "/r/disentanglement_study/cpu1024_mss_beta2/beta_vae"
  assert configs.sweep_dir(big, "/r", "beta_tcvae", "beta_tcvae") == (
      "/r/disentanglement_study/cpu1024_mss_beta2/beta_tcvae")
  tc = dict((n, c) for n, _, c, _ in configs.sweeps(big))["beta_tcvae"]
  assert tc.method.estimator == "mss" and tc.method.beta == 2.0 and tc.batch_size == 1024
  long = configs.get_config("cpu1024_long")  # cpu1024's β-TCVAE (weighted, β = 6) and β = 1 at twice the updates
  assert [(m, v) for m, _, v in long.grids] == [("beta_vae", (1.0,)), ("beta_tcvae", (6.0,))]
  assert (long.batch_size, long.num_steps, long.learning_rate) == (1024, 12_500, 1e-3)
  tc_long = dict((n, c) for n, _, c, _ in configs.sweeps(long))["beta_tcvae"]
  tc_1024 = dict((n, c) for n, _, c, _ in configs.sweeps(configs.get_config("cpu1024")))["beta_tcvae"]
  assert tc_long == dataclasses.replace(tc_1024, num_steps=12_500, log_every=tc_long.log_every,
                                        eval_every=tc_long.eval_every, checkpoint_every=tc_long.checkpoint_every,
                                        keep_checkpoints=tc_long.keep_checkpoints)
  assert configs.sweep_dir(long, "/r", "beta_tcvae", "beta_tcvae") == "/r/disentanglement_study/cpu1024_long/beta_tcvae"


def _refused_until_trained(cfg, sweep_name: str, source: str, source_size: str) -> None:
  """A continued sweep's sources must be trained first: the error names the command that trains them."""
  with pytest.raises(FileNotFoundError, match=rf"{source} holds no finished sweep; size {cfg.size} continues its "
                     rf"members: train it first \(python -m experiments.disentanglement_study --size {source_size} "
                     r"--runs-root /nowhere\)"):
    configs.start_from(cfg, "/nowhere", sweep_name)


def test_gpu_lease_sizes_are_the_full_setup_cut_to_one_lease():
  full = configs.get_config("full")
  for size, grids, ref in (("gpu_lease", (("beta_vae", "beta", (1.0, 8.0)), ("beta_tcvae", "beta", (6.0,))),
                            ("beta_vae", 1.0)),
                           ("gpu_lease_tc", (("beta_tcvae", "beta", (1.0, 6.0)),), ("beta_tcvae", 1.0))):
    cfg = configs.get_config(size)
    assert (cfg.resolution, cfg.architecture, cfg.batch_size, cfg.seeds) == (full.resolution, "conv", 64, 5)
    assert (cfg.num_steps, cfg.learning_rate, cfg.grids, cfg.reference) == (20_000, 5e-4, grids, ref)
    assert (cfg.metrics.dci_train, cfg.metrics.dci_estimators) == (3000, 20) and cfg.committed
  # gpu_lease_higgins: the same schedule and metric sizes with Higgins et al.'s MLP at 64×64, β-VAE β ∈ {1, 4} as one
  # sweep (the reference's: trained and scored first by gpu_check.sh's first pass), β-TCVAE β = 6
  higgins, lease = configs.get_config("gpu_lease_higgins"), configs.get_config("gpu_lease")
  assert configs.base(higgins).model == dataclasses.replace(configs.base(lease).model, architecture="mlp",
                                                             hidden=(1200, 1200))
  assert configs.base(higgins).optimizer == configs.base(lease).optimizer and higgins.metrics == lease.metrics
  assert [(n, g) for n, _, _, g in configs.sweeps(higgins)] == [("beta_vae", ("method.beta", (1.0, 4.0))),
                                                                ("beta_tcvae", ("method.beta", (6.0,)))]
  assert configs.encoder(higgins).startswith("MLP 4096-1200-1200-10") and higgins.reference == ("beta_vae", 1.0)
  # cpu_higgins: the same model and metric sizes at REPORT §4b's budget (10,000 updates of 64), the β-VAE sweep alone
  cpu = configs.get_config("cpu_higgins")
  assert configs.base(cpu) == dataclasses.replace(configs.base(higgins), num_steps=10_000, log_every=500,
                                                  eval_every=10_000, checkpoint_every=2000)
  assert [(n, g) for n, _, _, g in configs.sweeps(cpu)] == [("beta_vae", ("method.beta", (1.0, 4.0)))]
  assert cpu.metrics == higgins.metrics and cpu.seeds == 5 and cpu.committed
  # cpu_higgins_tc: gpu_lease_higgins's grid at cpu_higgins' budget; its β-VAE sweep is cpu_higgins' (the same
  # configs, so the same folder), β-TCVAE β = 6 its own
  tc = configs.get_config("cpu_higgins_tc")
  assert configs.base(tc) == configs.base(cpu) and tc.metrics == cpu.metrics and tc.seeds == 5
  assert [(n, m, g) for n, m, _, g in configs.sweeps(tc)] == [
      ("beta_vae", "beta_vae", ("method.beta", (1.0, 4.0))), ("beta_tcvae", "beta_tcvae", ("method.beta", (6.0,)))]
  assert configs.sweeps(tc)[0][2] == configs.sweeps(cpu)[0][2]  # the β-VAE sweep's base config
  assert configs.sweep_dir(tc, "/r", "beta_vae", "beta_vae") == configs.sweep_dir(cpu, "/r", "beta_vae", "beta_vae")
  assert configs.sweep_dir(tc, "/r", "beta_tcvae", "beta_tcvae").endswith("cpu_higgins_tc/beta_tcvae")
  # cpu_higgins_beta8: β = 8 a sweep of its own; the row β ∈ {1, 4} is cpu_higgins' sweep (the same config and folder)
  b8 = configs.get_config("cpu_higgins_beta8")
  (n14, _, base14, g14), (n8, _, _, g8) = configs.sweeps(b8)
  assert (n14, g14) == ("beta_vae_beta1_4", ("method.beta", (1.0, 4.0)))
  assert (n8, g8) == ("beta_vae_beta8", ("method.beta", (8.0,)))
  assert base14 == configs.sweeps(cpu)[0][2] and configs.base(b8) == configs.base(cpu)
  assert b8.reference == ("beta_vae", 1.0) and b8.metrics == cpu.metrics and b8.seeds == 5
  assert configs.sweep_dir(b8, "/r", n14, "beta_vae") == configs.sweep_dir(cpu, "/r", "beta_vae", "beta_vae")
  assert configs.sweep_dir(b8, "/r", n8, "beta_vae") == "/r/disentanglement_study/cpu_higgins_beta8/beta_vae_beta8"
  # cpu_higgins_grid: β = 6 its own sweep; β ∈ {1, 4} cpu_higgins' sweep and β = 8 cpu_higgins_beta8's (same configs)
  grid = configs.get_config("cpu_higgins_grid")
  rows = configs.sweeps(grid)
  assert [(n, g) for n, _, _, g in rows] == [("beta_vae_beta1_4", ("method.beta", (1.0, 4.0))),
                                             ("beta_vae_beta6", ("method.beta", (6.0,))),
                                             ("beta_vae_beta8", ("method.beta", (8.0,)))]
  assert rows[0][2] == base14 and rows[2][2] == configs.sweeps(b8)[1][2] and configs.base(grid) == configs.base(cpu)
  assert grid.reference == ("beta_vae", 1.0) and grid.metrics == cpu.metrics and grid.seeds == 5
  dirs = [configs.sweep_dir(grid, "/r", n, "beta_vae") for n, *_ in rows]
  assert dirs == [configs.sweep_dir(cpu, "/r", "beta_vae", "beta_vae"),
                  "/r/disentanglement_study/cpu_higgins_grid/beta_vae_beta6",
                  configs.sweep_dir(b8, "/r", n8, "beta_vae")]
  # cpu_higgins_long: β = 1 and β = 6 one sweep for 15,000 updates, continued from those two sweeps' members
  long = configs.get_config("cpu_higgins_long")
  (name, _, base_l, grid_l), = configs.sweeps(long)
  assert (name, grid_l, long.num_steps) == ("beta_vae", ("method.beta", (1.0, 6.0)), 15_000)
  assert dataclasses.replace(base_l, num_steps=10_000, eval_every=10_000, checkpoint_every=2000) == base14
  assert configs.start_from(grid, "/r", "beta_vae_beta6") is None
  _refused_until_trained(long, "beta_vae", "cpu_higgins/beta_vae", "cpu_higgins")
  assert any(n.startswith("Continued (beta_vae): its members start from cpu_higgins/beta_vae, "
                          "cpu_higgins_grid/beta_vae_beta6") for n in configs.notes(long, [0], dci_check=False))
  # cpu_higgins_long_beta8: β = 8 continued from cpu_higgins_beta8's sweep beside cpu_higgins_long's (its runs)
  long8 = configs.get_config("cpu_higgins_long_beta8")
  (n16, _, b16, g16), (n8l, _, b8l, g8l) = configs.sweeps(long8)
  assert (n16, g16, n8l, g8l) == ("beta_vae_beta1_6", ("method.beta", (1.0, 6.0)), "beta_vae_beta8",
                                  ("method.beta", (8.0,)))
  assert b16 == base_l and long8.reference == ("beta_vae", 1.0) and long8.seeds == 5
  assert configs.sweep_dir(long8, "/r", n16, "beta_vae") == configs.sweep_dir(long, "/r", "beta_vae", "beta_vae")
  assert configs.sweep_dir(long8, "/r", n8l, "beta_vae") == ("/r/disentanglement_study/cpu_higgins_long_beta8/"
                                                            "beta_vae_beta8")
  # β = 8's members are cpu_higgins_beta8's, continued: the same configs but for the schedule's length
  b8_short = dataclasses.replace(b8l, num_steps=10_000, eval_every=10_000, checkpoint_every=2000)
  assert b8_short == configs.sweeps(b8)[1][2]
  assert configs.start_from(long8, "/nowhere", n16) is None
  _refused_until_trained(long8, n8l, "cpu_higgins_beta8/beta_vae_beta8", "cpu_higgins_beta8")
  # cpu_higgins_20k: β = 1 and β = 8 one sweep for 20,000 updates, continued from the two 15,000-update sweeps
  k20 = configs.get_config("cpu_higgins_20k")
  (n20, _, b20, g20), = configs.sweeps(k20)
  assert (n20, g20, k20.num_steps) == ("beta_vae", ("method.beta", (1.0, 8.0)), 20_000)
  assert k20.reference == ("beta_vae", 1.0)
  assert dataclasses.replace(b20, num_steps=15_000, eval_every=15_000, checkpoint_every=3000) == b16
  assert configs.sweep_dir(k20, "/r", n20, "beta_vae") == "/r/disentanglement_study/cpu_higgins_20k/beta_vae"
  _refused_until_trained(k20, n20, "cpu_higgins_long/beta_vae", "cpu_higgins_long")
  # cpu_higgins_fresh: the same recipe from scratch on fresh seeds 5–9 to 10,000 updates, in runs of its own (the
  # configs of cpu_higgins_beta8's seeds 0–4 with β = 1 beside), then continued to 20,000 by cpu_higgins_20k_fresh
  fresh = configs.get_config("cpu_higgins_fresh")
  (nf, _, bf, gf), = configs.sweeps(fresh)
  assert (nf, gf, fresh.start_from.to_dict()) == (n20, g20, {})
  assert bf == dataclasses.replace(b20, num_steps=10_000, eval_every=10_000, checkpoint_every=2000)
  fresh20 = configs.get_config("cpu_higgins_20k_fresh")
  (nf20, _, bf20, gf20), = configs.sweeps(fresh20)
  assert (nf20, gf20, bf20) == (n20, g20, b20)
  _refused_until_trained(fresh20, nf20, "cpu_higgins_fresh/beta_vae", "cpu_higgins_fresh")
  # cpu_higgins_fresh_beta16: β = 16 a sweep of its own on the fresh seeds, beside cpu_higgins_fresh's β ∈ {1, 8}
  b16cfg = configs.get_config("cpu_higgins_fresh_beta16")
  (nr, _, br, gr), (n16f, _, b16f, g16f) = configs.sweeps(b16cfg)
  assert (nr, gr, n16f, g16f) == ("beta_vae_beta1_8", gf, "beta_vae_beta16", ("method.beta", (16.0,)))
  assert br == bf and dataclasses.replace(b16f, method=bf.method) == bf and b16cfg.reference == ("beta_vae", 1.0)
  assert configs.sweep_dir(b16cfg, "/r", nr, "beta_vae") == configs.sweep_dir(fresh, "/r", nf, "beta_vae")
  assert configs.sweep_dir(b16cfg, "/r", n16f, "beta_vae") == ("/r/disentanglement_study/cpu_higgins_fresh_beta16/"
                                                               "beta_vae_beta16")
  # cpu_higgins_30k_fresh: cpu_higgins_20k_fresh's sweep continued to 30,000 (the same configs but the budget)
  fresh30 = configs.get_config("cpu_higgins_30k_fresh")
  (nf30, _, bf30, gf30), = configs.sweeps(fresh30)
  assert (nf30, gf30, fresh30.num_steps) == (n20, g20, 30_000)
  assert dataclasses.replace(bf30, num_steps=20_000, eval_every=20_000, checkpoint_every=4000) == bf20
  assert configs.sweep_dir(fresh30, "/r", nf30, "beta_vae") == ("/r/disentanglement_study/cpu_higgins_30k_fresh/"
                                                                "beta_vae")
  _refused_until_trained(fresh30, nf30, "cpu_higgins_20k_fresh/beta_vae", "cpu_higgins_20k_fresh")
  # cpu_higgins_40k_fresh: cpu_higgins_30k_fresh's sweep continued to 40,000
  fresh40 = configs.get_config("cpu_higgins_40k_fresh")
  (nf40, _, bf40, gf40), = configs.sweeps(fresh40)
  assert (nf40, gf40, fresh40.num_steps) == (n20, g20, 40_000)
  assert dataclasses.replace(bf40, num_steps=30_000, eval_every=30_000, checkpoint_every=6000) == bf30
  assert bf40.checkpoint_every == 8000  # a run cut short resumes from the last of the curve's checkpoints
  assert configs.sweep_dir(fresh40, "/r", nf40, "beta_vae") == ("/r/disentanglement_study/cpu_higgins_40k_fresh/"
                                                                "beta_vae")
  _refused_until_trained(fresh40, nf40, "cpu_higgins_30k_fresh/beta_vae", "cpu_higgins_30k_fresh")
  # cpu_higgins_30k: cpu_higgins_20k's sweep (seeds 0–4) continued to the same 30,000
  k30 = configs.get_config("cpu_higgins_30k")
  (n30, _, b30, g30), = configs.sweeps(k30)
  assert (n30, g30, b30, k30.first_seed) == (nf30, gf30, bf30, 0)
  assert configs.sweep_dir(k30, "/r", n30, "beta_vae") == "/r/disentanglement_study/cpu_higgins_30k/beta_vae"
  _refused_until_trained(k30, n30, "cpu_higgins_20k/beta_vae", "cpu_higgins_20k")
  fresh_sizes = ("cpu_higgins_fresh", "cpu_higgins_20k_fresh", "cpu_higgins_fresh_beta16", "cpu_higgins_30k_fresh",
                 "cpu_higgins_40k_fresh")
  for size in fresh_sizes:
    assert configs.seed_defaults()["first_seeds"][size] == 5
    assert configs.seed_defaults()["default_seeds"][size] == 5
  assert all(v == 0 for s, v in configs.seed_defaults()["first_seeds"].items() if s not in fresh_sizes)
  assert configs.sweep_dir(fresh, "/r", nf, "beta_vae") == "/r/disentanglement_study/cpu_higgins_fresh/beta_vae"
  assert configs.sweep_dir(fresh20, "/r", nf, "beta_vae") == "/r/disentanglement_study/cpu_higgins_20k_fresh/beta_vae"
  assert [mb.seed for mb in configs.sweep_spec(bf, gf, list(range(5, 10))).members()] == [5, 6, 7, 8, 9] * 2
  # gpu_lease_tc: both values in one sweep (one compilation), β-TCVAE's fixed α = γ = 1
  (name, method, base, grid), = configs.sweeps(configs.get_config("gpu_lease_tc"))
  assert (name, grid, base.method.alpha, base.method.gamma) == ("beta_tcvae", ("method.beta", (1.0, 6.0)), 1.0, 1.0)


def test_cpu1024_tc1_trains_both_plain_vaes_at_cpu1024s_setup():
  cfg, ref = configs.get_config("cpu1024_tc1"), configs.get_config("cpu1024")
  assert cfg.grids == (("beta_vae", "beta", (1.0,)), ("beta_tcvae", "beta", (1.0,)))
  assert cfg.reference == ("beta_vae", 1.0)
  assert (cfg.batch_size, cfg.learning_rate, cfg.resolution, cfg.num_steps) == (1024, 1e-3, 32, 3750)
  assert (cfg.batch_size, cfg.learning_rate, cfg.resolution, cfg.seeds) == (ref.batch_size, ref.learning_rate,
                                                                             ref.resolution, ref.seeds)
  assert [configs.member_label(mb) for _, _, c, g in configs.sweeps(cfg)
          for mb in sweep.make_sweep(c, dict([g]), seeds=[0]).members()] == ["β-VAE β=1 (VAE)",
                                                                           "β-TCVAE β=1 (VAE, sampled KL)"]


def test_decoder_sizes_change_only_the_decoder_or_the_net():
  """cpu1024_sbd is cpu1024's setup with the spatial broadcast decoder; cpu_conv the conv net at 32×32; every other
  size keeps the decoder that mirrors its encoder (its sweeps' configs, and so its trained runs, unchanged)."""
  ref = configs.get_config("cpu1024")
  sbd, conv = configs.get_config("cpu1024_sbd"), configs.get_config("cpu_conv")
  m = configs.base(sbd).model
  assert (m.decoder, m.broadcast_channels, m.broadcast_kernel, m.architecture, m.hidden) == (
      "broadcast", (64, 64), 1, "mlp", (512, 256))
  assert (sbd.batch_size, sbd.learning_rate, sbd.resolution, sbd.num_steps) == (1024, 1e-3, 32, 1000)
  assert sbd.grids == conv.grids == (("beta_vae", "beta", (1.0,)), ("beta_tcvae", "beta", (6.0,)))
  assert (conv.architecture, conv.resolution, conv.batch_size, conv.num_steps, conv.learning_rate) == (
      "conv", 32, 64, 20_000, 5e-4)
  assert configs.base(conv).model.decoder == configs.base(ref).model.decoder == "mirror"
  gpu, tc = configs.get_config("gpu_lease_sbd"), configs.get_config("gpu_lease_tc")  # gpu_lease_tc, new decoder
  assert configs.base(gpu).model == dataclasses.replace(configs.base(tc).model, decoder="broadcast")
  assert (gpu.grids, gpu.reference, gpu.num_steps, gpu.resolution) == (tc.grids, tc.reference, 20_000, 64)
  assert any("spatial broadcast decoder" in n for n in configs.notes(sbd, [0], dci_check=False))
  assert not any("broadcast" in n for n in configs.notes(ref, [0], dci_check=False))


def test_the_verdict_judges_the_best_beta_by_medians_and_every_beta_above_it_on_more_scores():
  method_of = {"β=1": "beta_vae", "β=6": "beta_vae", "β=8": "beta_vae", "β=4": "beta_vae", "TC": "beta_tcvae"}
  wins = {"β=6": ["mig", "dci_d"], "β=8": list(configs.HEADLINE), "β=4": ["mig"], "TC": []}
  assert configs.judged(wins, method_of, "β=1", "β=6", method_of) == ["β=6", "β=8", "TC"]
  assert configs.judged(wins, method_of, "β=1", "β=8", method_of) == ["β=8", "TC"]
  assert configs.judged({}, {"β=1": "beta_vae"}, "β=1", "β=1", {"β=1": "beta_vae"}) == []  # the reference alone


def test_redrawn_verdicts_count_the_draws_in_which_a_setting_is_above_on_every_seed():
  rows = [["β-VAE β=8", "factor_vae_metric", "5/5", "4/5", "4/5", "4/5", -0.009],
          ["β-VAE β=8", "beta_vae_metric", "5/5", "5/5", "–", "5/5", 0.02]]
  assert configs.redraw_verdicts(rows, "β = 1") == [
      "Verdict: β-VAE β=8, FactorVAE metric redrawn: above β = 1 on every seed in 1 of 3 draws (the study's and 2 "
      "from fresh keys); by the draws' mean on 4/5 seeds (smallest mean margin -0.009).",
      "Verdict: β-VAE β=8, β-VAE metric redrawn: above β = 1 on every seed in 2 of 2 draws (the study's and 1 from "
      "fresh keys); by the draws' mean on 5/5 seeds (smallest mean margin +0.020)."]


def test_sizes_are_validated():
  with pytest.raises(ValueError, match="multiple of 5"):
    configs.get_config("cpu", num_steps=1234)
  with pytest.raises(ValueError, match="unknown size 'huge'; valid sizes: full, cpu, cpu_beta, cpu64, cpu1024, "
                     "cpu64_mss, cpu_mss, cpu_mss_beta2, cpu1024_mss_beta2, cpu1024_long, cpu1024_tc1, "
                     "cpu1024_methods, cpu1024_wide, cpu_conv, cpu1024_sbd, cpu1024_sbd_grid, cpu1024_sbd_long, "
                     "cpu1024_sbd_long_tc, cpu1024_sbd_mss, cpu_higgins, cpu_higgins_tc, cpu_higgins_beta8, "
                     "cpu_higgins_grid, cpu_higgins_long, cpu_higgins_long_beta8, cpu_higgins_20k, "
                     "cpu_higgins_fresh, cpu_higgins_20k_fresh, cpu_higgins_fresh_beta16, cpu_higgins_30k_fresh, "
                     "cpu_higgins_40k_fresh, cpu_higgins_30k, gpu_lease, gpu_lease_tc, "
                     "gpu_lease_sbd, "
                     "gpu_lease_higgins, quick, smoke"):
    configs.get_config("huge")
  with pytest.raises(ValueError, match="MetricSizes.dci_train"):
    evaluation.MetricSizes(num_codes=100, dci_train=200)
  with pytest.raises(ValueError, match="both"):
    evaluation.MetricSizes(sap_train=0)


def test_a_size_may_list_a_method_in_several_rows_and_read_one_of_them_from_another_size():
  """cpu1024_sbd_grid widens cpu1024_sbd's grid: each row a sweep of its own, named after its values; the two rows
  that are cpu1024_sbd's settings are its sweeps (the same base config, grid and folder: trained once), the new ones
  train in the size's own folder, in the rows' order."""
  grid, sbd = configs.get_config("cpu1024_sbd_grid"), configs.get_config("cpu1024_sbd")
  ours = {name: (method, base, g) for name, method, base, g in configs.sweeps(grid)}
  theirs = {name: (method, base, g) for name, method, base, g in configs.sweeps(sbd)}
  assert list(ours) == ["beta_vae_beta1", "beta_vae_beta2", "beta_tcvae_beta6", "beta_tcvae_beta3"]
  assert ours["beta_vae_beta1"] == theirs["beta_vae"] and ours["beta_tcvae_beta6"] == theirs["beta_tcvae"]
  root = "/r/disentanglement_study"
  assert [configs.sweep_dir(grid, "/r", n, m) for n, (m, _, _) in ours.items()] == [
      f"{root}/cpu1024_sbd/beta_vae", f"{root}/cpu1024_sbd_grid/beta_vae_beta2", f"{root}/cpu1024_sbd/beta_tcvae",
      f"{root}/cpu1024_sbd_grid/beta_tcvae_beta3"]
  assert configs.sweep_dir(configs.get_config("cpu1024_sbd_grid", 2000), "/r", "beta_vae_beta1", "beta_vae") == (
      f"{root}/cpu1024_sbd-2000steps/beta_vae")  # a --steps override reads the other size's run at those steps
  assert [(g, b.method.beta) for _, b, g in ours.values()] == [(("method.beta", (v,)), v) for v in (1, 2, 6, 3)]
  assert {b.model for _, b, _ in ours.values()} == {configs.base(sbd).model}
  assert grid.reference == ("beta_vae", 1.0) and grid.num_steps == sbd.num_steps
  labels = [configs.member_label(mb) for _, (_, b, g) in ours.items()
            for mb in sweep.make_sweep(b, dict([g]), seeds=[0]).members()]
  assert labels == ["β-VAE β=1 (VAE)", "β-VAE β=2", "β-TCVAE β=6", "β-TCVAE β=3"]


def test_cpu1024_sbd_long_is_the_broadcast_decoder_at_three_times_the_updates_one_sweep_per_setting():
  long, sbd = configs.get_config("cpu1024_sbd_long"), configs.get_config("cpu1024_sbd")
  assert configs.base(long) == dataclasses.replace(configs.base(sbd), num_steps=3000, eval_every=3000,
                                                  checkpoint_every=600)
  assert [(n, g) for n, _, _, g in configs.sweeps(long)] == [
      ("beta_vae_beta1", ("method.beta", (1.0,))), ("beta_vae_beta2", ("method.beta", (2.0,)))]  # β = 1 first
  assert {configs.sweep_dir(long, "/r", n, m).split("/")[-2] for n, m, _, _ in configs.sweeps(long)} == {
      "cpu1024_sbd_long"}  # every sweep its own: none of the 1,000-update runs is read
  tc = configs.get_config("cpu1024_sbd_long_tc")  # its β-TCVAE, beside its β = 1 (the same sweep, trained once)
  ours = {n: (m, b, g, configs.sweep_dir(tc, "/r", n, m)) for n, m, b, g in configs.sweeps(tc)}
  theirs = {n: (m, b, g, configs.sweep_dir(long, "/r", n, m)) for n, m, b, g in configs.sweeps(long)}
  assert list(ours) == ["beta_vae", "beta_tcvae"] and ours["beta_vae"] == theirs["beta_vae_beta1"]
  assert ours["beta_tcvae"][1:] == (dataclasses.replace(configs.base(long), method=configs.method_config(
      "beta_tcvae", 6.0)), ("method.beta", (6.0,)), "/r/disentanglement_study/cpu1024_sbd_long_tc/beta_tcvae")


def test_cpu1024_sbd_mss_reads_cpu1024_sbds_plain_vae_and_trains_the_stratified_beta_tcvae_one_sweep_per_beta():
  mss, sbd = configs.get_config("cpu1024_sbd_mss"), configs.get_config("cpu1024_sbd")
  ours = {n: (m, b, g, configs.sweep_dir(mss, "/r", n, m)) for n, m, b, g in configs.sweeps(mss)}
  theirs = {n: (m, b, g, configs.sweep_dir(sbd, "/r", n, m)) for n, m, b, g in configs.sweeps(sbd)}
  assert list(ours) == ["beta_vae", "beta_tcvae_beta2", "beta_tcvae_beta3"]
  assert ours["beta_vae"] == theirs["beta_vae"]  # the same config and folder: trained once, by cpu1024_sbd
  for beta in (2, 3):
    _, b, g, folder = ours[f"beta_tcvae_beta{beta}"]
    method = configs.method_config("beta_tcvae", beta, estimator="mss")
    assert b == dataclasses.replace(configs.base(sbd), method=method)
    assert g == ("method.beta", (float(beta),))
    assert folder == f"/r/disentanglement_study/cpu1024_sbd_mss/beta_tcvae_beta{beta}"  # trained in its own folder
  labels = [configs.member_label(mb) for _, b, g, _ in ours.values()
            for mb in sweep.make_sweep(b, dict([g]), seeds=[0]).members()]
  assert labels == ["β-VAE β=1 (VAE)", "β-TCVAE (MSS) β=2", "β-TCVAE (MSS) β=3"]


def test_a_setting_listed_twice_or_a_shared_sweep_that_is_not_there_is_refused(monkeypatch):
  rows = (("beta_vae", "beta", (1.0,)), ("beta_vae", "beta", (2.0,)), ("beta_vae", "beta", (2.0,)))
  monkeypatch.setitem(configs._GRIDS, "cpu1024_sbd_grid", rows)
  with pytest.raises(ValueError, match="list each setting once"):
    configs.get_config("cpu1024_sbd_grid")
  # shared_runs keys name sweeps or methods of the size; one that names neither (a typo, a row removed) would
  # silently train the setting again in the size's own folder
  monkeypatch.setitem(configs._GRIDS, "cpu1024_sbd_grid", rows[1:2])
  with pytest.raises(ValueError, match=r"shared_runs names \['beta_tcvae_beta6', 'beta_vae_beta1'\], neither"):
    configs.get_config("cpu1024_sbd_grid")
  monkeypatch.setitem(configs._GRIDS, "cpu1024_sbd_grid", rows[:2] + (("beta_tcvae", "beta", (6.0,)),))
  with pytest.raises(ValueError, match=r"shared_runs names \['beta_tcvae_beta6'\].*'beta_tcvae'\]"):
    configs.get_config("cpu1024_sbd_grid")  # β-TCVAE in one row: its sweep is named after the method alone
  # start_from is keyed by sweep name: a key that names none would train the setting from scratch instead
  monkeypatch.setitem(configs._GRIDS, "cpu_higgins_long", (("beta_vae", "beta", (1.0,)),
                                                          ("beta_vae", "beta", (6.0,))))
  with pytest.raises(ValueError, match=r"start_from names \['beta_vae'\], not one of its sweeps \['beta_vae_beta1', "
                     r"'beta_vae_beta6'\]"):
    configs.get_config("cpu_higgins_long")


def test_methods_flag_always_selects_the_reference_and_both_kinds_of_script_parse_it():
  import argparse
  assert configs.selected_methods(configs.get_config("cpu"), None) is None  # no flag: every method
  assert configs.selected_methods(configs.get_config("cpu"), ["beta_tcvae"]) == ["beta_vae", "beta_tcvae"]
  assert configs.selected_methods(configs.get_config("gpu_lease_tc"), ["beta_vae"])[0] == "beta_tcvae"
  for reads in (False, True):
    p = argparse.ArgumentParser()
    configs.add_selection_flags(p, reads=reads)
    args = p.parse_args(["--methods", "factor_vae", "--only-trained"])
    assert args.methods == ["factor_vae"] and args.only_trained
    with pytest.raises(SystemExit):  # a method the study does not know
      p.parse_args(["--methods", "vq_vae"])
