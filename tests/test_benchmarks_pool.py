"""benchmarks.pool: the rounds of several results files pooled, each round's ratios still paired within it."""

import json
import statistics

import pytest

from benchmarks import pool, report, run

GROUP = {"id": "mlp128", "title": "MLP, batch 128", "contenders": [
    {"id": "real_loop@128", "label": "real loop", "batch": 128, "role": "real", "kwargs": {"num_steps": 10},
     "env": {}},
    {"id": "fused_epoch@128", "label": "fused epoch", "batch": 128, "role": "fused", "kwargs": {}, "env": {}},
    {"id": "bound@128", "label": "bound", "batch": 128, "role": "bound", "kwargs": {}, "env": {}}]}


def _results(name, real, fused, own, *, processor="AMD EPYC", mode="full", extra=(), kwargs=None, jax="0.10.2"):
  """A run.py results file of one MLP group: ``real``/``fused`` images/s and ``own`` bound, one entry a round."""
  group = json.loads(json.dumps(GROUP))
  if kwargs is not None:
    group["contenders"][0]["kwargs"] = kwargs
  raw = {"real_loop@128": [{"images_per_s": x} if x else None for x in real],
         "fused_epoch@128": [{"images_per_s": x} for x in fused],
         "bound@128": [{"images_per_s": y, "bound_images_per_s": y, "own_bound_images_per_s": y} for y in own]}
  for cid, ips in extra:  # e.g. a --baseline checkout's rows
    group["contenders"].append({"id": cid, "label": cid, "batch": 128, "role": "", "kwargs": {}, "env": {}})
    raw[cid] = [{"images_per_s": x} for x in ips]
  return {"name": name, "mode": mode, "date": name, "command": f"run {name}", "wall_s": 100.0,
          "machine": {"processor": processor, "jax": jax, "loadavg_start": [1.0, 1.0, 1.0]}, "plan": [group],
          "raw": {"mlp128": {cid: {"setup": {"compile_s": 1.0}, "runs": runs, "peak_rss_mb": 900.0, "error": None}
                             for cid, runs in raw.items()}}}


def _write(tmp_path, results):
  path = tmp_path / f"{results['name']}.json"
  path.write_text(json.dumps(results))
  return str(path)


def test_pooled_ratios_are_each_rounds_ratios_over_every_runs_rounds(tmp_path):
  a = _results("a", real=[80, 90, None], fused=[100, 100, 100], own=[100, 100, 100],
               extra=[("real_loop@128:baseline", [70, 70, 70])])
  b = _results("b", real=[170, 150], fused=[200, 180], own=[200, 160])
  path = pool.main([_write(tmp_path, a), _write(tmp_path, b), "--name", "pooled", "--out-dir", str(tmp_path)])
  out = json.loads(open(path).read())
  real = next(r for r in out["groups"]["mlp128"] if r["id"] == "real_loop@128")
  want = [0.80, 0.90, 0.85, 150 / 160]  # round by round: the failed round left out, no pairing across runs
  assert real["fraction_of_own_bound"]["median"] == pytest.approx(statistics.median(want))
  assert real["fraction_of_own_bound"]["n"] == 4
  assert real["vs_fused"]["median"] == pytest.approx(statistics.median([0.8, 0.9, 0.85, 150 / 180]))
  assert all(c["id"] != "real_loop@128:baseline" for c in out["plan"][0]["contenders"])  # each run's own commit
  anyround = next(t for t in out["targets"] if t["target"].startswith("no MLP contender above the own-shape"))
  assert anyround["value"] == pytest.approx(180 / 160)  # the largest round of any row (b's fused epoch), over both runs
  md = open(path.replace(".json", ".md")).read()
  assert "### Pooled from" in md and "a.json" in md and "b.json" in md and "rounds mlp128 3" in md
  before = json.loads(open(path).read())["groups"]
  run.main(["--render", path])  # a pooled file re-renders from its own rounds, like a run's
  assert json.loads(open(path).read())["groups"] == before


