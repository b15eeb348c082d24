"""Bad counts and sizes on the command lines are argparse's usage errors naming the flag, before any work."""

import argparse
import importlib

import pytest

from experiments import arg_types


def test_at_least_takes_whole_numbers_from_its_minimum_and_names_what_it_wants():
  one, zero = arg_types.at_least(1), arg_types.at_least(0)
  assert one("3") == 3 and zero("0") == 0
  for parse, bad in ((one, "0"), (one, "-2"), (one, "two"), (one, "1.5"), (zero, "-1")):
    with pytest.raises(argparse.ArgumentTypeError, match=f"a whole number of at least .*, got '{bad}'"):
      parse(bad)


def test_require_errors_on_the_first_value_below_its_minimum_and_lets_defaults_pass(capsys):
  p = argparse.ArgumentParser(prog="x")
  args = argparse.Namespace(batch=8, sizes=[10, 0], steps=None)
  arg_types.require(p, argparse.Namespace(batch=8, sizes=[10], steps=None), batch=1, sizes=1, steps=1)
  with pytest.raises(SystemExit) as e:
    arg_types.require(p, args, batch=1, sizes=1)
  assert e.value.code == 2 and "argument --sizes: a whole number of at least 1, got '0'" in capsys.readouterr().err


@pytest.mark.parametrize("module,argv,flag", [
    ("benchmarks.adam_passes", ["--steps", "0"], "--steps"),
    ("benchmarks.bernoulli_draw", ["--batches", "128", "0"], "--batches"),
    ("benchmarks.conv_xla_options", ["--rounds", "0"], "--rounds"),
    ("benchmarks.dci", ["--rounds", "0"], "--rounds"),
    ("benchmarks.fusion_barrier", ["--calls", "0"], "--calls"),
    ("benchmarks.host_memory", ["--batch", "0"], "--batch"),
    ("benchmarks.loop_parts", ["--batch", "0"], "--batch"),
    ("benchmarks.profile_conv", ["--steps", "0"], "--steps"),
    ("benchmarks.profile_step", ["--batch", "0"], "--batch"),
    ("benchmarks.run", ["--only", "mlp128", "--repeats", "0"], "--repeats"),
    ("benchmarks.shuffle", ["--sizes", "0"], "--sizes"),
    ("benchmarks.study_startup", ["--chunks", "256", "0"], "--chunks"),
    ("benchmarks.sweep", ["--steps-scale", "0"], "--steps-scale"),
    ("benchmarks.tc_estimator", ["--members", "0"], "--members"),
])
def test_every_benchmark_script_refuses_a_zero_size_before_any_work(module, argv, flag, capsys):
  with pytest.raises(SystemExit) as e:
    importlib.import_module(module).main(argv)
  assert e.value.code == 2 and f"argument {flag}: a whole number of at least 1, got '0'" in capsys.readouterr().err


def test_the_sweep_benchmark_names_a_bad_members_list(capsys):
  from benchmarks import sweep

  for bad in ("1,0", "4,x", "²"):
    with pytest.raises(SystemExit) as e:
      sweep.main(["--members", bad])
    assert e.value.code == 2 and "--members: a comma-separated list of whole numbers ≥ 1" in capsys.readouterr().err
  with pytest.raises(SystemExit) as e:
    sweep.main(["--quick", "--members", "16,64"])
  assert e.value.code == 2 and "--quick keeps only member counts ≤ 4" in capsys.readouterr().err
