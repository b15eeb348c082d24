"""The driver every experiment script shares: flags, configs, training runs over variants × seeds, the results file.

Every experiment ``<name>`` is two files: ``experiments/configs/<name>.py`` holds its protocol (``SIZES``,
``get_config(size)`` and, where it trains models, ``variants(cfg)``: see ``experiments/configs/__init__.py``), and
the script ``experiments/<name>.py`` (under ~100 lines) runs it: :func:`begin` (its flags, output folders, seeds and
the command to record; ``--size`` offers the config module's sizes), :func:`load_config`, :func:`train_runs` (one
``train_and_evaluate`` per variant and seed, each in ``<runs_root>/<name>/<size>/<variant>/seed<k>``; a finished run
is reused, an interrupted one resumes), the library's measurements and figures (``vae_jax.evaluation``,
``vae_jax.inference``, ``vae_jax.plots``), and :func:`write_results`, which stores
``experiments/results/<name>.json``; ``experiments/report.py`` turns those files into ``experiments/REPORT.md``.

No script imports another experiment script; what two experiments share is a config module (configs may import
configs) or a library function. The modules here that are not experiments, and may be imported by scripts, are
this driver, ``fashion`` (the Fashion-MNIST images and splits), ``report``, ``run_all``, ``main`` and ``train_sweep``.

Three sizes, chosen with one flag in every script:
  * ``--size full``: the numbers quoted in the report (minutes to hours on a 2-core CPU);
  * ``--size quick``: the same protocol, shrunk to finish in about 2 minutes;
  * ``--size smoke``: a few steps of everything, to check the script runs (CI).
An experiment may add named sizes of its own (e.g. ``higgins``).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import dataclasses
import importlib
import json
import logging
import math
import os
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import ml_collections
import numpy as np

from experiments import arg_types
from vae_jax import train
from vae_jax.configs import Config

logger = logging.getLogger(__name__)
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS_DIR = os.path.join(ROOT, "experiments", "results")
FIGURES_DIR = os.path.join(ROOT, "experiments", "figures")
SIZES = ("full", "quick", "smoke")


def config_module(name: str):
  """The config module of experiment ``name``: ``experiments.configs.<name>``."""
  module = f"experiments.configs.{name}"
  try:
    return importlib.import_module(module)
  except ModuleNotFoundError as e:
    if e.name == module:
      raise ValueError(f"experiment {name!r} has no config module experiments/configs/{name}.py") from None
    raise


def sizes(name: str) -> tuple[str, ...]:
  """The sizes experiment ``name`` has: its config module's ``SIZES``."""
  return tuple(config_module(name).SIZES)


def load_config(name: str, size: str) -> ml_collections.ConfigDict:
  """Experiment ``name``'s protocol at ``size``: ``experiments.configs.<name>.get_config(size)``.

  Raises:
    ValueError: for an unknown experiment or size (the message names the valid sizes).
  """
  return config_module(name).get_config(size)


def variants(name: str, cfg: ml_collections.ConfigDict) -> dict[str, Config]:
  """The training configs of experiment ``name`` at ``cfg``: ``experiments.configs.<name>.variants(cfg)``."""
  return config_module(name).variants(cfg)


def parser(description: str, name: str | None = None, extra_sizes: Sequence[str] = (), *,
           tag: bool = False) -> argparse.ArgumentParser:
  """The flags every experiment script shares.

  Args:
    description: the script's usage docstring.
    name: the experiment; its config module's ``SIZES`` are the ``--size`` choices. Without it the choices are
      full, quick, smoke and ``extra_sizes`` (the sizes only that script has).
    tag: add ``--tag T`` (see :func:`tagged`): results named ``<name>_T``.
  """
  choices = sizes(name) if name is not None else (*SIZES, *extra_sizes)
  p = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
  extra = [c for c in choices if c not in SIZES]
  p.add_argument("--size", choices=choices, default="full",
                 help="full (report numbers), quick (~2 min), smoke (CI)" + "".join(f", {s}" for s in extra))
  p.add_argument("--quick", dest="size", action="store_const", const="quick", help="same as --size quick")
  p.add_argument("--seeds", type=arg_types.at_least(1), default=None,
                 help="number of seeds, 0 … n−1 (default: 3, or 1 for smoke)")
  p.add_argument("--first-seed", type=arg_types.at_least(0), default=None,
                 help="the first seed, so the seeds are k … k+n−1 (default 0, or the size's): fresh seeds beside "
                      "runs that hold 0 … n−1")
  p.add_argument("--workers", type=arg_types.at_least(1), default=1,
                 help="runs trained at once, in threads (helps on an accelerator; leave at 1 on a CPU)")
  p.add_argument("--runs-root", default=os.path.join(ROOT, "runs"), help="where the training runs go")
  p.add_argument("--results-dir", default=None,
                 help="where the results JSON and figures go (default: experiments/results and experiments/figures "
                      "for full runs, <runs-root>/<size>-results otherwise)")
  if tag:
    p.add_argument("--tag", default="", help="name the results <experiment>_<tag> (e.g. h200): a run on another "
                   "machine sits beside this one's results instead of replacing them")
  return p