def test_a_contender_missing_from_one_run_is_absent_from_its_rounds(tmp_path):
  a = _results("a", real=[80, 90], fused=[100, 100], own=[100, 100], extra=[("torch@128", [30, 31])])
  b = _results("b", real=[85], fused=[100], own=[100], extra=[("pythae@128", [40])])
  c = _results("c", real=[88], fused=[100], own=[100])
  a["raw"]["mlp128"]["torch@128"]["error"] = "torch not installed"  # a setup error in one run only
  b["raw"]["mlp128"]["real_loop@128"]["peak_rss_mb"] = 1200.0
  c["raw"]["mlp128"]["real_loop@128"]["setup"] = {"compile_s": 9.0}
  c["plan"].append({**GROUP, "id": "mlp1024", "title": "MLP, batch 1024"})  # a group only the last run has
  c["raw"]["mlp1024"] = c["raw"]["mlp128"]
  plan, raw = pool.pool([("a", a), ("b", b), ("c", c)])
  assert raw["mlp128"]["pythae@128"]["runs"] == [None, None, {"images_per_s": 40}, None]  # padded both sides
  assert raw["mlp128"]["torch@128"]["runs"] == [{"images_per_s": 30}, {"images_per_s": 31}, None, None]
  assert raw["mlp128"]["torch@128"]["error"] == "a: torch not installed"  # says which run failed
  real = raw["mlp128"]["real_loop@128"]
  assert len(real["runs"]) == 4 and real["peak_rss_mb"] == 1200.0  # the peak of any run
  assert real["setup"] == {"compile_s": 1.0}  # the first run's: its compile was the cold one
  assert [g["id"] for g in plan] == ["mlp128", "mlp1024"] and len(raw["mlp1024"]["real_loop@128"]["runs"]) == 1
  rows = report.summarize_group(plan[0], raw["mlp128"])
  assert next(r for r in rows if r["id"] == "real_loop@128")["vs_pythae"]["n"] == 1


@pytest.mark.parametrize("b_kw, says", [
    ({"processor": "Intel Xeon"}, "differ in processor"),
    ({"mode": "quick"}, "differ in mode"),
    ({"kwargs": {"num_steps": 20}}, "real_loop@128 ran with other arguments"),
    ({"jax": "0.11.0"}, "differ in jax"),
])
def test_runs_that_cannot_be_pooled_are_refused_with_the_reason(tmp_path, b_kw, says):
  a = _write(tmp_path, _results("a", real=[80], fused=[100], own=[100]))
  b = _write(tmp_path, _results("b", real=[80], fused=[100], own=[100], **b_kw))
  with pytest.raises(SystemExit, match=says):
    pool.main([a, b, "--name", "pooled", "--out-dir", str(tmp_path)])
  assert not (tmp_path / "pooled.json").exists()


def test_it_never_overwrites_results_nor_counts_a_file_twice(tmp_path):
  a = _write(tmp_path, _results("a", real=[80], fused=[100], own=[100]))
  with pytest.raises(SystemExit, match="named twice"):
    pool.main([a, a, "--name", "pooled", "--out-dir", str(tmp_path)])
  (tmp_path / "link.json").symlink_to(a)
  with pytest.raises(SystemExit, match="named twice"):
    pool.main([a, str(tmp_path / "link.json"), "--name", "pooled", "--out-dir", str(tmp_path)])
  with pytest.raises(SystemExit, match="exists"):
    pool.main([a, "--name", "a", "--out-dir", str(tmp_path)])
  (tmp_path / "notes.json").write_text("{}")
  with pytest.raises(SystemExit, match="not a benchmarks/run.py results file"):
    pool.main([a, str(tmp_path / "notes.json"), "--name", "pooled", "--out-dir", str(tmp_path)])
  assert json.loads(open(a).read())["name"] == "a"


def test_a_run_refuses_a_name_that_has_results_before_running_anything(tmp_path):
  (tmp_path / "taken.json").write_text('{"kept": true}')
  with pytest.raises(SystemExit, match="taken.json exists"):
    run.main(["--smoke", "--inprocess", "--only", "mlp128", "--name", "taken", "--out-dir", str(tmp_path)])
  assert json.loads((tmp_path / "taken.json").read_text()) == {"kept": True}


def test_render_writes_back_into_the_file_it_read_not_into_the_name_it_carries(tmp_path):
  a = _write(tmp_path, _results("a", real=[80], fused=[100], own=[100]))
  copy = tmp_path / "copy.json"
  copy.write_text(open(a).read())
  before = open(a).read()
  run.main(["--render", str(copy)])
  assert open(a).read() == before and not (tmp_path / "a.md").exists()  # the original is untouched
  assert "groups" in json.loads(copy.read_text()) and (tmp_path / "copy.md").exists()
