"""Smoke run of the benchmark code path (tiny sizes, no timing assertions), and the bit-identity that the
step's speed-ups rely on: the unrolled threefry keys and the cached epoch shuffles change no result."""

import collections
import json
import os
import re
import statistics

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from benchmarks import bound
from vae_jax import train

KEY_OPS = {
    "split": lambda k: jax.random.key_data(jax.random.split(k, (3, 4))),
    "fold_in": lambda k: jax.random.key_data(jax.random.fold_in(k, jnp.int32(123_456))),
    "bits32": lambda k: jax.random.bits(k, (5, 7)),
    "bits8": lambda k: jax.random.bits(k, (9,), jnp.uint8),
    "bits_scalar": lambda k: jax.random.bits(k, ()),
    "uniform": lambda k: jax.random.uniform(k, (64, 28, 28, 1)),
    "normal": lambda k: jax.random.normal(k, (128, 20)),
    "bernoulli": lambda k: jax.random.bernoulli(k, jax.random.uniform(jax.random.key(1), (32, 8, 8, 1))),
    "permutation": lambda k: jax.random.permutation(k, 1000),
    "randint": lambda k: jax.random.randint(k, (50, 5), 0, 40),
    "empty": lambda k: jax.random.uniform(k, (0, 3)),
}


@pytest.mark.parametrize("op", sorted(KEY_OPS))
def test_unrolled_threefry_keys_draw_the_same_bits(op):
  key = jax.random.key(7)
  fast = train.fast_key(key)
  assert jax.random.key_impl(fast) != jax.random.key_impl(key)
  fn = KEY_OPS[op]
  want = np.asarray(fn(key))
  np.testing.assert_array_equal(np.asarray(fn(fast)), want)
  np.testing.assert_array_equal(np.asarray(jax.jit(lambda k: fn(train.fast_key(k)))(key)), want)


def test_fast_key_leaves_other_keys_alone():
  rbg = jax.random.key(0, impl="rbg")
  assert train.fast_key(rbg) is rbg
  raw = jax.random.PRNGKey(0)
  assert train.fast_key(raw) is raw


def test_cached_epoch_shuffles_give_the_same_rows():
  src = train.ArrayBatches(shuffle_key=jax.random.key(0), num_examples=50, batch_size=8)
  cache = {}
  for start, n in [(0, 4), (4, 4), (5, 7), (12, 13), (30, 2)]:
    want = np.asarray(jax.jit(lambda s, t, n=n: s.indices(t, n))(src, jnp.int32(start)))
    cached = src.with_permutations(start, n, cache)
    got = np.asarray(jax.jit(lambda s, t, n=n: s.indices(t, n))(cached, jnp.int32(start)))
    np.testing.assert_array_equal(got, want)
    assert min(cache) == start // src.steps_per_epoch  # epochs behind the window are dropped


def test_benchmark_smoke_plan_has_every_group():
  from benchmarks import plan

  assert [g["id"] for g in plan.build("smoke")] == ["mlp128", "conv", "is_nll", "scaling"]


def test_benchmark_plan_baseline_adds_the_other_checkouts_rows():
  from benchmarks import plan

  groups = {g["id"]: [c["id"] for c in g["contenders"]] for g in plan.build("smoke", baseline="/other/checkout")}
  assert {"conv_jax:baseline", "conv_jax_xla:baseline", "conv_jax_host:baseline"} <= set(groups["conv"])
  assert "is_nll:baseline" in groups["is_nll"] and "conv_jax_flax_layers:baseline" not in groups["conv"]
  assert "is_nll_fast_key:baseline" not in groups["is_nll"] and "scaling" in groups
  base = next(c for g in plan.build("smoke", ["is_nll"], "/other/checkout") for c in g["contenders"]
              if c["id"] == "is_nll:baseline")
  assert base["env"]["BENCH_TREE"] == "/other/checkout" and "[baseline]" in base["label"]


@pytest.mark.parametrize("mode", ["smoke", "quick", "full"])
def test_benchmark_plan_mlp_groups_have_the_pythae_and_bare_epoch_rows(mode):
  from benchmarks import plan

  for group in plan.build(mode, ["mlp128", "mlp1024"]):
    ids = [c["id"] for c in group["contenders"]]
    b = group["contenders"][0]["batch"]
    assert f"pythae@{b}" in ids and ids.index(f"bare_epoch@{b}") == ids.index(f"bound@{b}") - 1, ids
    row = next(c for c in group["contenders"] if c["id"] == f"pythae@{b}")
    assert row["module"] == "benchmarks.pythae_vae" and row["kwargs"]["epochs"] >= 2
    assert row["kwargs"]["num_train"] // b * row["kwargs"]["epochs"] > row["kwargs"]["warmup"]


