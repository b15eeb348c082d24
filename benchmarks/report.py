"""From raw repeats to the results table: medians with min–max, paired ratios, targets, markdown.

Ratios are taken round by round inside a group — ``x_r / ref_r`` for each round ``r`` where both ran — and the
median over rounds is reported: the two numbers of a round were measured seconds apart under the same load.
"""

from __future__ import annotations

import statistics

from benchmarks.timing import summarize

# Targets from the project issue (#16): (group, contender, quantity, threshold, text); contender "*": the largest
# value of any round of any of the group's rows (the bound's own row aside); a negative threshold: the value must
# stay below it.
TARGETS = (
    ("conv", "conv_jax", "vs_torch", 1.0, "conv β-VAE ≥ 1.0× PyTorch eager (stretch 1.5×)"),
    ("conv", "conv_jax", "fraction_of_own_bound", 0.60,
     "conv β-VAE ≥ 60 % of its step bound as #16 defines it (each product at its own shape's best measured speed)"),
    ("conv", "conv_jax", "fraction_of_bound", 0.60,
     "conv β-VAE ≥ 60 % of the peak-charged step bound (stricter: each product at ≥ the 2048³ peak's speed)"),
    ("conv", "*", "fraction_of_own_bound", -1.0, "no conv contender above the own-shape bound in any round"),
    ("mlp128", "*", "fraction_of_bound", -1.0, "no MLP contender above the step bound in any round (batch 128)"),
    ("mlp1024", "*", "fraction_of_bound", -1.0, "no MLP contender above the step bound in any round (batch 1024)"),
    ("mlp128", "*", "fraction_of_own_bound", -1.0,
     "no MLP contender above the own-shape step bound in any round (batch 128)"),
    ("mlp1024", "*", "fraction_of_own_bound", -1.0,
     "no MLP contender above the own-shape step bound in any round (batch 1024)"),
    ("mlp128", "real_loop@128", "fraction_of_own_bound", 0.85,
     "real loop ≥ 85 % of the own-shape step bound at batch 128 (#16's: each product at its shape's best speed)"),
    ("mlp1024", "real_loop@1024", "fraction_of_own_bound", 0.80,
     "real loop ≥ 80 % of the own-shape step bound at batch 1024"),
    ("mlp128", "real_loop@128", "fraction_of_bound", 0.85,
     "real loop ≥ 85 % of the peak-charged step bound at batch 128 (stricter: products at ≥ the 2048³ peak's speed)"),
    ("mlp1024", "real_loop@1024", "fraction_of_bound", 0.80,
     "real loop ≥ 80 % of the peak-charged step bound at batch 1024"),
    ("mlp128", "real_loop@128", "vs_torch_fused", 2.2, "real loop ≥ 2.2× PyTorch eager with fused Adam (128)"),
    ("mlp128", "real_loop@128", "vs_pythae", 2.0, "real loop ≥ 2× pythae's own training loop (128)"),
    ("mlp128", "real_loop@128", "vs_fused", 0.95, "real loop within 5 % of the bare fused epoch (128)"),
    ("mlp1024", "real_loop@1024", "vs_fused", 0.95, "real loop within 5 % of the bare fused epoch (1024)"),
    ("mlp128", "real_loop@128", "peak_rss_mb", -1500.0, "training process < 1.5 GB RSS (MLP VAE, Fashion-MNIST)"),
    ("is_nll", "is_nll", "fraction_of_bound", 0.50, "IS-NLL ≥ 50 % of its matmul bound (library defaults)"),
)


def _values(runs: list, key: str) -> list:
  return [r.get(key) if r else None for r in runs]


def _paired(xs: list, refs: list) -> dict | None:
  ratios = [x / y for x, y in zip(xs, refs) if x and y]
  return summarize(ratios)


