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