# One smoke run per group (``--only``), not one run of all four: the same contenders run with the same sizes, but
# pytest-xdist can put the groups on both cores (the whole run was the suite's slowest test, 85 s idle).
@pytest.mark.parametrize("group", ["mlp128", "conv", "is_nll", "scaling"])
def test_benchmark_smoke_run_in_process(tmp_path, group):
  from benchmarks import run

  res = run.main(["--smoke", "--inprocess", "--repeats", "1", "--out-dir", str(tmp_path), "--name", "smoke",
                  "--only", group])
  saved = json.loads((tmp_path / "smoke.json").read_text())
  assert (tmp_path / "smoke.md").read_text().startswith("## vae_jax benchmarks")
  assert saved["mode"] == "smoke" and saved["machine"]["jax"] == jax.__version__
  assert set(saved["groups"]) == {group}
  for rows in res["groups"].values():
    for row in rows:
      # Every contender ran or says why not (PyTorch is optional); no timing is asserted.
      assert row["images_per_s"] is not None or row["error"], row
      if row["id"].startswith(("torch", "conv_torch")) and row["error"]:
        assert "torch" in row["error"].lower()
  if group == "mlp128":
    ids = {r["id"]: r for r in res["groups"]["mlp128"]}  # batch 16 in smoke mode
    assert ids["real_loop@16"]["images_per_s"] and ids["fused_epoch@16"]["images_per_s"]
    assert ids["bound@16"]["extra"]["per_matmul_us"]
    # the own-shape bound: the heads as one product (their FLOPs unchanged), every product measured two ways
    extra = ids["bound@16"]["extra"]
    assert set(extra["per_product_own_us"]) == {"enc.fwd", "enc.dW", "heads.fwd", "heads.dW", "heads.dx",
                                                 "dec_hidden.fwd", "dec_hidden.dW", "dec_hidden.dx", "dec_out.fwd",
                                                 "dec_out.dW", "dec_out.dx"}
    assert extra["own_bound_images_per_s"]["median"] > 0 and ids["real_loop@16"]["fraction_of_own_bound"]
    goals = {t["target"]: t for t in saved["targets"]}
    assert goals["no MLP contender above the own-shape step bound in any round (batch 128)"]["value"] is not None
    assert ids["bare_epoch@16"]["images_per_s"] and ids["bare_epoch@16"]["extra"]["steps_per_call"] == 4
    pythae_row = ids["pythae@16"]  # runs where pythae is installed, else says how to install it
    assert pythae_row["images_per_s"] or "pip install pythae" in pythae_row["error"], pythae_row
  if group == "conv":  # two bounds: own-shape (#16's definition) and peak-charged, every product in both
    ids = {r["id"]: r for r in res["groups"]["conv"]}
    extra = ids["conv_bound"]["extra"]
    assert set(extra["per_product_own_us"]) == set(extra["per_matmul_us"]) >= {"conv_0.fwd", "conv_0.dW", "out.dx"}
    assert "conv_0.dx" not in extra["per_product_own_us"]  # the image needs no gradient
    assert all(extra["per_matmul_us"][k] <= v for k, v in extra["per_product_own_us"].items())
    assert extra["own_bound_images_per_s"]["median"] <= extra["bound_images_per_s"]["median"]
    assert ids["conv_jax"]["fraction_of_own_bound"]["median"] >= ids["conv_jax"]["fraction_of_bound"]["median"]
    goals = {t["target"]: t for t in saved["targets"]}
    assert goals["no conv contender above the own-shape bound in any round"]["value"] is not None
  assert {t["target"] for t in saved["targets"]}
  if group == "is_nll":  # --render rebuilds the same tables and markdown from the raw repeats, running nothing
    md = (tmp_path / "smoke.md").read_text()
    (tmp_path / "smoke.md").unlink()
    run.main(["--render", str(tmp_path / "smoke.json")])
    assert (tmp_path / "smoke.md").read_text() == md
    assert json.loads((tmp_path / "smoke.json").read_text())["groups"] == saved["groups"]


def test_benchmark_worker_process_protocol():
  from benchmarks import driver

  probe = {"id": "probe", "module": "benchmarks.mlp_jax", "name": "probe", "kwargs": {}, "env": {}}
  worker = driver.Worker(probe, oneshot=False, timeout=300)
  ready = worker.expect("ready")
  assert ready["jax"] == jax.__version__ and ready["device_count"] >= 1
  assert worker.request("run", "result")["platform"] == ready["platform"]
  assert worker.close()["peak_rss_mb"] > 0


def test_benchmark_pythae_row_says_how_to_install_pythae_when_it_is_missing(monkeypatch):
  import sys

  from benchmarks import driver, pythae_vae

  monkeypatch.setitem(sys.modules, "pythae", None)  # `import pythae` now raises ImportError
  with pytest.raises(ImportError, match="pythae not installed: pip install pythae"):
    pythae_vae.PythaeTrainer(batch=16, num_train=64, warmup=1).setup()
  contender = {"id": "pythae@16", "module": "benchmarks.pythae_vae", "name": "pythae_trainer", "oneshot": False,
               "kwargs": dict(batch=16, num_train=64, warmup=1)}
  out = driver.run_group({"contenders": [contender]}, 1, inprocess=True, log=lambda s: None)["pythae@16"]
  assert out["error"] == pythae_vae.INSTALL_HINT and out["runs"] == [None]


def test_a_skipped_rows_reason_stays_in_its_cell():
  from benchmarks import report

  row = {"label": "pytorch", "error": "ImportError: no torch\n  try: pip install torch | tail", "images_per_s": None}
  line = report.markdown("MLP", [row]).splitlines()[-1]
  assert line == "| pytorch | skipped: ImportError: no torch try: pip install torch \\| tail | | | | |"


