"""sweeps.begin: what every experiment script starts from (flags, folders, seeds, the command it records)."""

import os
import sys

import numpy as np
import pytest

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


def test_first_seed_shifts_the_seeds_from_the_flag_or_the_sizes_default(tmp_path):
  base = ["--runs-root", str(tmp_path), "--results-dir", str(tmp_path), "--size", "quick"]
  assert sweeps.begin(sweeps.parser("test"), "x", [*base, "--first-seed", "5"]).seeds == [5, 6, 7]
  setup = sweeps.begin(sweeps.parser("test"), "x", base, default_seeds={"quick": 2}, first_seeds={"quick": 5})
  assert setup.seeds == [5, 6] and setup.args.first_seed == 5
  assert sweeps.begin(sweeps.parser("test"), "x", [*base, "--first-seed", "0"], first_seeds={"quick": 5}).seeds == [
      0, 1, 2]  # the flag wins
  with pytest.raises(SystemExit) as exc:
    sweeps.begin(sweeps.parser("test"), "x", [*base, "--first-seed", "-1"])
  assert exc.value.code == 2


@pytest.mark.parametrize("flag,value", [("--seeds", "0"), ("--seeds", "-2"), ("--seeds", "two"), ("--workers", "0")])
def test_counts_below_one_are_a_usage_error_naming_the_flag(flag, value, tmp_path, capsys):
  # --seeds 0 once reached the scripts as no seeds at all (an IndexError on the first seed, after the imports)
  with pytest.raises(SystemExit) as exc:
    sweeps.begin(sweeps.parser("test"), "x", ["--runs-root", str(tmp_path), flag, value])
  assert exc.value.code == 2
  assert f"argument {flag}: a whole number of at least 1, got '{value}'" in capsys.readouterr().err


def test_begin_without_flags_records_the_bare_command(tmp_path, monkeypatch):
  monkeypatch.setattr(sweeps, "RESULTS_DIR", str(tmp_path / "results"))  # full runs write into experiments/
  monkeypatch.setattr(sweeps, "FIGURES_DIR", str(tmp_path / "figures"))
  setup = sweeps.begin(sweeps.parser("test"), "stacked", [])
  assert setup.command == "python -m experiments.stacked" and setup.args.size == "full"
  assert setup.figures_dir == str(tmp_path / "figures") and os.path.isdir(setup.figures_dir)


def test_a_tag_names_the_results_apart_and_only_letters_and_digits_pass(tmp_path):
  """--tag (a run on another machine, e.g. a GPU lease) gives the results their own name, so they sit beside the
  committed ones; a tag that would change the path is refused before any work."""
  argv = ["--size", "smoke", "--results-dir", str(tmp_path)]
  assert sweeps.tagged("fashion_likelihood", sweeps.begin(sweeps.parser("t", tag=True), "x", argv)) == \
      "fashion_likelihood"
  setup = sweeps.begin(sweeps.parser("t", tag=True), "x", [*argv, "--tag", "h200"])
  assert sweeps.tagged("fashion_likelihood", setup) == "fashion_likelihood_h200"
  for bad in ("../x", "h 200", "gpu-1", "é"):
    with pytest.raises(ValueError, match="--tag: letters and digits only"):
      sweeps.tagged("fashion_likelihood", sweeps.begin(sweeps.parser("t", tag=True), "x", [*argv, "--tag", bad]))
  with pytest.raises(SystemExit):  # scripts that do not name their results by tag have no such flag
    sweeps.parser("t").parse_args(["--tag", "h200"])


def test_carry_rows_keeps_only_the_rows_of_models_the_run_did_not_produce():
  """``carry_rows``: an earlier file's rows of models this run did not produce are kept, in the protocol's order;
  a comparison is kept only between two carried models; the longer column list wins, short rows padded; each carried
  model names the invocation that computed it, also through a file that had carried it itself."""
  t = sweeps.table
  earlier = {"command": "python -m x --models a", "finished": "then", "carried": {"a": "`first` (finished long ago)"},
             "tables": {"main": t(["model", "v"], [["a", 1], ["b", 2], ["c", 3]]),
                        "pairs": t(["comparison", "d"], [["b − a", 0.5], ["c − a", 0.7], ["c − b", 0.1]]),
                        "curve": t(["model", "10", "20"], [["a", 1.0, 0.9], ["b", 2.0, 1.8], ["c", 3.0, None]]),
                        "prose": ["not a table: left alone"]},
             "notes": ["b: its training time counts updates 9–10 only", "c: about c, recomputed here", "general"]}
  mine = {"main": t(["model", "v"], [["c", 30]]), "pairs": t(["comparison", "d"], []),
          "curve": t(["model", "10"], [["c", 3.1]])}
  notes = ["mine"]
  tables, carried = sweeps.carry_rows(earlier, mine, "main", ["c"], ["a", "b", "c"], notes)
  assert notes == ["mine", "b: its training time counts updates 9–10 only"]  # a carried model's notes travel with it
  assert tables["main"]["rows"] == [["a", 1], ["b", 2], ["c", 30]]
  assert tables["pairs"]["rows"] == [["b − a", 0.5]]  # c was produced here: its old comparisons are not kept
  assert tables["curve"] == t(["model", "10", "20"], [["a", 1.0, 0.9], ["b", 2.0, 1.8], ["c", 3.1, None]])
  assert carried == {"a": "`first` (finished long ago)", "b": "`python -m x --models a` (finished then)"}
  assert sweeps.table_series(tables["curve"], "nll")["c"] == [{"step": 10, "nll": 3.1}]
  assert sweeps.carry_rows(None, mine, "main", ["c"], ["c"]) == (mine, {})


