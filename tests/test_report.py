"""The report generator renders the three documented table shapes and mean ± std cells."""

import argparse
import time

from experiments import report, sweeps


def test_report_renders_results(tmp_path):
  args = argparse.Namespace(size="smoke", seeds=2)
  ms = sweeps.mean_std([1.0, 3.0])
  assert ms["mean"] == 2.0 and abs(ms["std"] - 2**0.5) < 1e-12
  sweeps.write_results(str(tmp_path), "bottleneck", args=args, command="python -m experiments.bottleneck --size smoke",
                       started=time.time(), tables={"recon": sweeps.table(["latent", "mse"], [[2, ms], [4, 0.5]])},
                       notes=["a note"])
  sweeps.write_results(str(tmp_path), "denoising", args=args, command="x", started=time.time(),
                       tables={"records": [{"sigma": 0.1, "psnr": 20.0}], "nested": {"ae": {"psnr": ms}}})
  out = tmp_path / "REPORT.md"
  text = report.main(["--results-dir", str(tmp_path), "--out", str(out)])
  assert out.exists()
  assert "| latent | mse |" in text and "| 2 | 2.000 ± 1.414 (n=2) |" in text
  assert "| sigma | psnr |" in text and "| ae | 2.000 ± 1.414 (n=2) |" in text
  assert "> a note" in text and "Not yet run at this size: vae_likelihood" in text
  assert text.index("Bottleneck") < text.index("Denoising")


def test_reused_work_is_shown_beside_the_wall_time(tmp_path):
  # a rerun that reuses trained runs and cached scores: its wall time alone would misstate what the numbers cost
  args = argparse.Namespace(size="cpu", seeds=5)
  for name, compute in (("bottleneck", 5820.0), ("denoising", None)):
    sweeps.write_results(str(tmp_path), name, args=args, command="x", started=time.time() - 24.0, tables={},
                         compute_s=compute)
  text = report.main(["--results-dir", str(tmp_path), "--out", str(tmp_path / "REPORT.md")])
  first, second = text.split("## 2.")
  assert "wall time: 0.4 min (this invocation; its numbers rest on 97.0 min of training and scoring" in first
  assert "wall time: 0.4 min on" in second and "rest on" not in second


def test_a_pipe_in_a_header_or_cell_does_not_split_the_markdown_column():
  # "−log p(x|z)" once split its column of REPORT.md's rate–distortion table in two
  text = report.render_table(sweeps.table(["β", "−log p(x|z)"], [["a|b", 1.0]]))
  assert text.splitlines() == ["| β | −log p(x\\|z) |", "|---|---|", "| a\\|b | 1.000 |"]


def test_table_checks_row_length():
  import pytest

  with pytest.raises(ValueError, match="every row needs 2 cells"):
    sweeps.table(["a", "b"], [[1]])


def test_compute_time_sums_the_recorded_seconds_and_counts_the_unrecorded():
  seconds, note = sweeps.compute_time([60.0, None, 30.0, None], "training")
  assert seconds == 90.0
  assert note.startswith("Time: 1.5 min of training") and "2 cached before their times were kept" in note
  seconds, note = sweeps.compute_time([12.0])
  assert seconds == 12.0 and "not counted" not in note


def test_a_partial_file_says_so_before_its_tables(tmp_path):
  # a cut run's results (``--only-trained``): the note naming the settings left out must not hide below the tables
  args = argparse.Namespace(size="cpu", seeds=5)
  sweeps.write_results(str(tmp_path), "bottleneck", args=args, command="x", started=time.time(),
                       tables={"t": sweeps.table(["a"], [[1]])}, notes=["Partial: 1 sweep(s) left out", "other"])
  text = report.main(["--results-dir", str(tmp_path), "--out", str(tmp_path / "REPORT.md")])
  assert text.index("**Partial: 1 sweep(s) left out**") < text.index("**t**") < text.index("> other")
