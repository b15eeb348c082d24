"""Sweeps end to end on the tiny config: members equal single runs, 1 vs 8 devices, resume, rerun, faults.

Bit-identity: a member is *not* bit-identical to the same config trained alone on CPU. The member's update is the
single run's code, but vmapped; XLA fuses and simplifies the batched program differently (e.g. it rewrites Adam's
``nu / (1 - b2**t)`` into a multiply by the reciprocal when the divisor is a per-member vector, not when it is a
scalar; SGD shows the same 1-ulp effects elsewhere in the fused step), so members differ from single runs by a few
ulp from the first update on: |Δ| ≲ 1e-7 on parameters of size ~1 after 8 steps, asserted with rtol 1e-5,
atol 1e-6. The forward pass and the gradients alone are bit-identical under vmap (checked while writing this).
A sweep is bit-identical to itself: resumed or uninterrupted, same mesh.
"""

import dataclasses
import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments import main as cli
from vae_jax import checkpoints, methods, sweep, train
from vae_jax.sweep import engine
from vae_jax.sweep import run as sweep_run

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = os.path.join(ROOT, "experiments", "configs", "tiny.py")
RTOL, ATOL = 1e-5, 1e-6


def tiny(**kw):
  c = cli.load_config_file(TINY)
  return dataclasses.replace(c, method=methods.beta_vae.Config(beta=1.0), **kw)


def four(**kw) -> sweep.SweepConfig:
  dp = kw.pop("data_parallel", 1)
  return sweep.make_sweep(tiny(**kw), {"method.beta": [1.0, 4.0]}, seeds=[0, 1], data_parallel=dp)


def leaves(tree):
  return [np.asarray(x) for x in jax.tree_util.tree_leaves(tree)]


def assert_close(a, b, rtol=RTOL, atol=ATOL):
  for x, y in zip(leaves(a), leaves(b), strict=True):
    np.testing.assert_allclose(x, y, rtol=rtol, atol=atol)


def assert_bitwise(a, b):
  for x, y in zip(leaves(a), leaves(b), strict=True):
    np.testing.assert_array_equal(x, y)


@pytest.fixture(scope="module")
def one_device(tmp_path_factory):
  """The 4-member sweep (β ∈ {1, 4} × seeds {0, 1}) on one device."""
  workdir = tmp_path_factory.mktemp("sweep1")
  res = sweep.train_sweep(four(num_devices=1), str(workdir))
  return workdir, res, jax.device_get(res["state"])


def test_members_equal_single_runs_and_load_as_single_runs(one_device, tmp_path):
  workdir, res, host = one_device
  assert res["final_step"] == 8 and res["padding_rows"] == 0 and res["mesh"] == {"member": 1, "data": 1}
  for i, mb in enumerate(four(num_devices=1).members()):
    alone = train.train_and_evaluate(mb.config, str(tmp_path / mb.name))
    assert_close(alone["state"].params, sweep.member_state(host, i).params)
    np.testing.assert_allclose(res["members"][i]["eval"]["eval/loss"], alone["eval"]["eval/loss"], rtol=RTOL)
    # The exported member is a normal run directory.
    config, _, params, test = train.load_run(str(workdir / "members" / mb.name))
    assert config == mb.config and config.seed == mb.seed and config.method.beta == mb.hparams["method.beta"]
    assert_bitwise(params, sweep.member_state(host, i).params)
    _, _, _, test_alone = train.load_run(str(tmp_path / mb.name))
    np.testing.assert_array_equal(test.images, test_alone.images)
    saved = json.loads((workdir / "members" / mb.name / "results.json").read_text())
    assert saved["seed"] == mb.seed and saved["final_step"] == 8 and set(alone) >= set(saved) - {"sweep"}
  rows = [json.loads(l) for l in (workdir / "metrics.jsonl").read_text().splitlines()]
  assert {(r["member"], r["seed"], r["method.beta"]) for r in rows} == {(0, 0, 1.0), (1, 1, 1.0), (2, 0, 4.0),
                                                                          (3, 1, 4.0)}
  assert [s["method.beta"] for s in res["summary"]] == [1.0, 4.0] and res["summary"][0]["n"] == 2
  # A member continues alone as a single run.
  last = four(num_devices=1).members()[3]
  more = train.train_and_evaluate(dataclasses.replace(last.config, num_steps=10), str(workdir / "members" / last.name))
  assert more["resumed_from"] == 8 and more["final_step"] == 10
  # load_member / load_sweep give the stacked checkpoint.
  config, state = sweep.load_member(str(workdir), 3)
  assert config == four(num_devices=1).members()[3].config
  assert_bitwise(state, sweep.member_state(host, 3))


