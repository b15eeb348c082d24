"""The shape every experiment has: ``experiments/configs/<name>.py`` (sizes, ``get_config``, ``variants``) plus a
short script ``experiments/<name>.py`` that imports no other experiment script."""

import ast
import glob
import importlib
import os

import ml_collections
import pytest

from experiments import configs, sweeps
from vae_jax.configs import Config

SCRIPTS = sorted(os.path.basename(p)[:-3] for p in glob.glob(os.path.join(sweeps.ROOT, "experiments", "*.py")))
# Modules of experiments/ that are not experiments: scripts may import these.
INFRASTRUCTURE = {"__init__", "sweeps", "fashion", "report", "claims", "run_all", "main", "train_sweep",
                  "study_overview", "arg_types"}


def _converted() -> list[str]:
  """Experiments whose config module has the one shape (a tuple ``SIZES``; the rest are being converted)."""
  out = []
  for name in SCRIPTS:
    if name in INFRASTRUCTURE or not os.path.exists(os.path.join(sweeps.ROOT, "experiments", "configs", f"{name}.py")):
      continue
    if isinstance(getattr(sweeps.config_module(name), "SIZES", None), tuple):
      out.append(name)
  return out


EXPERIMENTS = _converted()


def test_bottleneck_is_converted():
  assert "bottleneck" in EXPERIMENTS


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_every_size_builds_its_config_and_variants(name):
  module = sweeps.config_module(name)
  assert set(configs.SIZES) <= set(sweeps.sizes(name))
  for size in sweeps.sizes(name):
    cfg = sweeps.load_config(name, size)
    assert isinstance(cfg, ml_collections.ConfigDict) and cfg.size == size
    if hasattr(module, "variants"):
      variants = module.variants(cfg)
      assert variants and all(isinstance(c, Config) for c in variants.values())
  with pytest.raises(ValueError, match="valid sizes: .*smoke"):
    sweeps.load_config(name, "huge")


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_script_is_short_and_imports_no_other_experiment(name):
  path = os.path.join(sweeps.ROOT, "experiments", f"{name}.py")
  text = open(path).read()
  assert len(text.splitlines()) <= 110, f"{name}.py has {len(text.splitlines())} lines"
  assert "sys.path" not in text and "matplotlib" not in text
  if "train_sweep(" in text:  # sweeps train for hours: their progress lines (step, images/s, time left) must show
    assert 'verbose=("vae_jax.sweep",)' in text or 'verbose=("vae_jax",)' in text, f"{name}.py hides its progress"
  imported = set()
  for node in ast.walk(ast.parse(text)):
    if isinstance(node, ast.ImportFrom) and node.module == "experiments":
      imported |= {a.name for a in node.names}
    elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("experiments."):
      imported.add(node.module.split(".")[1])
    elif isinstance(node, ast.Import):
      imported |= {a.name.split(".")[1] for a in node.names if a.name.startswith("experiments.")}
  assert imported <= INFRASTRUCTURE | {"configs"}, f"{name}.py imports {sorted(imported - INFRASTRUCTURE)}"
  parser = sweeps.parser("test", name)
  assert parser.parse_args(["--size", "smoke"]).size == "smoke"


def test_sized_rejects_unknown_sizes_and_fields():
  cfg = configs.sized("quick", dict(a=1, b=(2,)), quick=dict(a=3))
  assert (cfg.a, cfg.b, cfg.size) == (3, (2,), "quick")
  with pytest.raises(ValueError, match="valid sizes: full, quick"):
    configs.sized("smoke", dict(a=1), quick=dict(a=3))
  with pytest.raises(ValueError, match="does not have"):
    configs.sized("quick", dict(a=1), quick=dict(c=3))
  with pytest.raises(AttributeError):  # locked: a typo in a script raises instead of reading a new field
    cfg.typo = 1
  with pytest.raises(ValueError, match="no config module"):
    sweeps.load_config("no_such_experiment", "smoke")


def test_config_modules_import_no_script():
  for path in glob.glob(os.path.join(sweeps.ROOT, "experiments", "configs", "*.py")):
    tree = ast.parse(open(path).read())
    for node in ast.walk(tree):
      if isinstance(node, ast.ImportFrom) and node.module == "experiments":
        assert {a.name for a in node.names} <= {"configs"}, path
    importlib.import_module(f"experiments.configs.{os.path.basename(path)[:-3]}")