def test_benchmark_bare_epoch_trains():
  from benchmarks import bare_epoch

  c = bare_epoch.BareEpoch(batch=16, num_train=64)
  info = c.setup()  # compiles and runs one epoch (4 steps)
  assert info["steps_per_call"] == 4 and c.batches.shape == (4, 16, 784)
  assert set(np.unique(np.asarray(c.batches))) <= {0.0, 1.0}  # binarized once, on the host
  x = c.batches.reshape(64, 784)
  before = float(bare_epoch.loss_fn(c.carry[0], x, c.key))
  for _ in range(5):
    assert c.run()["images"] == 64
  params, _, step = c.carry
  assert int(step) == 24
  after = float(bare_epoch.loss_fn(params, x, c.key))
  assert after < 0.8 * before, (before, after)


def test_a_product_is_charged_at_the_best_of_its_compilations_and_the_peak(monkeypatch):
  """The IS-NLL's bound charges each product at the fastest of XLA's defaults, the library's own compiler options
  and the matmul peak, so a library compiled with options cannot run above it (the first bound timed the defaults
  only, and the library ran at 106 % of it)."""
  timed = {None: 3e-3, "lib": 2e-3}
  monkeypatch.setattr(bound, "matmul_seconds", lambda *a, compiler_options=None, **k: timed[
      None if compiler_options is None else compiler_options["name"]])
  flop = 2 * 64 * 500 * 784
  assert bound.best_matmul_seconds("bi,io->bo", 64, 500, 784, peak=1.0, options=(None,)) == 3e-3  # peak is slower
  assert bound.best_matmul_seconds("bi,io->bo", 64, 500, 784, peak=1.0, options=(None, {"name": "lib"})) == 2e-3
  fast_peak = flop / 1e-3 / 1e9  # GFLOP/s at which the product takes 1 ms
  assert bound.best_matmul_seconds("bi,io->bo", 64, 500, 784, peak=fast_peak,
                                   options=(None, {"name": "lib"})) == pytest.approx(1e-3)


@pytest.mark.parametrize("case", ["mlp_fashion", "higgins_sprites", "conv_sprites"])
def test_sweep_benchmark_cases_build_their_configs(case):
  """Every case of benchmarks/sweep.py builds its single-run config and its sweep (a broken sprites case once
  reached the benchmark's workers as a traceback per repeat)."""
  from benchmarks import sweep as sweep_bench

  base = sweep_bench.base_config(case, 8)
  assert base.num_steps == 8 and base.log_every == 2 and base.eval_batch_size == 256
  assert base.data.name == ("fashion_mnist" if case == "mlp_fashion" else "sprites")
  if case == "conv_sprites":
    assert base.model.architecture == "conv" and base.model.conv_channels == (32, 32, 64, 64)
  assert len(sweep_bench.sweep_config(case, 4, 8).members()) == 4
  # The program-alone rows build configs of a quarter of the loop's steps, which need not divide by 4 (50 did not).
  odd = sweep_bench.base_config(case, 50)
  assert odd.log_every == 10 and odd.eval_every % odd.log_every == 0


def test_conv_xla_options_times_each_option_set(monkeypatch, capsys):
  from benchmarks import conv_xla_options

  # two of the option sets (each one compiles the conv update): the defaults and one library fusion
  monkeypatch.setattr(conv_xla_options, "OPTIONS", {k: conv_xla_options.OPTIONS[k] for k in ("XLA defaults",
                                                                                             "YNN dots")})
  medians = conv_xla_options.main(["--rounds", "1", "--batch", "2"])
  assert set(medians) == {"XLA defaults", "YNN dots"} and all(t > 0 for t in medians.values())
  out = capsys.readouterr().out
  assert "| XLA defaults |" in out and "| 1.00 |" in out


def test_tc_estimator_benchmark_writes_its_table_and_never_overwrites(tmp_path, capsys):
  """The β-TCVAE estimator benchmark times both forms for both estimators, checks they agree, writes the JSON once."""
  import json

  from benchmarks import tc_estimator

  argv = ["--rounds", "1", "--members", "2", "--batches", "40", "--latents", "3", "--name", "t",
          "--out-dir", str(tmp_path)]
  out = tc_estimator.main(argv)
  assert set(out) == {"mws@40", "mss@40"}
  assert all(r["grad_rel_diff"] < 1e-5 and r["direct_ms"] > 0 and r["blocked_ms"] > 0 for r in out.values())
  record = json.loads((tmp_path / "t.json").read_text())
  assert record["results"] == out and "benchmarks.tc_estimator" in record["command"]
  assert "| mss | 40 |" in capsys.readouterr().out
  with pytest.raises(SystemExit, match="exists"):
    tc_estimator.main(argv)