def summarize_group(group: dict, raw: dict) -> list[dict]:
  """One row per contender: throughput summaries, ratios to the group's references, compile time, RSS."""
  role = {c["role"]: c["id"] for c in group["contenders"] if c["role"]}
  ips = {cid: _values(raw[cid]["runs"], "images_per_s") for cid in raw}
  bound = _values(raw[role["bound"]]["runs"], "bound_images_per_s") if "bound" in role else None
  own = _values(raw[role["bound"]]["runs"], "own_bound_images_per_s") if "bound" in role else None
  rows = []
  for c in group["contenders"]:
    cid, r = c["id"], raw[c["id"]]
    runs = [x for x in r["runs"] if x]
    setup = r["setup"] or {}
    compile_s = setup.get("compile_s")
    if compile_s is None and runs:
      compile_s = runs[0].get("compile_s")  # oneshot: the first (cold-cache) process compiled
    row = {"id": cid, "label": c["label"], "batch": c["batch"], "error": r["error"],
           "images_per_s": summarize(ips[cid]), "images_per_cpu_s": summarize(_values(r["runs"], "images_per_cpu_s")),
           "compile_s": compile_s, "setup_s": setup.get("setup_s"), "peak_rss_mb": r["peak_rss_mb"],
           "vs_torch": _paired(ips[cid], ips[role["torch"]]) if "torch" in role and c["role"] != "torch" else None,
           "vs_torch_fused": next((_paired(ips[cid], ips[t]) for t in ips if t.startswith("torch_fused")), None),
           "fraction_of_bound": None, "fraction_of_own_bound": None, "vs_fused": None, "extra": {}}
    own_bound = _values(r["runs"], "bound_images_per_s")
    if any(own_bound) and c["role"] != "bound":  # e.g. IS-NLL: a bound measured beside each repeat
      row["fraction_of_bound"] = _paired(ips[cid], own_bound)
    elif bound and c["role"] != "bound":
      row["fraction_of_bound"] = _paired(ips[cid], bound)
    if own and any(own) and c["role"] != "bound":  # the group's own-shape bound (benchmarks.bound)
      row["fraction_of_own_bound"] = _paired(ips[cid], own)
    if c["role"] == "real" and "fused" in role:
      row["vs_fused"] = _paired(ips[cid], ips[role["fused"]])
    if c["role"] == "real":  # against pythae's loop and the minimal fused epoch, where the group has them
      row["vs_pythae"] = next((_paired(ips[cid], ips[t]) for t in ips if t.startswith("pythae")), None)
      row["vs_minimal"] = next((_paired(ips[cid], ips[t]) for t in ips if t.startswith("bare_epoch")), None)
    row["vs_baseline"] = _paired(ips[cid], ips[cid + ":baseline"]) if cid + ":baseline" in ips else None
    if group["id"] == "scaling" and c["role"] != "fused" and "fused" in role:
      row["vs_one_device"] = _paired(ips[cid], ips[role["fused"]])
    for key in ("matmul_s", "optimizer_s", "bandwidth_gbs", "matmul_gflop_s", "log_weights_per_s",
                "compute_images_per_s", "bound_images_per_s", "own_bound_images_per_s", "own_matmul_s"):
      s = summarize(_values(r["runs"], key))
      if s:
        row["extra"][key] = s
    for key in ("per_matmul_us", "per_product_own_us", "per_product_xla_us", "per_product_onednn_us"):
      if runs and key in runs[0]:
        row["extra"][key] = {k: statistics.median(x[key][k] for x in runs) for k in runs[0][key]}
    for key in ("data", "device", "threads", "optimizer", "devices", "platform", "steps_per_call"):
      if key in setup:
        row["extra"][key] = setup[key]
    rows.append(row)
  return rows


def _value(row: dict, quantity: str, key: str = "median"):
  v = row.get(quantity)
  return v[key] if isinstance(v, dict) else v


def targets(tables: dict[str, list[dict]]) -> list[dict]:
  out = []
  for gid, cid, quantity, threshold, text in TARGETS:
    if cid == "*":  # the largest round of any of the group's contenders (rows without the quantity aside)
      values = [v for v in (_value(r, quantity, "max") for r in tables.get(gid, [])) if v is not None]
      value = max(values) if values else None
    else:
      row = next((r for r in tables.get(gid, []) if r["id"] == cid), None)
      value = None if row is None else _value(row, quantity)
    if value is None:
      out.append({"target": text, "value": None, "met": None})
      continue
    met = value < -threshold if threshold < 0 else value >= threshold
    out.append({"target": text, "value": value, "met": met})
  return out


def _fmt(s: dict | None, scale: float = 1.0, digits: int = 0, pct: bool = False) -> str:
  if not s:
    return "–"
  f = (lambda v: f"{100 * v:.{digits}f} %") if pct else (lambda v: f"{v * scale:,.{digits}f}")
  return f"{f(s['median'])} ({f(s['min'])}–{f(s['max'])})"


