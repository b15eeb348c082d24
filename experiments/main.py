"""Command line for every run: ``python -m experiments.main --config <file> --workdir <dir> [--config.a.b VALUE …]``.

The config file defines ``get_config() -> vae_jax.configs.Config`` (or ``get_config(arg)``, chosen with
``--config file.py:arg`` as in ``ml_collections.config_flags``); any field can be overridden with a dotted flag,
``--config.seed 3`` or ``--config.model.latent_dim=8``. Rerunning with the same workdir resumes from the latest
checkpoint; a run's errors (bad config, busy workdir, full disk, divergence) end in one ``error: …`` line
(``VAE_JAX_TRACEBACK=1`` shows the traceback) and Ctrl-C in ``interrupted at step N; rerun … from step M``.
Multi-host: pass ``--coordinator HOST:PORT --num_processes N --process_id I`` in each process (CPU: add
``--cpu_collectives gloo``).

Example (the Flax example's MLP VAE on Fashion-MNIST)::

    python -m experiments.main --config experiments/configs/flax_vae_fashion.py --workdir runs/vae_fashion

Flags are parsed by ``absl.flags`` (typed flags, ``--flag VALUE`` and ``--flag=VALUE``, ``--flagfile``). The dotted
overrides are absl flags too, defined for the names found on the command line the way
``ml_collections.config_flags`` does it, but their values are applied by :func:`vae_jax.configs.apply_overrides`,
not by ``config_flags``, which cannot serve this config:

* it sets each override with ``setattr`` on the config as it is parsed, which a frozen dataclass refuses
  (``FrozenInstanceError``), and a per-flag assignment cannot validate all overrides together (``--config.model.kind ae
  --config.method.name ae`` is valid only as a pair);
* it picks each override's parser from the field's type in the config *before* any override is applied, but
  ``Config.method`` is the dataclass of the method named by ``method.name``, which the same command line may change
  (``--config.method.name factor_vae --config.method.gamma 20`` on a VAE config: ``gamma`` exists only after the
  switch);
* it reads ``dataclasses.Field.type`` unresolved, a string under ``from __future__ import annotations`` (``TypeError:
  issubclass() arg 1 must be a class`` for every field of :mod:`vae_jax.configs`);
* a ``bool`` field becomes an absl boolean flag, so ``--config.figures false`` would leave ``false`` unparsed.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import sys

from absl import flags

USAGE = "usage: python -m {prog} --config FILE --workdir DIR [--config.a.b VALUE ...] [--help]"


def load_config_file(path: str):
  """``get_config()`` of the Python file at ``path``; ``path:arg`` calls ``get_config(arg)`` (config_flags'
  convention, for a file with several variants)."""
  path, has_arg, arg = path.partition(":")
  if not os.path.exists(path):
    raise SystemExit(f"--config: no such file {path!r} (configs live in experiments/configs/).")
  spec = importlib.util.spec_from_file_location(f"_vae_jax_config_{abs(hash(path))}", path)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  if not hasattr(module, "get_config"):
    raise SystemExit(f"--config: {path} defines no get_config().")
  return module.get_config(arg) if has_arg else module.get_config()


class _Override(flags.Flag):
  """A ``--<group>.<dotted.name> VALUE`` flag: absl parses the syntax, each occurrence is recorded in command-line
  order as ``(group, dotted name, text)``; the text is typed later, against the (possibly switched) method's dataclass
  (``config_flags``' ``_ConfigFieldFlag`` pattern, minus the ``setattr``)."""

  def __init__(self, name: str, sink: list):
    super().__init__(flags.ArgumentParser(), flags.ArgumentSerializer(), name, None, "an override of a config field")
    self._sink = sink

  def parse(self, argument):
    super().parse(argument)
    group, _, field = self.name.partition(".")
    self._sink.append((group, field, argument))


def define_flags(workdir_help: str) -> flags.FlagValues:
  """The flags every run command shares: config file, workdir and the multi-host ones (a fresh ``FlagValues``, so
  ``main`` can be called more than once in one process)."""
  fv = flags.FlagValues()
  flags.DEFINE_string("config", None, "experiments/configs/<name>.py (or <name>.py:<arg>)", flag_values=fv)
  flags.DEFINE_string("workdir", None, workdir_help, flag_values=fv)
  flags.DEFINE_string("coordinator", None, "HOST:PORT of process 0 for multi-host runs", flag_values=fv)
  flags.DEFINE_integer("num_processes", 1, "number of processes (multi-host)", lower_bound=1, flag_values=fv)
  flags.DEFINE_integer("process_id", 0, "this process's index (multi-host)", lower_bound=0, flag_values=fv)
  flags.DEFINE_string("cpu_collectives", None, "e.g. gloo, for multi-process CPU runs", flag_values=fv)
  flags.DEFINE_boolean("help", False, "show this help and exit", short_name="h", flag_values=fv)
  return fv


def parse_flags(fv: flags.FlagValues, argv: list[str], *, doc: str, prog: str, groups: tuple[str, ...] = ("config",),
                hint: str = "overrides look like --config.model.latent_dim 8") -> list[tuple[str, str, str]]:
  """Parses ``argv`` into ``fv``; returns the dotted overrides ``[(group, dotted name, text)]`` in command-line order.
  A malformed command line exits with the usage and one ``error:`` line (exit code 2, as argparse)."""
  overrides = []
  for token in argv:
    name = token.lstrip("-").split("=", 1)[0]
    if token.startswith("-") and name.startswith(tuple(f"{g}." for g in groups)) and name not in fv:
      fv[name] = _Override(name, overrides)

  def fail(message):
    print(USAGE.format(prog=prog), file=sys.stderr)
    print(f"{prog}: error: {message}", file=sys.stderr)
    raise SystemExit(2)

  try:
    rest = fv([prog, *argv])[1:]
  except flags.UnrecognizedFlagError as e:
    fail(f"unrecognised argument '--{e.flagname}' ({hint})")
  except flags.Error as e:  # a missing value, a bad int or choice: absl's message names the flag
    fail(str(e))
  if fv.help:
    print(doc + "\n" + fv.get_help())
    raise SystemExit(0)
  if rest:
    fail(f"unrecognised argument {rest[0]!r} ({hint})")
  for required in ("config", "workdir"):
    if fv[required].value is None:
      fail(f"--{required} is required")
  return overrides


def parse(argv: list[str]):
  """``(flags, [(dotted name, text)])`` from a ``main`` command line."""
  fv = define_flags("run directory (resumed if it holds checkpoints)")
  overrides = parse_flags(fv, argv, doc=__doc__, prog="experiments.main")
  return fv, [(name, value) for _, name, value in overrides]


def start(args):
  """Logging and (multi-host) JAX set-up; returns the ``jax`` module."""
  logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
  logging.getLogger("absl").setLevel(logging.WARNING)  # Orbax logs every save step at INFO
  # A failed checkpoint write (full disk) is reported in one line by vae_jax.checkpoints; Orbax's async writers
  # would add one "Task exception was never retrieved" traceback per array.
  logging.getLogger("asyncio").setLevel(logging.CRITICAL)
  import jax  # the package's import has kept freed host memory mapped (experiments/__init__.py)

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