# A fresh process per round and checkout, each compiling the study's β-TCVAE sweep (≈ 10 s each on the 2-core VM):
# CI runs this checkout alone, the slow tier adds a baseline (this checkout again) and the per-round ratios. The
# baseline mechanism (benchmarks.records.checkout_rounds) also runs in CI in test_loop_parts_benchmark_...
@pytest.mark.parametrize("baseline", [False, pytest.param(True, marks=pytest.mark.slow)], ids=["alone", "baseline"])
def test_tc_estimator_benchmark_times_the_study_update_against_a_baseline(tmp_path, baseline):
  """``--study-update`` times the study's β-TCVAE sweep program in a fresh process per round and checkout (here the
  smoke size, this checkout as its own baseline) and writes both rates and their per-round ratios."""
  import json
  import os

  from benchmarks import tc_estimator

  root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # this checkout
  out = tc_estimator.main(["--study-update", "--size", "smoke", *(["--baseline", root] if baseline else []),
                           "--rounds", "1", "--steps", "2", "--name", "s", "--out-dir", str(tmp_path)])
  assert out["this checkout"]["median"] > 0
  saved = json.loads((tmp_path / "s.json").read_text())["results"]
  if baseline:
    assert out["baseline"]["median"] > 0 and len(out["ratio_per_round"]) == 1
    assert saved["ratio_median"] == out["ratio_median"]
  else:
    assert set(out) == {"this checkout"} and saved == out


def test_loop_parts_benchmark_times_the_loops_own_work_against_a_baseline(tmp_path, capsys):
  """``benchmarks.loop_parts`` times the real loop's evaluation, finiteness check, saves and waits after its first
  chunk, in a fresh process per checkout (here this one as its own baseline), and writes the JSON once."""
  import json
  import os

  from benchmarks import loop_parts

  root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
  argv = ["--smoke", "--batch", "16", "--steps", "8", "--repeats", "1", "--baseline", root, "--name", "p",
          "--out-dir", str(tmp_path)]
  out = loop_parts.main(argv)
  for name in ("this checkout", "baseline"):
    run, = out[name]["runs"]
    # 8 steps in chunks of 2, evaluated and saved every 4: after the first chunk, 2 evaluations and 2 saves
    assert run["calls"] == {"evaluate": 2, "all_finite": 2, "save": 2, "wait": 1}, run["calls"]
    assert 0 <= sum(out[name]["parts_s"].values()) < out[name]["loop_s"]
  assert json.loads((tmp_path / "p.json").read_text())["results"] == out
  assert "chunks+host" in capsys.readouterr().out
  with pytest.raises(SystemExit, match="exists"):
    loop_parts.main(argv)


# The single run's program (m = 0) compiles on conftest's 8 fake devices here (≈ 19 s on the 2-core VM; the
# benchmark's workers run it on one): the slow tier's. CI runs the sweep's program, its memory and the table.
@pytest.mark.parametrize("members", [[2], pytest.param([0, 2], marks=pytest.mark.slow)], ids=["sweep", "both"])
def test_sweep_benchmark_times_the_programs_alone_and_tabulates_them(members):
  """The "program alone" contender (issue #15: how much of a sweep's gap is the vmapped update itself) runs the
  fused program of the single run and of the sweep without the loop; the table shows their ratio."""
  from benchmarks import sweep as sweep_bench

  runs = {m: sweep_bench.program_worker("higgins_sprites", m, 1, 2) for m in members}
  for m, res in runs.items():
    assert res["members"] == m and len(res["call_s"]) == 2 and res["steady_images_per_s"] > 0
  swept = runs[2]
  assert swept["steady_images_per_s"] == pytest.approx(2 * 64 / statistics.median(swept["call_s"]))
  mem = sweep_bench._memory("higgins_sprites", 2)
  assert mem["peak_bytes_per_member"] == mem["peak_bytes"] / 2 > 0
  record = {"members": [4], "memory": {}, "rounds": [
      {"case": "higgins_sprites", "members": 4, "program_single": {"steady_images_per_s": 100.0, "peak_rss_mb": 1},
       "program_sweep": {"steady_images_per_s": 80.0, "peak_rss_mb": 2}}]}
  row = next(line for line in sweep_bench.table(record).splitlines() if line.startswith("| 4 |"))
  cells = [c.strip() for c in row.strip("|").split("|")]
  assert cells == ["4", "–", "–", "–", "–", "80 (80–80) / 100 (100–100)", "0.80 (0.80–0.80)", "–", "2"]


def test_host_memory_benchmark_runs_both_processes_and_never_overwrites(tmp_path):
  """Both modes run in their own process; with glibc the one-arena process has its setting in force."""
  from benchmarks import host_memory
  from vae_jax import host_memory as library

  argv = ["--images", "6", "--batch", "4", "--rounds", "1", "--name", "h", "--out-dir", str(tmp_path)]
  out = host_memory.main(argv)
  assert out["one_arena"]["runs"][0]["one_arena"] == (library._mallopt() is not None)
  assert out["glibc_default"]["runs"][0]["one_arena"] is False
  assert all(out[m]["pass_s"] > 0 and out[m]["faults_per_call"] >= 0 for m in host_memory.MODES)
  assert json.loads((tmp_path / "h.json").read_text())["results"]["speedup_one_arena"] == out["speedup_one_arena"]
  with pytest.raises(SystemExit, match="exists"):
    host_memory.main(argv)


