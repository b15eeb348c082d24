"""The measured cells of the README's claims table, written from the committed results files.

    python -m experiments.claims            # rewrites every marked cell of README.md
    python -m experiments.claims --check    # exits 1 naming each marked cell that differs from its results file

A cell (or the part of one) written from ``experiments/results/NAME.json`` is fenced in README.md by
``<!-- claim:NAME -->`` … ``<!-- /claim:NAME -->`` on one line (a Markdown table row cannot span lines);
``CLAIMS[NAME]`` renders it from the results dict. ``python -m experiments.report`` calls :func:`main` after it
rewrites REPORT.md, and ``tests/test_claims.py`` fails when a marked cell and its file disagree, so the README cannot
drift from the numbers. The verdict column stays written by hand: it is a judgement, the measured cell is not.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from experiments import sweeps

README = os.path.join(sweeps.ROOT, "README.md")
_FENCE = re.compile(r"<!-- claim:(\w+) -->(.*?)<!-- /claim:\1 -->")


def _pm(stat: Any, digits: int = 2) -> str:
  return sweeps.fmt(stat, digits) if isinstance(stat, Mapping) else f"{stat:.{digits}f}"


def _signed(x: float, digits: int = 2) -> str:
  return f"{x:+.{digits}f}".replace("-", "−")


def _score(row: list) -> str:
  """``["VAE", "−ELBO", …]`` -> ``VAE −ELBO``; a score of no model (``"none"``) by its name alone."""
  return row[1] if row[0] == "none" else f"{row[0]} {row[1]}"


def _machine(res: Mapping[str, Any]) -> str:
  env = res.get("environment", {})
  return f"{env.get('cpu_count', '?')}-core {env.get('platform', '?')} `{env.get('host', '?')}`"


def _minutes(seconds: float) -> str:
  return f"{seconds / 60:.0f} min" if seconds >= 90 else f"{seconds:.0f} s"


def _model_name(name: str) -> str:
  """``iwae50_burda`` -> ``IWAE k = 50, 784-200-200-50``."""
  kind, _, arch = name.partition("_")
  k = kind[len("iwae"):]
  label = f"IWAE k = {k}" if kind.startswith("iwae") else kind.upper()
  return f"{label}, {'784-200-200-50' if arch == 'burda' else '784-500-20' if arch == 'h500' else arch}"


def _likelihood_rows(res: Mapping[str, Any]) -> tuple[list[list], dict[str, int], str]:
  """The likelihood table's rows, best (lowest IS-NLL) first, its column index, and the IS-NLL column's name."""
  lik = next(v for k, v in res["tables"].items() if k.startswith("Test likelihood"))
  nll_col = next(c for c in lik["columns"] if c.startswith("IS-NLL"))
  col = {c: i for i, c in enumerate(lik["columns"])}
  return sorted(lik["rows"], key=lambda r: r[col[nll_col]]["mean"]), col, nll_col


def _best_row(res: Mapping[str, Any]) -> tuple[Mapping[str, Any], list, dict[str, int]] | None:
  """The file's lowest-IS-NLL row as (its IS-NLL cell, the row, the column index); None without rows."""
  rows, col, nll_col = _likelihood_rows(res)
  return (rows[0][col[nll_col]], rows[0], col) if rows else None


def _likelihood_list(res: Mapping[str, Any]) -> list[str]:
  """Every model's IS-NLL and −ELBO, then the IWAE − VAE paired differences per seed."""
  rows, col, nll_col = _likelihood_rows(res)
  out = ["; ".join(f"{_model_name(r[0])} {_pm(r[col[nll_col]])} (−ELBO {_pm(r[col['−ELBO']])}, "
                   f"{_minutes(r[col['sweep training (s)']])} training)" for r in rows) + "."] if rows else []
  paired = next((v for k, v in res["tables"].items() if k.startswith("IWAE − VAE")), {"rows": []})
  diffs: dict[str, list[str]] = {}
  for comp, _, d in paired["rows"]:
    diffs.setdefault(comp, []).append(_signed(d["mean"]))
  if diffs:
    out.append("IWAE − VAE per image, per seed: " + "; ".join(
        f"{_model_name(c.split(' − ')[0])} {' / '.join(v)} nats" for c, v in diffs.items()) + ".")
  return out


def _device(res: Mapping[str, Any]) -> str:
  env = res.get("environment", {})
  return f"{env['device_kind']} ({_machine(res)})" if env.get("platform") == "gpu" else _machine(res)