def test_a_damaged_results_file_is_refused_with_a_clear_error_before_any_work(tmp_path):
  """A results file cut short or edited into something else stops a run that would read it (to keep or carry its
  rows) at once, naming the file and how to restore it; no file at all is simply no earlier results."""
  import pytest

  assert sweeps.read_results(str(tmp_path), "x") is None and sweeps.dropped_rows(str(tmp_path), "x", "t", []) == []
  (tmp_path / "x.json").write_text('{"command": "python -m experiments.x", "tables": {"t": {"col')
  with pytest.raises(ValueError, match=r"x\.json is not a results file .*not JSON.*git checkout -- .*--results-dir"):
    sweeps.dropped_rows(str(tmp_path), "x", "t", [])
  (tmp_path / "x.json").write_text("[1, 2]")
  with pytest.raises(ValueError, match=r"no tables or command"):
    sweeps.read_results(str(tmp_path), "x")


def test_train_time_says_which_updates_a_resumed_runs_seconds_count():
  notes = []
  assert sweeps.train_time({"train_time_s": 12.5, "train_time_from_step": 0, "start_step": 40, "final_step": 80},
                           "a", notes) == 12.5 and notes == []  # every invocation timed: resumed or not, no note
  assert sweeps.train_time({"train_time_s": 7.0, "train_time_from_step": 20, "final_step": 80}, "b", notes) == 7.0
  assert sweeps.train_time({"train_time_s": 3.0, "start_step": 4680, "final_step": 46800}, "c", notes) == 3.0
  assert sweeps.train_time({"train_time_s": None, "start_step": 0, "final_step": 8}, "d", notes) == 0.0
  assert notes == ["b: its training time, 7 s, counts updates 20–80 only: it was resumed, and the invocations before "
                   "did not record theirs.",
                   "c: its training time, 3 s, counts updates 4,680–46,800 only: it was resumed, and the invocations "
                   "before did not record theirs."]


def test_carry_rows_keeps_the_comparisons_of_a_model_that_reproduced_its_old_row_bit_for_bit():
  """A model retrained here whose every per-seed statistic equals its earlier row's (times may differ) is its old
  self: its comparisons with carried models stand, with a note; one that moved by one ulp is not."""
  t, ms = sweeps.table, sweeps.mean_std
  earlier = {"command": "python -m x", "finished": "then",
             "tables": {"main": t(["model", "nll", "s"], [["a", ms([1.0, 2.0]), 9], ["b", ms([3.0, 4.0]), 9]]),
                        "pairs": t(["comparison", "d"], [["b − a", 0.5]])}, "notes": []}
  for a_values, stands in (([1.0, 2.0], True), ([1.0, float(np.nextafter(2.0, 3.0))], False)):
    mine = {"main": t(["model", "nll", "s"], [["a", ms(a_values), 5]]), "pairs": t(["comparison", "d"], [])}
    notes = []
    tables, carried = sweeps.carry_rows(earlier, mine, "main", ["a"], ["a", "b"], notes)
    assert tables["main"]["rows"][1][0] == "b" and set(carried) == {"b"}
    assert tables["pairs"]["rows"] == ([["b − a", 0.5]] if stands else [])
    assert notes == (["a: retrained here and equal to its earlier row bit for bit (every seed's value of every "
                      "statistic), so its earlier comparisons with carried models stand."] if stands else [])


def test_an_experiment_script_on_a_busy_runs_folder_ends_in_one_error_line(tmp_path, monkeypatch):
  from vae_jax import checkpoints

  def main():  # what a study does when another live process trains the same sweep folder
    with checkpoints.WorkdirLock(str(tmp_path)):
      with checkpoints.WorkdirLock(str(tmp_path)):
        pass

  monkeypatch.delenv("VAE_JAX_TRACEBACK", raising=False)
  with pytest.raises(SystemExit, match=rf"^error: {tmp_path} is in use by another run \(PID {os.getpid()},"):
    sweeps.run_script(main)
  monkeypatch.setenv("VAE_JAX_TRACEBACK", "1")
  with pytest.raises(checkpoints.WorkdirBusy):
    sweeps.run_script(main)