def test_sweep_benchmark_scales_its_updates_skips_memory_and_never_overwrites(tmp_path, monkeypatch):
  """--steps-scale multiplies every case's updates (the CPU sizes last milliseconds on a GPU), --no-memory skips the
  memory workers, and a second run under the same tag is refused instead of replacing the first's results."""
  from benchmarks import sweep as sweep_bench

  calls = []

  def spawn(flags, timeout):
    calls.append(flags)
    return {"steady_images_per_s": 1.0, "wall_s": 1.0, "peak_rss_mb": 1.0}

  monkeypatch.setattr(sweep_bench, "_spawn", spawn)
  monkeypatch.setattr(sweep_bench, "RESULTS", str(tmp_path))
  argv = ["--only", "conv_sprites", "--members", "64", "--contenders", "loop", "--repeats", "1", "--steps-scale",
          "100", "--no-memory", "--tag", "t"]
  sweep_bench.main(argv)
  steps = sweep_bench.CASES["conv_sprites"][1]
  assert sorted(c[1:] for c in calls) == sorted([["conv_sprites", "single", "1", str(100 * steps[1])],
                                                 ["conv_sprites", "sweep", "64", str(100 * steps[64])]])
  assert not any(c[0] == "--memory-worker" for c in calls)
  assert json.loads((tmp_path / "sweep_t.json").read_text())["memory"] == {}
  with pytest.raises(SystemExit, match="sweep_t.json exists: pick another --tag"):
    sweep_bench.main(argv)
  with pytest.raises(SystemExit):
    sweep_bench.main([*argv[:-1], "u", "--steps-scale", "0"])
  assert len(calls) == 2 and not (tmp_path / "sweep_u.json").exists()


def test_dci_benchmark_times_both_ways_checks_equal_scores_and_never_overwrites(tmp_path):
  from benchmarks import dci as dci_bench

  argv = ["--train", "200", "--test", "100", "--estimators", "2", "--rounds", "2", "--name", "d", "--out-dir",
          str(tmp_path)]
  out = dci_bench.main(argv)
  assert out["scores_equal"] and len(out["seconds"]["threads"]) == 2 and out["speedup_threads"] > 0
  assert json.loads((tmp_path / "d.json").read_text())["results"]["median_s"] == out["median_s"]
  with pytest.raises(SystemExit, match="exists"):
    dci_bench.main(argv)


def test_study_startup_records_the_first_chunk_the_rate_and_equal_scores_per_chunk_size(tmp_path):
  from benchmarks import study_startup

  out = tmp_path / "startup.json"
  rec = study_startup.main(["--size", "smoke", "--steps", "10", "--seeds", "1", "--points", "40", "--chunks", "32",
                            "128", "--out", str(out)])
  assert json.loads(out.read_text())["members"] == rec["members"] == 2  # β ∈ {1, 4} × one seed
  assert rec["first_call_s"] > 0 and rec["images_per_sec"] > 0
  assert [(r["round"], r["chunk"]) for r in rec["interventions"]] == [(0, 32), (0, 128), (1, 32), (1, 128)]
  assert len({(r["beta_vae_metric"], r["factor_vae_metric"]) for r in rec["interventions"]}) == 1  # same draws


def test_workers_python_path_puts_the_checkout_first_and_never_an_empty_entry(monkeypatch):
  from benchmarks import driver

  monkeypatch.delenv("PYTHONPATH", raising=False)
  assert driver.python_path("/a") == "/a"  # not "/a:" (an empty entry is the working directory)
  monkeypatch.setenv("PYTHONPATH", os.pathsep.join(["/x", "", "/y"]))
  assert driver.python_path("/t", "/a") == os.pathsep.join(["/t", "/a", "/x", "/y"])


def test_targets_read_the_largest_round_of_any_contender_for_a_bound_and_keep_it_an_upper_limit():
  from benchmarks import report

  def row(cid, own=None, peak=None, own_max=None):
    s = lambda v, top=None: None if v is None else {"median": v, "min": v, "max": top or v}  # noqa: E731
    return {"id": cid, "fraction_of_own_bound": s(own, own_max), "fraction_of_bound": s(peak)}

  bounds = "no conv contender above the own-shape bound in any round"
  tables = {"conv": [row("conv_jax", 0.7, 0.5, own_max=0.88), row("conv_torch", 0.4, 0.3), row("conv_bound")]}
  got = {t["target"]: t for t in report.targets(tables)}
  assert got[bounds] == {"target": bounds, "value": 0.88, "met": True}  # its largest round, not its median
  own = next(t for t in got.values() if t["target"].startswith("conv β-VAE ≥ 60 % of its step bound as #16"))
  peak = next(t for t in got.values() if t["target"].startswith("conv β-VAE ≥ 60 % of the peak-charged"))
  assert (own["value"], own["met"], peak["value"], peak["met"]) == (0.7, True, 0.5, False)
  tables["conv"].append(row("conv_jax_host", 0.9, 0.8, own_max=1.02))  # one round above a "bound": not one
  assert report.targets(tables)[3] == {"target": bounds, "value": 1.02, "met": False}
  assert all(t["value"] is None for t in report.targets({}) if "MLP" in t["target"])  # no group: not measured


def test_the_mlp_own_shape_bound_charges_the_same_flops_with_the_heads_as_one_product():
  from benchmarks import bound

  def flop(layers):
    return sum(2 * b * i * o for _, _, b, i, o in bound.step_matmuls(128, layers))

  assert flop(bound.MLP_LAYERS_FUSED_HEADS) == flop(bound.MLP_LAYERS)
  assert sum(i * o for _, i, o, _ in bound.MLP_LAYERS_FUSED_HEADS) == sum(i * o for _, i, o, _ in bound.MLP_LAYERS)
  # one jitted program of independent products, timed per product: positive and finite
  assert 0 < bound.program_matmul_seconds("bi,io->bo", 4, 8, 2, copies=2, reps=1) < 1