def fashion_likelihood(res: Mapping[str, Any], others: Sequence[Mapping[str, Any]] = ()) -> str:
  """``others``: the same protocol's results from other machines (``--tag``, e.g. an H200's), quoted after this
  file's; the best row of them all is named the project's likelihood."""
  curve = next((v for k, v in res["tables"].items() if k.startswith("Test IS-NLL against updates")), None)
  estimates = next((n for n in res.get("notes", []) if n.startswith("IS-NLL with")), "").rstrip(".")
  out = [f"`{res['command']}` (§3b, {res['size']} size; every model a sweep over seeds {res['seeds']}; {estimates}):"]
  bests = [(b, o) for o in (res, *others) if (b := _best_row(o))]
  if bests:
    (nll, best, c), where = min(bests, key=lambda b: b[0][0]["mean"])
    on = "" if where is res else f" on the {_device(where)}"
    out.append(f"best **{_model_name(best[0])}{on}: IS-NLL {_pm(nll)} nats** ({best[c['bits/dim']]['mean']:.3f} "
               f"bits/dim, {best[c['updates']]:,} updates) — the project's Fashion-MNIST likelihood;")
  out += _likelihood_list(res)
  elsewhere = {r[0] for o in others for r in _likelihood_rows(o)[0]}
  for note in res.get("notes", []):
    if note.startswith("Not (yet) run") and set(note.rstrip(".").split(": ", 1)[1].split(", ")) <= elsewhere:
      continue  # run on another machine: quoted below
    if note.startswith("Partial:") or note.startswith("Not (yet) run") or "counts updates" in note:
      out.append(note.replace("Partial: ", "Unfinished: "))
  if curve:
    last = {r[0]: [(s, v) for s, v in zip(curve["columns"][1:], r[1:]) if v is not None][-1] for r in curve["rows"]}
    unfinished = [n for n, (s, _) in last.items() if int(s) < max(int(s2) for s2, _ in last.values())]
    for n in unfinished:
      step = last[n][0]
      others_now = ", ".join(f"{_model_name(m)} {v[step]:.2f}" for m, v in
                             ((r[0], dict(zip(curve["columns"][1:], r[1:]))) for r in curve["rows"]) if m != n)
      out.append(f"{_model_name(n)} at update {int(step):,} (first seed, curve estimate): {last[n][1]:.2f} nats vs "
                 f"{others_now} at that update.")
  carried = sorted(set((res.get("carried") or {}).values()))
  if carried:
    out.append(f"Rows of {', '.join(res['carried'])} carried from {'; '.join(carried)}.")
  out.append(f"{_minutes(res.get('compute_time_s') or res['wall_time_s'])} of training and estimates on the "
             f"{_machine(res)}, finished {res['finished']}.")
  for o in others:
    out.append(f"On the {_device(o)}, `{o['command']}` (§{SECTIONS.get(o['experiment'], o['experiment'])}, seeds "
               f"{o['seeds']}):")
    out += _likelihood_list(o)
    out.append(f"{_minutes(o.get('compute_time_s') or o['wall_time_s'])} of training and estimates, finished "
               f"{o['finished']}.")
  return " ".join(out)


def outliers(res: Mapping[str, Any]) -> str:
  t = next(v for k, v in res["tables"].items() if k.startswith("Outlier detection"))
  c = {name: i for i, name in enumerate(t["columns"])}
  auroc = lambda r, col: r[c[col]]["mean"] if isinstance(r[c[col]], Mapping) else r[c[col]]  # noqa: E731
  b, a = next(k for k in c if k.startswith("(b) AUROC")), next(k for k in c if k.startswith("(a) AUROC"))
  fpr_b = next(k for i, k in enumerate(t["columns"]) if i > c[b] and k.startswith("(b) FPR"))
  rows = sorted(t["rows"], key=lambda r: -auroc(r, b))
  held = max(t["rows"], key=lambda r: auroc(r, a))
  return (f"`{res['command']}` (seeds {res['seeds']}; {_trained(res)}): Fashion vs MNIST AUROC — "
          + ", ".join(f"{_score(r)} {_pm(r[c[b]], 3)} (FPR at 95 % TPR {_pm(r[c[fpr_b]])})" for r in rows)
          + f"; held-out class ({a.split(': ')[1]}): best {_pm(held[c[a]], 3)} ({_score(held)}). "
          f"{_minutes(res['wall_time_s'])} on the {_machine(res)}, finished {res['finished']}.")


def semi_supervised(res: Mapping[str, Any]) -> str:
  acc = next(v for k, v in res["tables"].items() if k.startswith("Test accuracy"))
  diff = next(v for k, v in res["tables"].items() if k.startswith("Pre-trained minus random init"))
  random = dict(zip(acc["columns"][1:], next(r for r in acc["rows"] if r[0] == "random init")[1:]))
  counts = [col for col in acc["columns"][1:] if not col.startswith("all")]
  parts = []
  for count in counts:
    d = diff["columns"].index(f"{count}: mean difference ± s.e.")
    h = diff["columns"].index(f"{count}: pairs higher / pairs")
    cells = [f"{r[0]} {_signed(100 * r[d]['mean'], 1)} ± {100 * r[d]['std']:.1f} points ({r[h]} draws higher)"
             for r in diff["rows"]]
    parts.append(f"{count} (random init {_pm(random[count], 3)}): " + ", ".join(cells))
  return (f"`{res['command']}` (seeds {res['seeds']}; pre-trained minus random init on the same label draw, mean ± "
          f"s.e. over draws): " + "; ".join(parts) + f". {_minutes(res['wall_time_s'])} on the {_machine(res)}, "
          f"finished {res['finished']}.")


