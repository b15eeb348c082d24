"""Finished sweeps trained for longer (vae_jax.sweep.extend): a continued sweep is the uninterrupted one.

Same members stacked the same way: bit for bit. Members gathered from two source sweeps: within the few ulp any two
stackings differ by (tests/test_sweep_train.py's docstring). The sources are never written to (their score caches
aside), the curve starts with the sources' checkpoints, and every way of getting it wrong is a clear error.
"""

import dataclasses
import json
import os

import jax
import numpy as np
import pytest

from experiments import main as cli
from experiments import train_sweep
from vae_jax import methods, sweep, train
from vae_jax.sweep import extend, scores

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = os.path.join(ROOT, "experiments", "configs", "tiny.py")


def tiny(**kw):
  c = cli.load_config_file(TINY)  # 8 updates of 32, checkpoints every 4
  return dataclasses.replace(c, method=methods.beta_vae.Config(beta=1.0), num_devices=1, **kw)


def betas(values, **kw) -> sweep.SweepConfig:
  return sweep.make_sweep(tiny(**kw), {"method.beta": list(values)}, seeds=[0, 1])


def leaves(tree):
  return [np.asarray(x) for x in jax.tree_util.tree_leaves(tree)]


def rows(workdir):
  return [{k: v for k, v in r.items() if k != "train/seconds"} for r in train.run_dir.read_history(str(workdir))]


def files(root):
  return {str(p): p.read_bytes() for p in root.rglob("*") if p.is_file() and p.name != "study_evals.json"}


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
  workdir = tmp_path_factory.mktemp("whole")
  res = sweep.train_sweep(betas([1.0, 4.0]), str(workdir))
  return workdir, jax.device_get(res["state"])


def test_a_continued_sweep_is_the_uninterrupted_one_bit_for_bit_and_its_sources_are_untouched(uninterrupted,
                                                                                               tmp_path):
  whole, state = uninterrupted
  src, new = tmp_path / "src", tmp_path / "new"
  sweep.train_sweep(betas([1.0, 4.0], num_steps=4), str(src))
  before = files(src)
  half = sweep.train_sweep(betas([1.0, 4.0], num_steps=6), str(new), start_from=[str(src)])  # killed at 6 …
  res = sweep.train_sweep(betas([1.0, 4.0]), str(new), start_from=[str(src)])  # … and resumed
  for x, y in zip(leaves(jax.device_get(res["state"])), leaves(state), strict=True):
    np.testing.assert_array_equal(x, y)
  assert files(src) == before
  # every member's history, the source's steps re-tagged (and the evaluation at step 6 that ended the first call)
  assert [r for r in rows(new) if r["step"] != 6 or "train/loss" in r] == rows(whole)
  assert half["start_step"] == 4 and res["start_step"] == 6 and res["train_time_from_step"] == 4
  assert res["started_from"]["step"] == 4 and res["started_from"]["sources"] == [str(src)]
  assert res["members"][3]["started_from"] == {"workdir": str(src), "name": "m003_seed1_beta4", "index": 3}
  with open(new / "members" / "m003_seed1_beta4" / "results.json") as f:
    assert json.load(f)["started_from"]["name"] == "m003_seed1_beta4"


def test_members_from_two_sources_continue_and_their_curve_starts_in_the_sources(uninterrupted, tmp_path):
  _, state = uninterrupted
  one, four, new = tmp_path / "b1", tmp_path / "b4", tmp_path / "new"
  for values, workdir in (([1.0], one), ([4.0], four)):  # checkpoints at 2 and 4
    sweep.train_sweep(betas(values, num_steps=4, checkpoint_every=2), str(workdir))
  spec = betas([1.0, 4.0])
  res = sweep.train_sweep(spec, str(new), start_from=[str(one), str(four)])
  for x, y in zip(leaves(jax.device_get(res["state"])), leaves(state), strict=True):
    np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-6)
  assert [m["started_from"]["workdir"] for m in res["members"]] == [str(one)] * 2 + [str(four)] * 2

  def kernel_sum(mb, params):
    return {"s": float(np.sum(np.asarray(params["mean"]["kernel"]))), "seed": mb.seed}

  curves = scores.score_checkpoints(spec, str(new), kernel_sum, tag="t")
  assert {n: [p["step"] for p in c] for n, c in curves.items()} == {"m000_seed0_beta1": [2, 4, 8],
                                                                     "m002_seed0_beta4": [2, 4, 8]}
  at2 = sweep.load_sweep(str(four), 2)[1].members.params["mean"]["kernel"][0]  # β = 4, seed 0 in its source
  assert curves["m002_seed0_beta4"][0] == {"step": 2, "s": float(np.sum(at2)), "seed": 0}
  at4 = sweep.load_sweep(str(new), 4)[1].members.params["mean"]["kernel"][2]  # its own first checkpoint: the same
  assert curves["m002_seed0_beta4"][1] == {"step": 4, "s": float(np.sum(at4)), "seed": 0}
  assert sweep.kept_steps(str(new)) == [4, 8] and sweep.kept_steps(str(tmp_path / "none")) == []
  with pytest.raises(FileNotFoundError, match=r"No checkpoint at step 2 in .*new/checkpoints; it keeps \[4, 8\]"):
    sweep.load_sweep(str(new), 2)  # its step 2 is its source's
  cached = scores.ScoreCache(str(four)).data  # the points up to the start in its source's folder, under its name
  assert {"curve/m000_seed0_beta4/2/t", "curve/m000_seed0_beta4/4/t"} <= set(cached)
  assert sorted(k for k in scores.ScoreCache(str(new)).data if k.startswith("curve/")) == [
      "curve/m000_seed0_beta1/8/t", "curve/m002_seed0_beta4/8/t"]