def tagged(name: str, setup: Setup) -> str:
  """The results' name: ``name``, or ``name_<tag>`` with ``--tag`` — its own file, report section and figures, so a
  run on another machine (a GPU lease) sits beside the committed CPU results. Kept apart, not merged into one table:
  two backends do not train bit-identical models, and a paired comparison must pair models of one machine."""
  t = getattr(setup.args, "tag", "")
  if t and not (t.isascii() and t.isalnum()):
    raise ValueError(f"--tag: letters and digits only (it becomes part of a file name, e.g. h200); got {t!r}")
  return f"{name}_{t}" if t else name


def output_dirs(args, name: str) -> tuple[str, str]:
  """(results dir, figures dir). Only full runs write into the committed experiments/ folders."""
  if args.results_dir:
    out = args.results_dir
    return out, os.path.join(out, "figures")
  if args.size == "full":
    return RESULTS_DIR, FIGURES_DIR
  out = os.path.join(args.runs_root, f"{args.size}-results")
  return out, os.path.join(out, "figures")


def seeds(args) -> list[int]:
  """The seeds a script runs: ``--seeds`` of them from ``--first-seed`` (both with their defaults)."""
  n = args.seeds if args.seeds is not None else (1 if args.size == "smoke" else 3)
  first = getattr(args, "first_seed", None) or 0
  return list(range(first, first + n))


@dataclasses.dataclass(frozen=True)
class Setup:
  """What an experiment script knows once its flags are parsed (see :func:`begin`).

  Attributes:
    args: the parsed flags.
    argv: the flags as given (``sys.argv[1:]`` when the script's ``main`` got none).
    started: ``time.time()`` when the script began; :func:`write_results` turns it into the wall time.
    results_dir: where ``<name>.json`` goes (:func:`output_dirs`).
    figures_dir: where the figures go; it exists.
    seeds: the seeds to run (:func:`seeds`).
    command: ``python -m experiments.<name> <argv...>``, the command :func:`write_results` records.
  """
  args: argparse.Namespace
  argv: list[str]
  started: float
  results_dir: str
  figures_dir: str
  seeds: list[int]
  command: str


def begin(p: argparse.ArgumentParser, name: str, argv: Sequence[str] | None = None, *,
          default_seeds: Mapping[str, int] | None = None, first_seeds: Mapping[str, int] | None = None) -> Setup:
  """Parses an experiment script's flags and prepares its run: the first line of every script's ``main``.

  Args:
    p: the script's parser: :func:`parser` plus any flags of its own.
    name: the script's module name under ``experiments`` (as in ``python -m experiments.<name>``).
    argv: the flags; ``None`` reads ``sys.argv[1:]``.
    default_seeds: the number of seeds for the sizes it names when ``--seeds`` is not given, instead of
      :func:`seeds`' rule (3, or 1 for smoke); it is stored in ``args.seeds``, so the results file records it too.
    first_seeds: the first seed for the sizes it names when ``--first-seed`` is not given (else 0); stored in
      ``args.first_seed``.

  Returns:
    A :class:`Setup`, with its figures folder created.
  """
  argv = list(sys.argv[1:] if argv is None else argv)
  args = p.parse_args(argv)
  started = time.time()
  if args.seeds is None and default_seeds and args.size in default_seeds:
    args.seeds = default_seeds[args.size]
  if getattr(args, "first_seed", None) is None:
    args.first_seed = (first_seeds or {}).get(args.size, 0)
  results_dir, figures_dir = output_dirs(args, name)
  os.makedirs(figures_dir, exist_ok=True)
  return Setup(args=args, argv=argv, started=started, results_dir=results_dir, figures_dir=figures_dir,
               seeds=seeds(args), command=" ".join([f"python -m experiments.{name}", *argv]))


