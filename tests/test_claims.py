"""The README's measured claims are written from the committed results files (experiments/claims.py)."""

import copy
import json

import pytest

from experiments import claims, sweeps


def test_the_readme_says_what_the_committed_results_say():
  text = open(claims.README).read()
  marked = claims._FENCE.findall(text)
  assert {name for name, _ in marked} >= {"bottleneck", "fashion_likelihood", "stacked", "outliers", "semi_supervised"}
  _, stale = claims.render(text)
  assert stale == [], f"README claims differ from experiments/results: {stale}; run python -m experiments.claims"


def test_every_claim_quotes_its_command_and_machine():
  for name, render in claims.CLAIMS.items():
    res = sweeps.read_results(sweeps.RESULTS_DIR, name)
    text = render(res)
    assert res["command"] in text and res["finished"] in text and res["environment"]["host"] in text, name


def test_the_best_likelihood_is_the_lowest_row_and_its_time_caveat_is_kept():
  res = copy.deepcopy(sweeps.read_results(sweeps.RESULTS_DIR, "fashion_likelihood"))
  rows = res["tables"]["Test likelihood (nats; mean ± std over seeds)"]["rows"]
  best = min(rows, key=lambda r: r[3]["mean"])
  assert f"best **{claims._model_name(best[0])}: IS-NLL {sweeps.fmt(best[3])} nats**" in claims.fashion_likelihood(res)
  rows.remove(best)
  res["notes"].append("x: its training time, 7 s, counts updates 20–80 only: it was resumed, and …")
  text = claims.fashion_likelihood(res)
  assert f"best **{claims._model_name(best[0])}" not in text and "counts updates 20–80 only" in text


def test_check_fails_on_a_stale_cell_and_a_rewrite_fixes_it(tmp_path, capsys):
  readme = tmp_path / "README.md"
  readme.write_text("| claim | <!-- claim:outliers --> 0.99 <!-- /claim:outliers --> | holds |\n")
  with pytest.raises(SystemExit) as e:
    claims.main(["--check", "--readme", str(readme)])
  assert e.value.code == 1 and "stale claims" in capsys.readouterr().out
  assert claims.main(["--readme", str(readme)]) == ["outliers"]
  assert claims.main(["--check", "--readme", str(readme)]) == []
  text = readme.read_text()
  assert text.startswith("| claim | <!-- claim:outliers --> `python -m experiments.outliers") and text.count("\n") == 1
  assert text.endswith("<!-- /claim:outliers --> | holds |\n")


def test_unknown_claims_and_missing_results_are_clear_errors(tmp_path):
  with pytest.raises(ValueError, match=r"claim 'nope' that experiments/claims.py does not know"):
    claims.render("<!-- claim:nope --> x <!-- /claim:nope -->")
  with pytest.raises(ValueError, match=r"no results file .*outliers.json; run `python -m experiments.outliers`"):
    claims.render("<!-- claim:outliers --> x <!-- /claim:outliers -->", str(tmp_path))


def test_a_pipe_in_a_rendered_cell_cannot_split_the_table_row(monkeypatch, tmp_path):
  (tmp_path / "outliers.json").write_text(json.dumps({"experiment": "outliers", "tables": {}, "command": "c"}))
  monkeypatch.setitem(claims.CLAIMS, "outliers", lambda res: "a | b")
  text, _ = claims.render("| <!-- claim:outliers --> x <!-- /claim:outliers --> |", str(tmp_path))
  assert text == "| <!-- claim:outliers --> a \\| b <!-- /claim:outliers --> |"


def test_the_likelihood_claim_quotes_another_machines_file_and_names_the_best_of_both(tmp_path):
  """The same protocol run elsewhere (``--tag h200``, a GPU lease) is quoted after this CPU's results, its rows and
  paired differences with its own command; the best row of both files is the project's likelihood, and the CPU
  file's "not run" note goes once the other file holds that model."""
  cpu = copy.deepcopy(sweeps.read_results(sweeps.RESULTS_DIR, "fashion_likelihood"))
  caption = "Test likelihood (nats; mean ± std over seeds)"
  best_cpu = min(cpu["tables"][caption]["rows"], key=lambda r: r[3]["mean"])
  gpu = copy.deepcopy(cpu)
  gpu.update(experiment="fashion_likelihood_h200", command="python -m experiments.fashion_likelihood --tag h200",
             finished="2026-12-04 15:31:52 UTC", environment={**cpu["environment"], "platform": "gpu",
                                                              "device_kind": "NVIDIA H200"})
  better = [*best_cpu[:3], {**best_cpu[3], "mean": best_cpu[3]["mean"] - 1.0}, *best_cpu[4:]]
  gpu["tables"] = {caption: {"columns": cpu["tables"][caption]["columns"], "rows": [["iwae50_h500", *better[1:]]]},
                   "IWAE − VAE, per-image": {"columns": ["comparison", "seed", "d"],
                                             "rows": [["iwae50_h500 − vae_h500", 0, {"mean": -1.6, "std": 0.03}]]}}
  cpu["notes"].append("Not (yet) run in this invocation (size full): iwae50_h500.")
  text = claims.fashion_likelihood(cpu, [gpu])
  assert "best **IWAE k = 50, 784-500-20 on the NVIDIA H200 (" in text
  assert text.count("the project's Fashion-MNIST likelihood") == 1
  assert text.index(cpu["command"]) < text.index(gpu["command"]) and "§3b′" in text and "−1.60 nats" in text
  assert "Not (yet) run in this invocation (size full): iwae50_h500." not in text
  assert f"best **{claims._model_name(best_cpu[0])}" in claims.fashion_likelihood(cpu)  # alone: the CPU's best
  # render() reads the companion file beside the claim's own, when there is one.
  (tmp_path / "fashion_likelihood.json").write_text(json.dumps(cpu))
  cell = "<!-- claim:fashion_likelihood --> x <!-- /claim:fashion_likelihood -->"
  assert "NVIDIA H200" not in claims.render(cell, str(tmp_path))[0]
  (tmp_path / "fashion_likelihood_h200.json").write_text(json.dumps(gpu))
  assert claims.render(cell, str(tmp_path))[0] == f"<!-- claim:fashion_likelihood --> {text} " \
      "<!-- /claim:fashion_likelihood -->"