def test_a_runs_folder_moved_whole_keeps_its_continued_sweeps_resumable_and_their_curves(tmp_path):
  old, moved = tmp_path / "old", tmp_path / "moved"
  sweep.train_sweep(betas([1.0], num_steps=4, checkpoint_every=2), str(old / "src"))
  sweep.train_sweep(betas([1.0], num_steps=6), str(old / "new"), start_from=[str(old / "src")])  # killed at 6
  with open(old / "new" / extend.START_FILE) as f:
    assert json.load(f)["sources"] == [os.path.join("..", "src")]  # recorded relative to the new sweep's folder
  os.rename(old, moved)
  res = sweep.train_sweep(betas([1.0]), str(moved / "new"), start_from=[str(moved / "src")])  # resumed there
  assert (res["start_step"], res["final_step"]) == (6, 8)
  assert res["started_from"]["sources"] == [str(moved / "src")]
  assert res["members"][1]["started_from"]["workdir"] == str(moved / "src")
  curves = scores.score_checkpoints(betas([1.0]), str(moved / "new"), lambda mb, params: {"seed": mb.seed}, tag="t")
  assert [p["step"] for p in curves["m000_seed0_beta1"]] == [2, 4, 6, 8]  # the source's points found where it is now
  sweep.train_sweep(betas([1.0], num_steps=10), str(moved / "newer"), start_from=[str(moved / "new")])
  curves = scores.score_checkpoints(betas([1.0], num_steps=10), str(moved / "newer"),
                                    lambda mb, params: {"seed": mb.seed}, tag="t")
  assert [p["step"] for p in curves["m000_seed0_beta1"]] == [2, 4, 6, 8, 10]  # continued twice: the whole curve
  with pytest.raises(ValueError, match="not started from"):  # the old place is another source
    sweep.train_sweep(betas([1.0]), str(moved / "new"), start_from=[str(tmp_path / "src")])


def test_what_cannot_be_continued_is_a_clear_error(tmp_path):
  src, other = tmp_path / "src", tmp_path / "other"
  sweep.train_sweep(betas([1.0], num_steps=4), str(src))
  with pytest.raises(ValueError, match=r"m002_seed0_beta2 \(seed 0, \{'method.beta': 2.0\}\) matches 0 members"):
    sweep.train_sweep(betas([1.0, 2.0]), str(tmp_path / "a"), start_from=[str(src)])
  with pytest.raises(ValueError, match="matches 0 members"):  # another model is another trajectory
    sweep.train_sweep(sweep.make_sweep(tiny(batch_size=16), {"method.beta": [1.0]}, seeds=[0, 1]),
                      str(tmp_path / "b"), start_from=[str(src)])
  with pytest.raises(ValueError, match="not before the new sweep's num_steps=4"):
    sweep.train_sweep(betas([1.0], num_steps=4), str(tmp_path / "c"), start_from=[str(src)])
  with pytest.raises(ValueError, match="matches 2 members"):
    sweep.train_sweep(betas([1.0]), str(tmp_path / "d"), start_from=[str(src), str(src)])
  sweep.train_sweep(betas([1.0], num_steps=2), str(other))
  with pytest.raises(ValueError, match="stop at different steps"):
    sweep.train_sweep(betas([1.0]), str(tmp_path / "e"), start_from=[str(src), str(other)])
  with pytest.raises(ValueError, match="nothing is not a sweep directory"):
    sweep.train_sweep(betas([1.0]), str(tmp_path / "f"), start_from=[str(tmp_path / "nothing")])
  sweep.train_sweep(betas([1.0], num_steps=6), str(tmp_path / "g"), start_from=[str(src)])
  with pytest.raises(ValueError, match="not started from"):  # a folder continued from elsewhere is not mixed up
    sweep.train_sweep(betas([1.0]), str(tmp_path / "g"), start_from=[str(other)])
  with pytest.raises(ValueError, match=r"src was not started from .*other.* \(its record: trained from scratch\)"):
    sweep.train_sweep(betas([1.0], num_steps=4), str(src), start_from=[str(other)])  # finished, but not continued
  assert extend.provenance(str(src)) is None


def test_the_command_line_continues_a_sweep_and_says_in_one_line_what_is_wrong(tmp_path, capsys):
  base = ["--config", TINY, "--config.method.name", "beta_vae", "--sweep.seeds", "0-1", "--config.num_devices", "1"]
  train_sweep.main([*base, "--workdir", str(tmp_path / "short"), "--config.num_steps", "4"])
  res = train_sweep.main([*base, "--workdir", str(tmp_path / "long"), "--start_from", str(tmp_path / "short")])
  assert (res["start_step"], res["final_step"], res["started_from"]["step"]) == (4, 8, 4)
  with pytest.raises(SystemExit, match=r"^error: start_from: .*nowhere is not a sweep directory"):
    train_sweep.main([*base, "--workdir", str(tmp_path / "other"), "--start_from", str(tmp_path / "nowhere")])