def _mean(cell: Any) -> float:
  return cell["mean"] if isinstance(cell, Mapping) else cell


def _trained(res: Mapping[str, Any]) -> str:
  """The first sentence of the results' first note (the model and its training), lower-cased."""
  first = res["notes"][0].split(";")[0].rstrip(".") if res.get("notes") else ""
  return first[:1].lower() + first[1:] if first[1:2].islower() else first  # "Models …" -> "models …", "MLP" stays


def _tail(res: Mapping[str, Any]) -> str:
  return f"{_minutes(res['wall_time_s'])} on the {_machine(res)}, finished {res['finished']}."


def bottleneck(res: Mapping[str, Any]) -> str:
  t = next(iter(res["tables"].values()))
  mse, psnr = t["columns"].index(next(c for c in t["columns"] if c.startswith("MSE"))), t["columns"].index("PSNR (dB)")
  return (f"`{res['command']}` ({_trained(res)}; seeds {res['seeds']}): AE test MSE ×10⁻³ "
          + " → ".join(f"{_mean(r[mse]):.1f} (d={r[0]})" for r in t["rows"]) + ", PSNR "
          + " → ".join(f"{_mean(r[psnr]):.1f}" for r in t["rows"]) + f" dB. {_tail(res)}")


def stacked(res: Mapping[str, Any]) -> str:
  t = next(iter(res["tables"].values()))
  c = {name: i for i, name in enumerate(t["columns"])}
  bce, probe = next(k for k in c if k.startswith("test BCE")), next(k for k in c if k.startswith("linear probe"))
  return (f"`{res['command']}` ({_trained(res)}; seeds {res['seeds']}): test BCE (nats/image) / linear probe — "
          + "; ".join(f"{r[0]} ({r[c['updates']]}): {_pm(r[c[bce]], 1)} / {_mean(r[c[probe]]):.3f}" for r in t["rows"])
          + f". {_tail(res)}")


# A claim may also quote the same protocol's results from another machine (``--tag``: a GPU lease's), when present.
COMPANIONS = {"fashion_likelihood": ("fashion_likelihood_h200",)}
SECTIONS = {"fashion_likelihood_h200": "3b′"}  # REPORT.md's section of a companion

CLAIMS: dict[str, Callable[..., str]] = {
    "bottleneck": bottleneck, "fashion_likelihood": fashion_likelihood, "stacked": stacked, "outliers": outliers,
    "semi_supervised": semi_supervised}


def render(text: str, results_dir: str = sweeps.RESULTS_DIR) -> tuple[str, list[str]]:
  """``text`` with every marked cell rendered from its results file, and the names of the cells that changed."""
  changed: list[str] = []

  def fill(m: re.Match) -> str:
    name = m.group(1)
    if name not in CLAIMS:
      raise ValueError(f"README marks a claim {name!r} that experiments/claims.py does not know "
                       f"(known: {', '.join(CLAIMS)}); fix the marker or add CLAIMS[{name!r}].")
    res = sweeps.read_results(results_dir, name)
    if res is None:
      raise ValueError(f"README's claim {name!r} has no results file {results_dir}/{name}.json; run "
                       f"`python -m experiments.{name}` first.")
    others = [o for c in COMPANIONS.get(name, ()) if (o := sweeps.read_results(results_dir, c))]
    body = " " + (CLAIMS[name](res, others) if others else CLAIMS[name](res)).replace("|", "\\|") + " "
    if body != m.group(2):
      changed.append(name)
    return f"<!-- claim:{name} -->{body}<!-- /claim:{name} -->"

  return _FENCE.sub(fill, text), changed


def main(argv: list[str] | None = None) -> list[str]:
  p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  p.add_argument("--check", action="store_true", help="change nothing; exit 1 if a marked cell is stale")
  p.add_argument("--readme", default=README)
  p.add_argument("--results-dir", default=sweeps.RESULTS_DIR)
  args = p.parse_args(argv)
  with open(args.readme) as f:
    text = f.read()
  new, changed = render(text, args.results_dir)
  if args.check:
    if changed:
      print(f"stale claims in {args.readme}: {', '.join(changed)} (run python -m experiments.claims)")
      sys.exit(1)
    return changed
  if changed:
    with open(args.readme + ".tmp", "w") as f:
      f.write(new)
    os.replace(args.readme + ".tmp", args.readme)
  print(f"{args.readme}: {len(_FENCE.findall(new))} claims, {len(changed)} rewritten ({', '.join(changed) or '-'})")
  return changed


if __name__ == "__main__":
  main()