def test_profile_conv_sets_each_layer_beside_its_products_bound():
  from benchmarks import profile_conv

  ms = {"encoder/conv_1 | conv/matmul": 10.0, "encoder/conv_1 | other": 2.0, "decoder/out | other": 3.0,
        "optimizer | other": 5.0}
  own_us = {"conv_1.fwd": 1000.0, "conv_1.dW": 2000.0, "conv_1.dx": 3000.0, "out.fwd": 500.0, "out.dW": 500.0,
            "out.dx": 500.0, "conv_10.fwd": 9e9, "dense_0.fwd": 7.0}
  got = profile_conv.against_bound(ms, own_us)
  assert got["encoder/conv_1"] == (12.0, 6.0) and got["decoder/out"] == (3.0, 1.5)
  assert got["encoder/conv_0"] == (0.0, 0.0) and "optimizer" not in got and len(got) == 8


def test_profile_step_sorts_a_steps_kernels_and_bounds_what_the_step_bound_leaves():
  from benchmarks import profile_step

  w = jnp.ones((64, 32), jnp.float32)  # a "parameter": its shape marks optimizer-like kernels

  def step(w, x, key):
    order = jnp.argsort(jax.random.uniform(key, (256,)))  # a shuffle: a sort
    bits = jax.random.bernoulli(jax.random.fold_in(key, 1), x[order[:8]])  # dynamic binarization: random bits
    h = bits.astype(jnp.float32) @ w  # a matmul
    return w - 0.1 * jnp.square(w) * jnp.sum(h), jnp.tanh(h).sum()  # a parameter-shaped update; other elementwise

  args = (w, jnp.full((256, 64), 0.5, jnp.float32), jax.random.key(0))
  hlo = jax.jit(step).lower(*args).compile().as_text()
  cats = profile_step.classify(hlo, {"f32[64,32]"})
  assert set(profile_step.CATEGORIES) <= set(cats.values()), collections.Counter(cats.values())
  # a conditional's event spans its branch's kernels: a container, left out of the categories
  branchy = jax.jit(lambda p, x: jax.lax.cond(p, jnp.sin, jnp.cos, x)).lower(True, args[1]).compile().as_text()
  conds = re.findall(r"%([\w.\-]+) = \S+ conditional\(", branchy)
  assert conds and not set(conds) & set(profile_step.classify(branchy, set()))
  assert profile_step.ceiling(100.0, 25.0) == 0.8 and profile_step.ceiling(100.0, 0.0) == 1.0
  # two threads' kernels: busy [0, 4) ∪ [2, 6) ∪ [8, 10) = 8 of the 10 µs from first start to last end
  assert profile_step.idle_share([(8, 10), (0, 4), (2, 6)]) == pytest.approx(0.2) and profile_step.idle_share([]) == 0
  # each gap charged to the kernel whose event ended last before it: [6, 8) to b (a ended at 4), [10, 11) to c;
  # nothing after the last kernel
  owners = profile_step.gap_owners([(8, 10, "c"), (0, 4, "a"), (2, 6, "b"), (11, 12, "d")])
  assert owners == {"b": 2, "c": 1} and not profile_step.gap_owners([])
  with pytest.raises(ValueError, match="bound_us > 0"):
    profile_step.ceiling(0.0, 1.0)
  # the library's custom calls by their targets: the Bernoulli handler's draw is random bits, the fused Adam the update
  from vae_jax import data, threefry_bernoulli
  if threefry_bernoulli.enabled():
    draw = jax.jit(data.binarize_dynamic).lower(jax.random.key(0), args[1]).compile().as_text()
    calls = re.findall(r'%([\w.\-]+) = .*custom_call_target="vae_jax_threefry_bernoulli"', draw)
    cats = profile_step.classify(draw, set())
    assert calls and {cats[c] for c in calls} == {"random bits"}


def test_profile_step_main_traces_the_step_times_its_products_in_rounds_and_writes_a_record(tmp_path):
  from benchmarks import profile_step

  argv = ["--batch", "8", "--num-steps", "2", "--chunks", "1", "--num-train", "64", "--rounds", "2", "--name", "p",
          "--out-dir", str(tmp_path)]
  res = profile_step.main(argv)
  assert res["steps"] == 2 and res["us_per_step"]["matmul"] > 0 and 0 <= res["idle_share"] < 1
  assert set(res["gap_after_us_per_step"]) == set(profile_step.CATEGORIES)
  assert len(res["matmul_rounds"]) == 2 and all(r["alone_us"] > 0 and r["in_step_us"] > 0 and
                                                r["ratio"] == r["in_step_us"] / r["alone_us"]
                                                for r in res["matmul_rounds"])
  record = json.loads((tmp_path / "p.json").read_text())
  assert record["results"]["matmul_rounds"] == res["matmul_rounds"] and "loadavg_start" in record["machine"]
  with pytest.raises(SystemExit, match="exists"):  # results are never overwritten
    profile_step.main(argv)
  for bad in (["--batch", "0"], ["--num-steps", "0"], ["--rounds", "-1"], ["--batch", "8", "--num-train", "4"]):
    with pytest.raises(SystemExit):  # argparse's error: a message and exit status 2, before any work
      profile_step.main(bad)