def train_runs(name: str, variants: dict[str, Config], seed_list: Iterable[int], runs_root: str, *,
               size: str, on_done: Callable[[str, int, dict], None] | None = None,
               workers: int = 1, splits: tuple | None = None) -> dict[str, dict[int, dict]]:
  """Trains every variant for every seed; returns ``{variant: {seed: results}}`` (with ``state`` and ``model``).

  A run whose ``results.json`` reports the requested number of steps is resumed at its end (no training: the
  checkpoint is restored and evaluated again), so rerunning a script is cheap.

  ``workers > 1`` trains that many runs at once in threads of this process (JAX releases the GIL while it compiles
  and computes). On an accelerator that overlaps one run's compilation and host work with another's kernels; on a
  2-core CPU it gains nothing. Every run is a pure function of its config and seed, so the results do not depend on
  ``workers``; ``on_done`` is then called from the worker threads, possibly at the same time: guard shared state.
  ``splits``: in-memory ``(train, test)`` data for every run instead of loading ``config.data`` each time.
  """
  if workers < 1:
    raise ValueError(f"workers must be ≥ 1, got {workers}")
  seed_list = list(seed_list)
  jobs = [(variant, seed) for variant in variants for seed in seed_list]
  def run(job: tuple[str, int]) -> dict:
    variant, seed = job
    workdir = os.path.join(runs_root, name, size, variant, f"seed{seed}")
    res = train.train_and_evaluate(dataclasses.replace(variants[variant], seed=seed), workdir, splits=splits)
    if on_done is not None:
      on_done(variant, seed, res)
    return res

  if workers == 1:
    done = [run(job) for job in jobs]
  else:
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name) as pool:
      done = list(pool.map(run, jobs))  # re-raises the first failure
  out: dict[str, dict[int, dict]] = {variant: {} for variant in variants}
  for (variant, seed), res in zip(jobs, done, strict=True):
    out[variant][seed] = res
  return out


def greedy_runs(name: str, variants: dict[str, Config], seed_list: Iterable[int], runs_root: str, *, size: str,
                splits: tuple | None = None) -> dict[str, dict[int, dict]]:
  """:func:`train_runs` for stacked autoencoders: greedy layer-wise pre-training, then end-to-end fine-tuning
  (:func:`vae_jax.stacked.greedy_pretrain`), in the same folders; finished stages are reused."""
  from vae_jax import stacked

  out: dict[str, dict[int, dict]] = {variant: {} for variant in variants}
  for seed in seed_list:
    for variant, config in variants.items():
      workdir = os.path.join(runs_root, name, size, variant, f"seed{seed}")
      out[variant][seed] = stacked.greedy_pretrain(dataclasses.replace(config, seed=seed), workdir, splits=splits)
  return out


def mean_std(values: Sequence[float]) -> dict[str, float]:
  """Mean and sample standard deviation (ddof=1; 0 for one value) of a list of numbers."""
  v = np.asarray(values, dtype=np.float64)
  return {"mean": float(v.mean()), "std": float(v.std(ddof=1)) if v.size > 1 else 0.0, "n": int(v.size),
          "values": [float(x) for x in v]}


def stats(records: Iterable[Mapping[str, float]], scale: Mapping[str, float] | None = None) -> dict[str, dict]:
  """:func:`mean_std` of every key over records (e.g. one dict of metrics per seed); ``scale[key]`` multiplies a
  key's values first (e.g. ``1e3`` for a column shown ×10⁻³)."""
  records = list(records)
  scale = scale or {}
  return {k: mean_std([scale.get(k, 1.0) * r[k] for r in records]) for k in records[0]} if records else {}


def fmt(stat: dict[str, float], digits: int = 2) -> str:
  """``mean ± std`` for a table cell."""
  if stat is None or not math.isfinite(stat.get("mean", float("nan"))):
    return "—"
  return f"{stat['mean']:.{digits}f} ± {stat['std']:.{digits}f}"


