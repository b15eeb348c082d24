"""The rounds of several ``benchmarks.run`` results files of one machine, pooled into one table and targets table.

On a shared 2-core VM one run's rounds can spread wider than the distance between a target and the run's median,
and the median moves between runs an hour apart (measured in ``benchmarks/README.md``). Several runs of the same
groups on the same machine settle it: each round's ratios stay paired within that round, as in one run
(``benchmarks.report``), and the medians and the targets are taken over all the runs' rounds ("any round" targets
over every round of every run).

    python -m benchmarks.pool benchmarks/results/a.json benchmarks/results/b.json --name pooled-amd-2026-12-07

Refused: files of different processors, core counts, platforms, devices, jax/flax/torch versions or modes
(``--quick`` sizes are other sizes), a contender run with other arguments in one file than in another, a file named
twice, a name that already has results. Rows of a ``--baseline`` checkout are left out: each run's baseline is
another commit. The sources' commits (``benchmarks.run`` records them since 2026-12-07) are listed, not compared:
which code each run measured, and whether pooling them is fair (e.g. changes measured inside the spread in the same
rounds), is for the one who pools to say. Writes ``<out-dir>/NAME.json`` and ``.md`` (``--render`` rewrites them
from their raw rounds as it does a run's), listing each source file with its date, commit, load and rounds.
"""

from __future__ import annotations

import argparse
import datetime
import os
import shlex
import sys

from benchmarks import run

def _rounds(group_raw: dict) -> int:
  """How many rounds a run's group had (its contenders' longest list of repeats)."""
  return max((len(v["runs"]) for v in group_raw.values()), default=0)


def _same(sources: list[tuple[str, dict]], what: str, get) -> None:
  seen = {}
  for path, r in sources:
    seen.setdefault(get(r), path)
  if len(seen) > 1:
    pairs = "; ".join(f"{p}: {v!r}" for v, p in seen.items())
    raise SystemExit(f"these results differ in {what} ({pairs}): pool only runs of one {what}.")


def pool(sources: list[tuple[str, dict]]) -> tuple[list[dict], dict]:
  """``(plan, raw)`` of the sources' groups, every contender's rounds concatenated in the sources' order (a round
  a contender did not run in is ``None``, as a failed round in one run), baseline rows left out."""
  _same(sources, "processor", lambda r: r["machine"].get("processor") or "unrecorded")
  for key in ("cpu_count", "platform", "device_kind", "device_count", "jax", "flax", "torch"):
    _same(sources, key, lambda r, key=key: r["machine"].get(key))
  _same(sources, "mode", lambda r: r.get("mode"))
  plan, raw, rounds, args = [], {}, {}, {}
  for path, r in sources:
    for group in r["plan"]:
      gid = group["id"]
      if gid not in raw:
        plan.append({**group, "contenders": []})
        raw[gid], rounds[gid] = {}, 0
      entry = next(g for g in plan if g["id"] == gid)
      src = r["raw"][gid]
      n = _rounds(src)
      for c in group["contenders"]:
        cid = c["id"]
        if cid.endswith(":baseline"):
          continue
        call = (c.get("kwargs"), c.get("env"))
        if args.setdefault((gid, cid), (call, path))[0] != call:
          raise SystemExit(f"{cid} ran with other arguments in {args[(gid, cid)][1]} than in {path} "
                           f"({args[(gid, cid)][0]} vs {call}): pool only runs of the same contenders.")
        if cid not in raw[gid]:
          entry["contenders"].append(c)
          raw[gid][cid] = {"setup": None, "runs": [None] * rounds[gid], "peak_rss_mb": None, "error": None}
      for cid, out in raw[gid].items():
        mine = src.get(cid)
        runs = list(mine["runs"]) if mine else []
        out["runs"] += runs + [None] * (n - len(runs))
        if mine:
          out["setup"] = out["setup"] or mine["setup"]  # the first run's: its compile time was the cold one
          out["peak_rss_mb"] = max(x for x in (out["peak_rss_mb"], mine["peak_rss_mb"], 0) if x is not None) or None
          if mine["error"]:  # which run it was: a row can fail in one run (a setup error) and run in another
            out["error"] = "; ".join(filter(None, [out["error"], f"{path}: {mine['error']}"]))
      rounds[gid] += n
  return plan, raw


def _parse(argv):
  p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  p.add_argument("results", nargs="+", help="benchmarks/run.py results files (.json) of one machine")
  p.add_argument("--name", required=True, help="the pooled file's name (refused if it exists)")
  p.add_argument("--out-dir", default=run.RESULTS)
  return p.parse_args(argv)


def main(argv=None) -> str:
  argv = sys.argv[1:] if argv is None else argv
  args = _parse(argv)
  path = os.path.join(args.out_dir, f"{args.name}.json")
  if os.path.exists(path):
    raise SystemExit(f"{path} exists (another pooling's results): pick another --name.")
  if len(set(map(os.path.realpath, args.results))) < len(args.results):
    raise SystemExit("a results file is named twice: its rounds would count twice.")
  sources = [(p, run.read_results(p)) for p in args.results]
  plan, raw = pool(sources)
  first = sources[0][1]
  machine = {k: v for k, v in first["machine"].items() if k != "loadavg_start"}
  listed = [{"path": p, "name": r.get("name"), "date": r.get("date"), "commit": r.get("commit"),
             "command": r.get("command"),
             "loadavg_start": r["machine"].get("loadavg_start"), "wall_s": r.get("wall_s"),
             "rounds": {g["id"]: _rounds(r["raw"][g["id"]]) for g in r["plan"]}} for p, r in sources]
  results = {"name": args.name, "mode": f"{first.get('mode')}, pooled", "repeats": None,
             "date": datetime.datetime.now().strftime("%Y%m%d-%H%M%S"),
             "command": " ".join(shlex.quote(a) for a in [sys.executable, "-m", "benchmarks.pool", *argv]),
             "machine": machine, "wall_s": sum(r.get("wall_s") or 0 for _, r in sources), "pooled_from": listed,
             "raw": raw, "plan": plan}
  return run.write_results(results, args.out_dir)


if __name__ == "__main__":
  main()
