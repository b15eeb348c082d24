"""Configs validate on construction with clear messages; dotted command-line overrides with type coercion."""


import pytest

from experiments import main as cli
from vae_jax import configs
from vae_jax.methods import ae, beta_vae


@pytest.mark.parametrize("make, message", [
    (lambda: beta_vae.Config(beta=-1.0), r"method.beta must be >= 0, got -1.0"),
    (lambda: configs.ModelConfig(latent_dim=0), r"model.latent_dim must be > 0, got 0"),
    (lambda: configs.ModelConfig(kind="gan"), r"model.kind='gan' is not valid; choose one of \['ae', 'vae'"),
    (lambda: configs.DataConfig(name="cifar"), r"data.name='cifar' is not valid; choose one of \['fashion_mnist'"),
    (lambda: configs.Config(batch_size=100, num_devices=8), r"batch_size=100 is not divisible by config.num_devices=8"),
    (lambda: configs.Config(log_every=100, eval_every=150), r"eval_every=150 must be a multiple of config.log_every"),
    (lambda: ae.Config(corruption="masking", noise_level=1.5), r"must be in \[0, 1\]"),
    (lambda: configs.Config(method=ae.Config()), r"method.name='ae' needs model.kind in \['ae', 'stacked_ae'\]"),
    (lambda: configs.OptimizerConfig(learning_rate=0.0), r"learning_rate must be > 0"),
])
def test_bad_values_fail_on_construction(make, message):
  with pytest.raises(ValueError, match=message):
    make()


def test_overrides_coerce_types_and_validate():
  c = configs.Config()
  c = configs.override(c, "seed", "3")
  c = configs.override(c, "model.latent_dim", "8")
  c = configs.override(c, "model.hidden", "256,128")
  c = configs.override(c, "data.data_dir", "None")
  c = configs.override(c, "figures", "false")
  c = configs.override(c, "optimizer.learning_rate", "3e-4")
  assert (c.seed, c.model.latent_dim, c.model.hidden, c.data.data_dir, c.figures) == (3, 8, (256, 128), None, False)
  assert c.optimizer.learning_rate == 3e-4
  with pytest.raises(ValueError, match=r"Unknown config field 'model.latnt_dim'|Unknown config field 'latnt_dim'"):
    configs.override(c, "model.latnt_dim", "3")
  with pytest.raises(ValueError, match=r"cannot read 'eight' as <class 'int'>"):
    configs.override(c, "model.latent_dim", "eight")
  with pytest.raises(ValueError, match=r"model.latent_dim must be > 0"):
    configs.override(c, "model.latent_dim", "-2")


def test_dict_round_trip():
  c = configs.Config(model=configs.ModelConfig(hidden=(7, 5)), seed=9)
  assert configs.from_dict(configs.to_dict(c)) == c


def test_cli_parses_both_override_spellings():
  args, overrides = cli.parse(["--config", "x.py", "--workdir", "w", "--config.seed", "3",
                               "--config.model.latent_dim=8"])
  assert args.config == "x.py" and overrides == [("seed", "3"), ("model.latent_dim", "8")]
  with pytest.raises(SystemExit):
    cli.parse(["--config", "x.py", "--workdir", "w", "--seed", "3"])


def test_shipped_configs_construct():
  import glob
  import importlib
  import os

  root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
  paths = sorted(glob.glob(os.path.join(root, "experiments", "configs", "*.py")))
  paths = [p for p in paths if not p.endswith("__init__.py")]
  assert len(paths) >= 2
  for path in paths:
    module = importlib.import_module(f"experiments.configs.{os.path.basename(path)[:-3]}")
    if isinstance(getattr(module, "SIZES", None), tuple):  # an experiment's protocol: tests/test_experiments_configs.py
      continue
    assert isinstance(cli.load_config_file(path), configs.Config), path