def test_eight_devices_with_padding_equal_one_device(one_device, tmp_path):
  _, _, host = one_device
  res = sweep.train_sweep(four(), str(tmp_path))
  assert res["mesh"] == {"member": 8, "data": 1} and res["padding_rows"] == 4
  assert res["state"].members.params["mean"]["kernel"].sharding.spec[0] == engine.MEMBER_AXIS
  assert_close(jax.tree_util.tree_map(lambda a: np.asarray(a)[:4], res["state"].members), host.members, rtol=1e-4)
  assert sorted(os.listdir(tmp_path / "members")) == [m.name for m in four().members()]  # no padding written
  assert_close(host.members.params, sweep.load_sweep(str(tmp_path))[1].members.params, rtol=1e-4)


def test_resume_is_bit_identical_and_rerun_changes_nothing(one_device, tmp_path, caplog, monkeypatch):
  _, _, host = one_device
  with caplog.at_level("INFO", logger="vae_jax.sweep"):
    sweep.train_sweep(four(num_devices=1, num_steps=4), str(tmp_path))
    # no bar (tiny's progress=False): a progress line at each checkpoint, and between them every REPORT_EVERY_S
    monkeypatch.setattr(sweep_run, "REPORT_EVERY_S", 0.0)
    resumed = sweep.train_sweep(four(num_devices=1), str(tmp_path))
  assert resumed["resumed_from"] == 4 and resumed["start_step"] == 4
  messages = [r.getMessage() for r in caplog.records]
  assert [m.split(": ", 1)[1] for m in messages if "members, steps" in m] == ["4 members, steps 0 to 4.",
                                                                              "4 members, steps 4 to 8."]
  progress = [m for m in messages if "min left" in m]  # checkpoints at 4 and 8; the chunk at 6 by the clock
  assert [m.split(": step ")[1].split(" ")[0] for m in progress] == ["4/4", "6/8", "8/8"], progress
  assert all("(4 members)" in m and "images/s" in m for m in progress)
  assert_bitwise(jax.device_get(resumed["state"]), host)

  def snapshot():
    return {p: (os.stat(p).st_mtime_ns, open(p, "rb").read()) for p in (str(f) for f in tmp_path.rglob("*"))
            if os.path.isfile(p)}

  before = snapshot()
  again = sweep.train_sweep(four(num_devices=1), str(tmp_path))
  assert snapshot() == before and again["final_step"] == 8 and "state" not in again


def test_a_sweep_folder_in_use_by_another_run_is_refused_before_anything_is_written(tmp_path):
  workdir = tmp_path / "sweep"
  workdir.mkdir()
  with checkpoints.WorkdirLock(str(workdir)):  # another live process's lock (flock: a second open file conflicts)
    with pytest.raises(checkpoints.WorkdirBusy, match=rf"{workdir} is in use by another run \(PID {os.getpid()},"):
      sweep.train_sweep(four(num_devices=1), str(workdir))
  assert sorted(p.name for p in workdir.iterdir()) == [checkpoints.LOCK_FILE]  # no sweep.json, no checkpoints