def table(columns: Sequence[str], rows: Sequence[Sequence[Any]], *, pad: bool = False) -> dict[str, Any]:
  """A table for the report: ``{"columns": [...], "rows": [[...], ...]}``; a cell may be a :func:`mean_std`.
  ``pad``: a short row is filled with ``None`` (shown empty), e.g. a curve that has fewer points so far."""
  rows = [list(r) + [None] * (len(columns) - len(r)) * pad for r in rows]
  if any(len(r) != len(columns) for r in rows):
    raise ValueError(f"every row needs {len(columns)} cells ({list(columns)})")
  return {"columns": list(columns), "rows": rows}


def table_series(t: Mapping[str, Any], key: str) -> dict[str, list[dict[str, float]]]:
  """A curve table (first column a name, the others steps) as :func:`vae_jax.plots.metric_curves`' series: per row
  ``[{"step": s, key: value}, …]``, empty cells left out."""
  steps = [int(s) for s in t["columns"][1:]]
  return {r[0]: [{"step": s, key: v} for s, v in zip(steps, r[1:]) if v is not None] for r in t["rows"]}


def train_time(res: Mapping[str, Any], name: str, notes: list[str]) -> float:
  """A run's or sweep's recorded training seconds (its results' ``train_time_s``: every invocation's, summed). When
  they miss updates — a resume of a run from before each chunk's seconds were logged (``train_time_from_step``, or
  the ``start_step`` of results older than that field) — appends a note to ``notes`` saying which they count."""
  since = res.get("train_time_from_step", res.get("start_step") or 0)
  if since:
    notes.append(f"{name}: its training time, {res.get('train_time_s') or 0.0:.0f} s, counts updates {since:,}–"
                 f"{res['final_step']:,} only: it was resumed, and the invocations before did not record theirs.")
  return float(res.get("train_time_s") or 0.0)


def compute_time(times: Sequence[float | None], what: str = "training and scoring") -> tuple[float, str]:
  """The seconds behind a script's numbers and the note that says so: ``times`` holds the recorded seconds of every
  training and estimate it reused or did (``None`` where an older invocation cached one without its time, counted
  and named in the note). The seconds go to :func:`write_results`'s ``compute_s``."""
  known = [float(t) for t in times if t is not None]
  unknown = len(times) - len(known)
  note = (f"Time: {sum(known) / 60:.1f} min of {what} behind these numbers (each one's own recorded time, whichever "
          "invocation did it)" + (f"; {unknown} cached before their times were kept are not counted." if unknown
                                  else "."))
  return sum(known), note


def write_results(results_dir: str, name: str, *, args, command: str, started: float, tables: dict[str, Any],
                  figures: Sequence[str] = (), notes: Sequence[str] = (), compute_s: float | None = None,
                  carried: Mapping[str, str] | None = None) -> str:
  """Writes ``<results_dir>/<name>.json``: the command, size, seeds, environment, wall time, tables and figures.

  ``compute_s``: for a script that reuses trained runs and cached scores, the seconds of training and scoring behind
  its numbers as recorded by the invocations that did that work (``compute_time_s``); the wall time counts only this
  invocation, and the report shows both when they differ.

  ``carried``: rows this invocation did not compute but copied from the file an earlier invocation wrote (their
  runs are gone), each mapped to the invocation that computed it (:func:`provenance`); stored as ``carried`` and
  said in a note, so a reader never takes them for this command's work.

  ``tables`` maps a caption to a :func:`table` (preferred), a list of row dicts, or a dict of row dicts;
  ``experiments/report.py`` renders all three, with :func:`mean_std` cells shown as ``mean ± std``.
  """
  os.makedirs(results_dir, exist_ok=True)
  path = os.path.join(results_dir, f"{name}.json")
  payload = {
      "experiment": name,
      "command": command,
      "size": args.size,
      "seeds": seeds(args),
      "environment": train.environment(),
      "wall_time_s": time.time() - started,
      **({} if compute_s is None else {"compute_time_s": float(compute_s)}),
      "finished": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
      "tables": tables,
      "figures": [os.path.relpath(f, ROOT) for f in figures],
      "notes": [*notes, *_carried_note(carried or {})],
      **({"carried": dict(carried)} if carried else {}),
  }
  tmp = path + ".tmp"
  with open(tmp, "w") as f:
    json.dump(payload, f, indent=2, default=lambda o: o.item() if hasattr(o, "item") else str(o))
  os.replace(tmp, path)
  logger.info("wrote %s", path)
  return path


