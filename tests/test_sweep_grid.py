"""Sweep configs: members, validation, parsing of the command line's grid and seeds (no training)."""

import dataclasses

import pytest

from experiments import train_sweep as cli
from vae_jax import configs, methods, sweep


def base(**kw):
  return configs.Config(method=methods.beta_vae.Config(beta=1.0), **kw)


def test_members_are_combinations_times_seeds_seeds_fastest():
  s = sweep.make_sweep(base(), {"method.beta": [1, 4], "optimizer.learning_rate": [1e-3]}, seeds=[0, 5])
  ms = s.members()
  assert [(m.hparams["method.beta"], m.seed) for m in ms] == [(1.0, 0), (1.0, 5), (4.0, 0), (4.0, 5)]
  assert ms[3].config.method.beta == 4.0 and ms[3].config.seed == 5 and ms[3].config.optimizer.learning_rate == 1e-3
  assert ms[3].name == "m003_seed5_beta4_learning_rate0.001"
  assert sweep.SweepConfig.from_dict(s.to_dict()) == s


def test_validation_errors():
  with pytest.raises(ValueError, match="cannot be swept in one program"):
    sweep.make_sweep(base(), {"model.latent_dim": [2, 4]})
  with pytest.raises(ValueError, match=r"'method.beta' cannot be swept in one program for method.name='vae'"):
    sweep.make_sweep(configs.Config(), {"method.beta": [1, 4]})
  with pytest.raises(ValueError, match="distinct"):
    sweep.make_sweep(base(), {}, seeds=[1, 1])
  with pytest.raises(ValueError, match=r"method.beta must be >= 0"):  # every member validates at once
    sweep.make_sweep(base(), {"method.beta": [1, -2]})


def test_parse_seeds_and_values_and_cli():
  assert sweep.parse_seeds("0-4") == (0, 1, 2, 3, 4)
  assert sweep.parse_seeds("0-1,7") == (0, 1, 7)
  assert sweep.parse_values("method.beta", "1,2,4") == (1.0, 2.0, 4.0)
  with pytest.raises(ValueError, match="--sweep.seeds"):
    sweep.parse_seeds("a-b")
  args, overrides, grid, seeds, dp = cli.parse(
      ["--config", "c.py", "--workdir", "w", "--sweep.method.beta", "1,2", "--sweep.seeds=0-2",
       "--config.num_steps", "4", "--sweep.data_parallel", "2"])
  assert (overrides, grid, seeds, dp) == ([("num_steps", "4")], {"method.beta": "1,2"}, "0-2", 2)
  with pytest.raises(SystemExit):  # typed: an integer >= 1
    cli.parse(["--config", "c.py", "--workdir", "w", "--sweep.data_parallel", "0"])


def test_traced_config_skips_validation_only_for_the_swept_fields():
  from vae_jax.sweep import engine

  c = engine._traced_config(base(), {"method.beta": "a tracer stands here"})
  assert c.method.beta == "a tracer stands here" and c.method.name == "beta_vae"
  assert base().method.beta == 1.0  # the original is untouched
  assert dataclasses.is_dataclass(c)