def test_paired_bound_times_each_contender_beside_the_bound_round_by_round_and_writes_a_record(tmp_path, capsys):
  from benchmarks import paired_bound, run

  argv = ["--batch", "8", "--rounds", "2", "--stack", "2", "--reps", "1", "--num-train", "64", "--peak-n", "64",
          "--bandwidth-floats", "65536", "--real-loop-steps", "4", "--name", "pb", "--out-dir", str(tmp_path)]
  res = paired_bound.main(argv)
  names = ["real loop's step program", "minimal fused epoch", "real loop"]
  assert res["contenders"] == names and len(res["rounds"]) == 2
  for row in res["rounds"]:
    assert row["bound"] > 0 and all(row[n] > 0 and row[f"{n} / bound"] == row[n] / row["bound"] for n in names)
  s = res["summary"]
  for n in names:  # medians of two rounds: their mean
    fractions = [r[f"{n} / bound"] for r in res["rounds"]]
    assert s[n]["fraction"] == pytest.approx(sum(fractions) / 2) and s[n]["fraction_max"] == max(fractions)
    assert s[n]["best_over_best"] == max(r[n] for r in res["rounds"]) / max(r["bound"] for r in res["rounds"])
  assert s["largest_fraction"] == max(s[n]["fraction_max"] for n in names)
  out = capsys.readouterr().out
  assert "paired rounds" in out and "largest round of any contender" in out
  record = json.loads((tmp_path / "pb.json").read_text())
  assert record["results"]["summary"] == s and "loadavg_start" in record["machine"]
  assert record["commit"] == run._commit()  # the code measured, read before the rounds
  with pytest.raises(SystemExit, match="exists"):  # results are never overwritten
    paired_bound.main(argv)
  for bad in (["--batch", "0"], ["--rounds", "0"], ["--stack", "0"], ["--reps", "0"], ["--real-loop-steps", "117"],
              ["--batch", "8", "--num-train", "64", "--real-loop-steps", "1"], ["--batch", "8", "--num-train", "4"]):
    with pytest.raises(SystemExit) as e:  # argparse's error: a message and exit status 2, before any work
      paired_bound.main(bad)
    assert e.value.code == 2, bad
  assert "leaves no chunk after the loop's first" in capsys.readouterr().err


def test_paired_bound_rounds_rotate_and_charge_the_own_shape_bound(monkeypatch):
  from benchmarks import mlp_jax, paired_bound

  calls = []

  def chunks(label, speed):
    return paired_bound._Chunks(label, 10, 2, lambda: calls.append(label) or 20 / speed)

  class Loop:
    def __init__(self, batch, steps, **kw):
      pass

    def setup(self):
      return {}

    def run(self):
      calls.append("real loop")
      return {"images_per_s": 30.0}

  def fake_bound(batch, **kw):
    calls.append("bound")
    return {"own_bound_images_per_s": 100.0, "bound_images_per_s": 400.0}  # the peak-charged one must not be used

  monkeypatch.setattr(paired_bound, "_loop_step", lambda b, s, n: chunks("real loop's step program", 80.0))
  monkeypatch.setattr(paired_bound, "_minimal", lambda b, s: chunks("minimal fused epoch", 90.0))
  monkeypatch.setattr(mlp_jax, "RealLoop", Loop)
  monkeypatch.setattr(bound, "mlp_step_bound", fake_bound)
  res = paired_bound.rounds(10, rounds=4, stack=2, reps=2, real_loop_steps=300, progress=lambda line: None)
  names = ["bound", "real loop's step program", "minimal fused epoch", "real loop"]
  assert [r["order"] for r in res["rounds"]] == [names[k:] + names[:k] for k in range(4)]
  expected = [n for k in range(4) for n in names[k:] + names[:k] for _ in range(1 if n in ("bound", "real loop")
                                                                              else 2)]  # chunks: the best of reps
  assert calls == expected
  for r in res["rounds"]:
    assert r["real loop's step program / bound"] == pytest.approx(0.8) and r["real loop / bound"] == 0.3
  monkeypatch.setattr(Loop, "run", lambda self: {"images_per_s": None})  # one chunk: no steady throughput
  with pytest.raises(RuntimeError, match="no steady throughput"):
    paired_bound.rounds(10, rounds=1, stack=2, reps=1, real_loop_steps=300, progress=lambda line: None)


def test_paired_bound_summary_flags_a_round_above_the_bound():
  from benchmarks import paired_bound

  rows = [{"bound": 100.0, "a": 90.0, "a / bound": 0.9}, {"bound": 80.0, "a": 96.0, "a / bound": 1.2},
          {"bound": 120.0, "a": 60.0, "a / bound": 0.5}]
  s = paired_bound.summarize({"rounds": rows, "contenders": ["a"]})
  assert s["a"]["fraction"] == 0.9 and (s["a"]["fraction_min"], s["a"]["fraction_max"]) == (0.5, 1.2)
  assert s["a"]["best_over_best"] == 96.0 / 120.0 and s["largest_fraction"] == 1.2 and s["bound_images_per_s"] == 100


