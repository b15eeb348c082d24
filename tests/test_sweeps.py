"""sweeps.begin: what every experiment script starts from (flags, folders, seeds, the command it records)."""

import os
import sys

from experiments import sweeps


def test_begin_parses_and_prepares(tmp_path):
  argv = ["--size", "smoke", "--results-dir", str(tmp_path / "res")]
  setup = sweeps.begin(sweeps.parser("test"), "bottleneck", argv)
  assert setup.args.size == "smoke" and setup.seeds == [0] and setup.argv == argv
  assert (setup.results_dir, setup.figures_dir) == sweeps.output_dirs(setup.args, "bottleneck")
  assert os.path.isdir(setup.figures_dir)
  assert setup.command == "python -m experiments.bottleneck " + " ".join(argv)


def test_begin_reads_sys_argv_and_default_seeds(tmp_path, monkeypatch):
  monkeypatch.setattr(sys, "argv", ["prog", "--size", "quick", "--runs-root", str(tmp_path)])
  setup = sweeps.begin(sweeps.parser("test", extra_sizes=("higgins",)), "beta_vae_sprites",
                       default_seeds={"quick": 1})
  assert setup.seeds == [0] and setup.args.seeds == 1  # recorded by write_results through args
  assert setup.figures_dir == str(tmp_path / "quick-results" / "figures") and os.path.isdir(setup.figures_dir)
  assert setup.command == f"python -m experiments.beta_vae_sprites --size quick --runs-root {tmp_path}"
  assert sweeps.begin(sweeps.parser("test"), "x", ["--size", "quick", "--runs-root", str(tmp_path)]).seeds == [0, 1, 2]
  assert sweeps.begin(sweeps.parser("test"), "x", ["--runs-root", str(tmp_path), "--results-dir", str(tmp_path),
                                                   "--size", "quick", "--seeds", "2"],
                      default_seeds={"quick": 1}).seeds == [0, 1]


def test_begin_without_flags_records_the_bare_command(tmp_path, monkeypatch):
  monkeypatch.setattr(sweeps, "RESULTS_DIR", str(tmp_path / "results"))  # full runs write into experiments/
  monkeypatch.setattr(sweeps, "FIGURES_DIR", str(tmp_path / "figures"))
  setup = sweeps.begin(sweeps.parser("test"), "stacked", [])
  assert setup.command == "python -m experiments.stacked" and setup.args.size == "full"
  assert setup.figures_dir == str(tmp_path / "figures") and os.path.isdir(setup.figures_dir)