def _carried_note(carried: Mapping[str, str]) -> list[str]:
  by_source: dict[str, list[str]] = {}
  for row, source in carried.items():
    by_source.setdefault(source, []).append(row)
  return [f"Carried, not computed by this command (their runs were not in its runs root): {', '.join(rows)}, from "
          f"{source}." for source, rows in by_source.items()]


def read_results(results_dir: str, name: str) -> dict[str, Any] | None:
  """``<results_dir>/<name>.json`` as an earlier invocation wrote it; None when there is none. A file that is not a
  results file (cut short, edited by hand) raises a ValueError that says so before anything is computed."""
  path = os.path.join(results_dir, f"{name}.json")
  if not os.path.exists(path):
    return None
  with open(path) as f:
    try:
      results, why = json.load(f), "no tables or command"
    except json.JSONDecodeError as e:
      results, why = None, f"not JSON: {e}"
  if not (isinstance(results, dict) and isinstance(results.get("tables"), dict) and "command" in results):
    raise ValueError(f"{path} is not a results file of experiments/sweeps.py ({why}); restore it (e.g. `git "
                     f"checkout -- {os.path.relpath(path)}`) or write elsewhere with --results-dir.")
  return results


def provenance(results: Mapping[str, Any], rows: Iterable[str]) -> dict[str, str]:
  """Which invocation computed each of ``rows`` of an earlier results file: the one its ``carried`` names for a row
  that file had carried itself, else that file's own command and finish time (for :func:`write_results`)."""
  own = f"`{results['command']}` (finished {results.get('finished', '?')})"
  return {r: results.get("carried", {}).get(r, own) for r in rows}


def earlier_results(setup: Setup, name: str, caption: str, produced: Sequence[str], *, keep: bool,
                    hint: str = "Add them to --models (a run retrains bit-for-bit, then is scored)."
                    ) -> dict[str, Any] | None:
  """Before a run on a subset of models writes ``<results_dir>/<name>.json``. With ``keep`` (``--keep-earlier``):
  that file as an earlier invocation of the same size left it (or None), whose rows of other models
  :func:`carry_rows` keeps. Without: None, once :func:`keep_rows` has made sure that no row of table ``caption``
  would be dropped (``hint``: how to keep them by rerunning)."""
  if not keep:
    keep_rows(setup.results_dir, name, caption, produced, hint + " Or keep their rows with --keep-earlier.")
    return None
  old = read_results(setup.results_dir, name)
  if old and old["size"] != setup.args.size:
    raise ValueError(f"{name}: --keep-earlier: {setup.results_dir}/{name}.json holds size {old['size']!r}, not "
                     f"{setup.args.size!r}; its rows cannot sit beside this size's. Write elsewhere with "
                     "--results-dir.")
  return old