def test_adam_passes_times_optax_the_stacked_update_and_fused_adam_on_the_same_numbers():
  from benchmarks import adam_passes
  from vae_jax import fused_adam

  res = adam_passes.main(["--steps", "3", "--rounds", "1"])  # measure() asserts equal parameters and norms first
  assert res["parameters"] == bound.MLP_PARAMS and res["ratio"] > 0
  assert all(res[k]["us_per_step"] > 0 for k in ("optax", "one pass"))
  assert ("fused_adam" in res) == fused_adam.available() and res.get("fused_ratio", 1) > 0
  assert ("fused, XLA's norm" in res) == fused_adam.available() and res.get("norm_ratio", 1) > 0


def test_bernoulli_draw_times_jax_random_the_unrolled_hash_and_the_handler_on_the_same_bits():
  from benchmarks import bernoulli_draw
  from vae_jax import threefry_bernoulli

  results = bernoulli_draw.main(["--batches", "4", "--draws", "2", "--rounds", "1", "--epochs", "1",
                                  "--num-train", "32"])  # asserts equal draws first
  res = results[0]
  assert res["pixels"] == 4 * 784 and all(res[k]["us_per_draw"] > 0 for k in ("jax.random", "unrolled"))
  assert ("handler" in res) == threefry_bernoulli.available()
  assert ("x_handler" in res["unrolled"]) == threefry_bernoulli.available()
  assert len(results) == 1 + threefry_bernoulli.available()
  if threefry_bernoulli.available():  # the fused epoch with the draw from jax.random and from the handler
    epochs = results[1]
    assert epochs["batch"] == 4 and epochs["ratio"] > 0 and epochs["same_params"] is True


def test_shuffle_benchmark_times_both_shuffles_on_equal_permutations(capsys):
  from benchmarks import shuffle as shuffle_bench

  rows = shuffle_bench.main(["--sizes", "50", "2000", "--rounds", "2"])
  assert [(r["n"], r["rounds_of_sort"]) for r in rows] == [(50, 1), (2000, 2)]
  assert all(r["xla_ms"] > 0 and r["host_ms"] > 0 and r["xla_over_host"] > 0 for r in rows)
  assert "bit-equal" in capsys.readouterr().out
  with pytest.raises(SystemExit):
    shuffle_bench.main(["--rounds", "0"])


def test_fusion_barrier_benchmark_alternates_fresh_processes_and_compares_the_weights(monkeypatch):
  """``measure``: a worker process per variant and round, the order alternating between rounds, medians of images/s,
  per-round ratios, and whether every process ended with the same parameters (the processes faked here; the real
  ones run in the slow tier's case below, the conv contender in-process in the next test)."""
  import argparse

  from benchmarks import fusion_barrier as bench

  started, digests = [], {"0": "a", "1": "a"}

  def process(case, switch, kwargs, calls, timeout):
    assert (case, kwargs, calls) == ("conv", {"steps": 1}, 2)
    started.append(switch)
    return {"images_per_s": {"0": 100.0, "1": 110.0}[switch] + len(started), "params_sha256": digests[switch]}

  monkeypatch.setattr(bench, "_process", process)
  args = argparse.Namespace(rounds=3, calls=2, timeout=1.0)
  res = bench.measure("conv", {"steps": 1}, args)
  assert started == ["0", "1", "1", "0", "0", "1"]
  assert (res["fused_images_per_s"], res["barrier_images_per_s"]) == (104.0, 113.0)  # of 101/104/105, 112/113/116
  # per-round ratios 112/101, 113/104, 116/105: the median the third's, not the medians' ratio
  assert res["ratio"] == pytest.approx(116 / 105) and res["ratio_min"] == pytest.approx(113 / 104)
  assert res["ratio_max"] == pytest.approx(112 / 101) and res["same_params"]
  digests["1"] = "b"
  assert not bench.measure("conv", {"steps": 1}, args)["same_params"]


def test_fusion_barrier_benchmarks_conv_contender_runs_and_hashes_its_last_calls_parameters():
  from benchmarks import fusion_barrier as bench

  contender = bench.Conv(steps=1, calls=2)
  assert contender.setup()["compile_s"] > 0
  first, last = contender.run(), contender.run()
  assert first["params_sha256"] is None and re.fullmatch(r"[0-9a-f]{64}", last["params_sha256"])
  assert first["images_per_s"] > 0 and last["images_per_s"] > 0


# Both cases end to end: four fresh worker processes compiling their programs (81 s on the 2-core VM, the suite's
# costliest test), so the slow tier's. Only here run main(), _process() (the worker round trip) and the HigginsSweep
# contender; the barrier's bit-equality on small conv and MLP programs (a vmapped sweep among them) is CI's, in
# tests/test_fusion_barrier.py, and the worker protocol is test_benchmark_worker_process_protocol's.
@pytest.mark.slow
def test_fusion_barrier_benchmark_compares_the_same_training_with_and_without():
  from benchmarks import fusion_barrier as bench
  from vae_jax import fusion_barrier

  results = bench.main(["--rounds", "1", "--calls", "1", "--conv-steps", "1", "--members", "1", "--sweep-steps", "1"])
  if not fusion_barrier.available():
    assert results == []
    return
  assert [r["case"] for r in results] == ["conv", "higgins_sweep"]
  for r in results:
    assert r["same_params"] and r["fused_images_per_s"] > 0 and r["barrier_images_per_s"] > 0
