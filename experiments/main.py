"""Command line for every run: ``python -m experiments.main --config <file> --workdir <dir> [--config.a.b VALUE …]``.

The config file defines ``get_config() -> vae_jax.configs.Config``; any field can be overridden with a dotted flag,
``--config.seed 3`` or ``--config.model.latent_dim=8``. Rerunning with the same workdir resumes from the latest
checkpoint; a run's errors (bad config, busy workdir, full disk, divergence) end in one ``error: …`` line
(``VAE_JAX_TRACEBACK=1`` shows the traceback) and Ctrl-C in ``interrupted at step N; rerun … from step M``.
Multi-host: pass ``--coordinator HOST:PORT --num_processes N --process_id I`` in each process (CPU: add
``--cpu_collectives gloo``).

Example (the Flax example's MLP VAE on Fashion-MNIST)::

    python -m experiments.main --config experiments/configs/flax_vae_fashion.py --workdir runs/vae_fashion
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import os
import sys


def load_config_file(path: str):
  if not os.path.exists(path):
    raise SystemExit(f"--config: no such file {path!r} (configs live in experiments/configs/).")
  spec = importlib.util.spec_from_file_location(f"_vae_jax_config_{abs(hash(path))}", path)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  if not hasattr(module, "get_config"):
    raise SystemExit(f"--config: {path} defines no get_config().")
  return module.get_config()


def make_parser(doc: str, workdir_help: str) -> argparse.ArgumentParser:
  """The flags every run command shares: config file, workdir and the multi-host ones."""
  parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--config", required=True, help="experiments/configs/<name>.py")
  parser.add_argument("--workdir", required=True, help=workdir_help)
  parser.add_argument("--coordinator", default=None, help="HOST:PORT of process 0 for multi-host runs")
  parser.add_argument("--num_processes", type=int, default=1)
  parser.add_argument("--process_id", type=int, default=0)
  parser.add_argument("--cpu_collectives", default=None, help="e.g. gloo, for multi-process CPU runs")
  return parser


def dotted_flags(parser: argparse.ArgumentParser, rest: list[str], groups: tuple[str, ...] = ("config",),
                 hint: str = "overrides look like --config.model.latent_dim 8") -> list[tuple[str, str, str]]:
  """``[(group, dotted name, text)]`` from ``--<group>.<name> VALUE`` or ``--<group>.<name>=VALUE`` flags."""
  out = []
  i = 0
  while i < len(rest):
    tok = rest[i]
    if not tok.startswith(tuple(f"--{g}." for g in groups)):
      parser.error(f"unrecognised argument {tok!r} ({hint})")
    name = tok[2:]
    if "=" in name:
      name, value = name.split("=", 1)
      i += 1
    else:
      if i + 1 >= len(rest):
        parser.error(f"{tok} needs a value")
      value = rest[i + 1]
      i += 2
    group, _, field = name.partition(".")
    out.append((group, field, value))
  return out


def parse(argv: list[str]):
  parser = make_parser(__doc__, "run directory (resumed if it holds checkpoints)")
  args, rest = parser.parse_known_args(argv)
  return args, [(name, value) for _, name, value in dotted_flags(parser, rest)]


def start(args):
  """Logging and (multi-host) JAX set-up; returns the ``jax`` module."""
  logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
  logging.getLogger("absl").setLevel(logging.WARNING)  # Orbax logs every save step at INFO
  # A failed checkpoint write (full disk) is reported in one line by vae_jax.checkpoints; Orbax's async writers
  # would add one "Task exception was never retrieved" traceback per array.
  logging.getLogger("asyncio").setLevel(logging.CRITICAL)
  import jax

  if args.cpu_collectives:
    jax.config.update("jax_cpu_collectives_implementation", args.cpu_collectives)
  if args.coordinator:
    jax.distributed.initialize(args.coordinator, num_processes=args.num_processes, process_id=args.process_id)
  return jax


def build_config(path: str, overrides: list[tuple[str, str]]):
  """The config file's config with every override applied, validated once; a bad one exits in one line."""
  from vae_jax import configs

  try:
    return configs.apply_overrides(load_config_file(path), overrides)  # all at once, validated once
  except (ValueError, TypeError) as e:
    raise SystemExit(f"error: {e}") from None


def guarded(fn, *a, **kw):
  """Runs ``fn``: a run's errors end in one ``error: …`` line (``VAE_JAX_TRACEBACK=1``: the traceback), SIGINT in
  one line and exit code 130."""
  from vae_jax import checkpoints

  try:
    return fn(*a, **kw)
  except KeyboardInterrupt as e:  # SIGINT: one line, not a traceback
    print(str(e) or "interrupted before training started; rerun the same command to resume.", file=sys.stderr)
    raise SystemExit(130) from None
  except (ValueError, FloatingPointError, checkpoints.WorkdirBusy, checkpoints.CheckpointError) as e:
    if os.environ.get("VAE_JAX_TRACEBACK"):  # debugging: the full traceback instead of the one line
      raise
    raise SystemExit(f"error: {e}") from None


def main(argv: list[str] | None = None) -> dict:
  args, overrides = parse(sys.argv[1:] if argv is None else argv)
  jax = start(args)
  from vae_jax import train

  config = build_config(args.config, overrides)
  results = guarded(train.train_and_evaluate, config, args.workdir)
  if jax.process_index() == 0:
    summary = {"final_step": results["final_step"], "eval": results["eval"],
               "images_per_sec": results["images_per_sec"], "wall_time_s": round(results["wall_time_s"], 1)}
    print(json.dumps(summary, indent=2))
  return results


if __name__ == "__main__":
  main()