def carry_rows(earlier: Mapping[str, Any] | None, tables: dict[str, Any], caption: str, produced: Sequence[str],
               order: Sequence[str], notes: list[str] | None = None) -> tuple[dict[str, Any], dict[str, str]]:
  """``tables`` (this run's, caption → :func:`table`) with the rows of ``earlier`` (None: nothing) that belong to
  models it did not produce, every table's rows in ``order`` (of their first model); and where each carried model's
  numbers were computed (:func:`provenance`, for :func:`write_results`' ``carried``).

  The carried models are those of table ``caption``'s earlier rows (by first cell) not in ``produced``. A row of any
  table is carried when every model its first cell names is (``"a − b"`` names two: a comparison with a model of
  this run is not, since that model may differ from its old self — unless it reproduced its old self: its row of
  ``caption`` has every per-seed value of every statistic (:func:`mean_std` cells) equal to the earlier row's, bit
  for bit; then its comparisons with carried models stand, and a note says so). A table takes the longer of the two
  column lists (a curve with more points), the shorter rows filled with ``None``. ``notes``: extended with the
  earlier file's notes about one carried model (those that begin ``"model: "``, e.g. :func:`train_time`'s), which
  travel with its rows."""
  if not earlier:
    return tables, {}
  old_rows = {r[0]: r for r in earlier["tables"].get(caption, {}).get("rows", [])}
  names = {m for m in old_rows if m not in produced}
  same = {r[0] for r in tables.get(caption, {}).get("rows", [])
          if r[0] in produced and _same_values(r, old_rows.get(r[0]))}
  rank = lambda row: min(list(order).index(m) if m in order else len(order) for m in str(row[0]).split(" − "))  # noqa: E731
  out, stood = dict(tables), set()
  for cap, old in earlier["tables"].items():
    if cap not in tables or not isinstance(old, dict) or "columns" not in old:
      continue
    have = {r[0] for r in tables[cap]["rows"]}
    kept = [r for r in old["rows"] if (ms := set(str(r[0]).split(" − "))) <= names | same and ms & names
            and r[0] not in have]
    stood |= {m for r in kept for m in str(r[0]).split(" − ") if m in same}
    columns = max(tables[cap]["columns"], old["columns"], key=len)
    out[cap] = table(columns, sorted([*tables[cap]["rows"], *kept], key=rank), pad=True)
  if notes is not None:
    notes += [n for n in earlier.get("notes", []) if n.split(": ", 1)[0] in names]
    notes += [f"{m}: retrained here and equal to its earlier row bit for bit (every seed's value of every statistic), "
              "so its earlier comparisons with carried models stand." for m in sorted(stood, key=lambda m: rank([m]))]
  return out, provenance(earlier, sorted(names, key=lambda m: rank([m])))


def _same_values(row: Sequence[Any], old: Sequence[Any] | None) -> bool:
  """Whether two rows of a results table hold the same per-seed values in every :func:`mean_std` cell (and have at
  least one): the same models, evaluated the same way, whatever their other cells (e.g. times) say."""
  if old is None or len(row) != len(old):
    return False
  pairs = [(a, b) for a, b in zip(row, old) if isinstance(a, dict) and "values" in a]
  return bool(pairs) and all(isinstance(b, dict) and a["values"] == b.get("values") for a, b in pairs)


def dropped_rows(results_dir: str, name: str, caption: str, rows: Sequence[str]) -> list[str]:
  """The rows of table ``caption`` in ``<results_dir>/<name>.json`` (by first cell) that a results file holding only
  ``rows`` would drop; [] when there is no such file or table."""
  table = (read_results(results_dir, name) or {}).get("tables", {}).get(caption, {})
  return [r[0] for r in table.get("rows", []) if r[0] not in rows]


def keep_rows(results_dir: str, name: str, caption: str, rows: Sequence[str], hint: str) -> None:
  """Raises before any work if a run producing only ``rows`` would drop rows of the results file (see
  :func:`dropped_rows`): a run on a subset never erases results it does not recompute. ``hint``: how to keep
  them (e.g. which flag adds them back), appended to the error."""
  dropped = dropped_rows(results_dir, name, caption, rows)
  if dropped:
    raise ValueError(f"{name}: {os.path.join(results_dir, name + '.json')} holds results of {', '.join(dropped)}, "
                     f"which this run would drop (it produces only {', '.join(rows) or 'nothing'}). {hint} Or write "
                     "elsewhere with --results-dir.")


def run_script(main: Callable[[], Any], *, verbose: Sequence[str] = ()) -> None:
  """The ``__main__`` block of every experiment script: libraries log warnings only (``force``: absl and Orbax
  install a root handler at import time), the script, this driver and the loggers in ``verbose`` (e.g.
  ``"vae_jax"``: each run's progress) at INFO; then ``main()``. A runs folder in use by another live process or a
  checkpoint that cannot be written ends in one ``error: …`` line, as ``experiments.main`` ends them
  (``VAE_JAX_TRACEBACK=1``: the traceback)."""
  from vae_jax import checkpoints  # noqa: PLC0415

  logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s", force=True)
  for name in ("__main__", __name__, *verbose):
    logging.getLogger(name).setLevel(logging.INFO)
  try:
    main()
  except (checkpoints.WorkdirBusy, checkpoints.CheckpointError) as e:
    if os.environ.get("VAE_JAX_TRACEBACK"):
      raise
    raise SystemExit(f"error: {e}") from None