def markdown(title: str, rows: list[dict]) -> str:
  lines = [f"### {title}", "",
           "| contender | images/s median (min–max) | × PyTorch eager | of step bound | compile s | peak RSS MB |",
           "|---|---|---|---|---|---|"]
  for r in rows:
    if r["error"] and not r["images_per_s"]:
      why = " ".join(r["error"].split())[:90].replace("|", "\\|")  # one line, and a "|" must not end the cell
      lines.append(f"| {r['label']} | skipped: {why} | | | | |")
      continue
    vs_torch = _fmt(r["vs_torch"], digits=2) if r["vs_torch"] else "–"
    frac = _fmt(r["fraction_of_bound"], pct=True) if r["fraction_of_bound"] else "–"
    comp = f"{r['compile_s']:.1f}" if r["compile_s"] is not None else "–"
    rss = f"{r['peak_rss_mb']:.0f}" if r["peak_rss_mb"] else "–"
    label = r["label"] + (f" (vs fused epoch {_fmt(r['vs_fused'], digits=3)})" if r["vs_fused"] else "")
    label += f" (vs minimal epoch {_fmt(r['vs_minimal'], digits=2)})" if r.get("vs_minimal") else ""
    label += f" (vs pythae {_fmt(r['vs_pythae'], digits=2)})" if r.get("vs_pythae") else ""
    label += f" (vs baseline {_fmt(r['vs_baseline'], digits=2)})" if r.get("vs_baseline") else ""
    label += f" (vs 1 device {_fmt(r['vs_one_device'], digits=2)})" if r.get("vs_one_device") else ""
    own = r.get("fraction_of_own_bound")
    label += f" (of the own-shape bound {_fmt(own, pct=True)})" if own else ""
    own_ips = r["extra"].get("own_bound_images_per_s")
    label += f" (own-shape bound {_fmt(own_ips)} images/s)" if own_ips else ""
    lines.append(f"| {label} | {_fmt(r['images_per_s'])} | {vs_torch} | {frac} | {comp} | {rss} |")
  return "\n".join(lines) + "\n"


def markdown_targets(items: list[dict]) -> str:
  lines = ["### Targets (issue #16)", "", "| target | measured (median) | met |", "|---|---|---|"]
  for t in items:
    v = "–" if t["value"] is None else (f"{t['value']:.0f} MB" if "RSS" in t["target"] else f"{t['value']:.3g}")
    met = "n/a" if t["met"] is None else ("yes" if t["met"] else "**no**")
    lines.append(f"| {t['target']} | {v} | {met} |")
  return "\n".join(lines) + "\n"


def render(results: dict) -> tuple[dict[str, list[dict]], list[dict], str]:
  """``(tables, targets, markdown)`` of a results file (``benchmarks/run.py``'s JSON) from its raw repeats and
  plan, with this module's tables and targets: old measurements re-rendered without rerunning them."""
  tables = {g["id"]: summarize_group(g, results["raw"][g["id"]]) for g in results["plan"]}
  goals, m = targets(tables), results["machine"]
  load = _loadavg(m.get("loadavg_start")) if m.get("loadavg_start") or not results.get("pooled_from") else \
      "of each source (below)"
  md = "\n".join([f"## vae_jax benchmarks — {results['mode']}, {results['date']}", "",
                  f"Command: `{results['command']}`" + (f" at {results['commit']}" if results.get("commit") else "")
                  + "  ", f"Machine: {m.get('device_kind')} × {m.get('device_count')} "
                  f"({m.get('platform')}), {m.get('cpu_count')} CPUs ({m.get('processor')}), load average at start "
                  f"{load} (1 / 5 / 15 min); jax {m.get('jax')}, flax {m.get('flax')}, torch {m.get('torch')}", "",
                  *[markdown(g["title"], tables[g["id"]]) for g in results["plan"]], markdown_targets(goals)])
  if results.get("pooled_from"):  # benchmarks.pool: the runs whose rounds these are
    md += "\n" + _sources_markdown(results["pooled_from"])
  return tables, goals, md


def _loadavg(values) -> str:
  return " / ".join(f"{x:.2f}" for x in values) if values else "unknown"


def _sources_markdown(listed: list[dict]) -> str:
  lines = ["### Pooled from", ""]
  for s in listed:
    load = _loadavg(s.get("loadavg_start"))
    rounds = ", ".join(f"{g} {n}" for g, n in s["rounds"].items())
    wall = f"{s['wall_s']:.0f} s" if s.get("wall_s") else "wall time unrecorded"
    commit = f", commit {s['commit']}" if s.get("commit") else ""
    lines.append(f"- `{s['path']}` ({s['date']}{commit}, load average at start {load}, {wall}): rounds {rounds}")
  return "\n".join(lines) + "\n"