def test_a_killed_sweep_keeps_each_step_once_and_times_every_invocation(one_device, tmp_path):
  uninterrupted = one_device[0]
  sweep.train_sweep(four(num_devices=1, num_steps=4), str(tmp_path))
  with open(tmp_path / "metrics.jsonl", "a") as f:  # killed after step 6's first row, in the middle of the next
    f.write(json.dumps({"step": 6, "member": 0, "train/loss": 1e9}) + "\n" + '{"step": 6, "mem')
  resumed = sweep.train_sweep(four(num_devices=1), str(tmp_path))

  def rows(workdir, drop=("train/seconds",)):
    return [{k: v for k, v in r.items() if k not in drop} for r in train.run_dir.read_history(str(workdir))]

  assert rows(tmp_path) == rows(uninterrupted)  # the lost step's rows and the torn line are gone, nothing doubled
  seconds = {r["step"]: r["train/seconds"] for r in rows(tmp_path, drop=()) if "train/seconds" in r}
  assert sorted(seconds) == [2, 4, 6, 8] and resumed["train_time_from_step"] == 0
  np.testing.assert_allclose(resumed["train_time_s"], sum(seconds.values()), rtol=1e-12)
  np.testing.assert_allclose(resumed["train_time_this_run_s"], seconds[6] + seconds[8], rtol=1e-12)
  assert all(m["train_time_s"] == resumed["train_time_s"] for m in resumed["members"])


def test_a_diverging_member_is_frozen_and_the_others_continue(one_device, tmp_path, monkeypatch):
  _, _, host = one_device
  real = engine.member_method

  def poisoned(config, hparams, model, dataset_size):
    loss_fn, extra = real(config, hparams, model, dataset_size)

    def fn(params, batch, key, step, **kw):
      loss, metrics = loss_fn(params, batch, key, step, **kw)
      bad = jnp.where((hparams["method.beta"] > 2) & (step >= 5), jnp.float32(jnp.nan), jnp.float32(1.0))
      return loss * bad, {**metrics, "loss": loss * bad}

    return fn, extra

  monkeypatch.setattr(engine, "member_method", poisoned)
  res = sweep.train_sweep(four(num_devices=1), str(tmp_path))
  status = [(r["sweep"]["status"], r["sweep"]["failed_at"], r["final_step"]) for r in res["members"]]
  assert status == [("ok", None, 8), ("ok", None, 8), ("frozen", 5, 5), ("frozen", 5, 5)]
  assert len(res["notes"]) == 2 and "non-finite at step 5" in res["notes"][0] and "method.beta" in res["notes"][0]
  assert [s["method.beta"] for s in res["summary"]] == [1.0]
  out = jax.device_get(res["state"])
  assert_close(sweep.member_state(out, 0).params, sweep.member_state(host, 0).params)
  assert all(np.all(np.isfinite(x)) for x in leaves(out.members))
  # The frozen member holds its last finite state (after step 5 updates, i.e. step 5) and reloads alone.
  _, _, params, _ = train.load_run(str(tmp_path / "members" / res["members"][2]["sweep"]["name"]))
  assert_bitwise(params, sweep.member_state(out, 2).params)
  rows = [json.loads(l) for l in (tmp_path / "metrics.jsonl").read_text().splitlines()]
  assert max(r["step"] for r in rows if r["member"] == 2 and "train/loss" in r) == 6


def test_factor_vae_members_carry_their_discriminator_and_equal_single_runs(tmp_path):
  """A method with its own extra state (FactorVAE's discriminator) trains as members: each member's VAE and
  discriminator equal the same config trained alone."""
  base = dataclasses.replace(
      tiny(num_devices=1, num_steps=4, eval_every=4, checkpoint_every=4),
      method=methods.factor_vae.Config(gamma=1.0, discriminator_hidden=(16, 16)))
  s = sweep.make_sweep(base, {"method.gamma": [1.0, 20.0]}, seeds=[0])
  res = sweep.train_sweep(s, str(tmp_path / "sweep"))
  host = jax.device_get(res["state"])
  for i, mb in enumerate(s.members()):
    alone = train.train_and_evaluate(mb.config, str(tmp_path / mb.name))
    member = sweep.member_state(host, i)
    assert jax.tree_util.tree_leaves(member.extra)  # the discriminator is part of the member's state
    assert_close(alone["state"].params, member.params)
    assert_close(alone["state"].extra, member.extra)
