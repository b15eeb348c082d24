"""Command line for sweeps: many members (seeds × hyperparameters) of one config trained as one program.

    python -m experiments.train_sweep --config experiments/configs/tiny.py --workdir runs/beta_sweep \\
        --config.method.name beta_vae --sweep.method.beta 1,2,4,8 --sweep.seeds 0-4

``--sweep.<group>.<field> V1,V2,…`` adds a grid axis over a sweepable field (``vae_jax.sweep.sweepable(config)``:
the method's own ``SWEEPABLE`` hyperparameters, e.g. β, γ, C_max, λ, and the learning rate); ``--sweep.seeds`` takes
``0-4`` (inclusive: 0,1,2,3,4), ``0,3,7`` or a mix; ``--sweep.data_parallel K`` splits each member's batch over K
devices (default 1: members spread over all devices). ``--config.*`` overrides the base config as in
``experiments.main``; the multi-host flags are the same too. Rerunning with the same workdir resumes (a finished
sweep is left as is). ``--start_from DIR1,DIR2`` continues finished sweeps' members for more updates in a new workdir
(``vae_jax.sweep.extend``): e.g. the command that trained ``runs/beta_sweep`` with a larger ``--config.num_steps``,
``--workdir runs/beta_sweep_long --start_from runs/beta_sweep``. Outputs: see ``vae_jax/sweep/io.py``; each member
is also a normal run directory in ``<workdir>/members/<name>`` (``train.load_run`` reads it).
"""

from __future__ import annotations

import json
import sys

from absl import flags

from experiments import main as cli


def parse(argv: list[str]):
  """``(flags, config overrides, grid texts, seeds text, data_parallel)`` from a ``train_sweep`` command line."""
  fv = cli.define_flags("sweep directory (resumed if it holds checkpoints)")
  flags.DEFINE_enum("loop", "auto", ["auto", "scan", "host"], "how members' steps are driven", flag_values=fv)
  flags.DEFINE_string("sweep.seeds", "0", "seeds: 0-4 (inclusive), 0,3,7 or a mix", flag_values=fv)
  flags.DEFINE_integer("sweep.data_parallel", 1, "devices per member", lower_bound=1, flag_values=fv)
  flags.DEFINE_list("start_from", [], "finished sweep workdirs whose members this sweep continues for more updates "
                    "(each member matched by seed and config; vae_jax.sweep.extend)", flag_values=fv)
  overrides, grid = [], {}
  for group, field, value in cli.parse_flags(fv, argv, doc=__doc__, prog="experiments.train_sweep",
                                             groups=("config", "sweep"),
                                             hint="use --config.<field> V or --sweep.<field> V1,V2"):
    if group == "config":
      overrides.append((field, value))
    else:
      grid[field] = value
  return fv, overrides, grid, fv["sweep.seeds"].value, fv["sweep.data_parallel"].value


def main(argv: list[str] | None = None) -> dict:
  args, overrides, grid_text, seeds_text, data_parallel = parse(sys.argv[1:] if argv is None else argv)
  jax = cli.start(args)
  from vae_jax import sweep

  config = cli.build_config(args.config, overrides)
  try:
    grid = {name: sweep.parse_values(name, text) for name, text in grid_text.items()}
    spec = sweep.make_sweep(config, grid, seeds=sweep.parse_seeds(seeds_text), data_parallel=data_parallel)
  except (ValueError, TypeError) as e:
    raise SystemExit(f"error: {e}") from None
  results = cli.guarded(sweep.train_sweep, spec, args.workdir, loop=args.loop, start_from=args.start_from or None)
  if jax.process_index() == 0:
    rows = [{"member": r["sweep"]["name"], "status": r["sweep"]["status"],
             "eval/loss": r["eval"].get("eval/loss")} for r in results["members"]]
    print(json.dumps({"final_step": results["final_step"], "images_per_sec": results["images_per_sec"],
                      "members": rows, "notes": results["notes"]}, indent=1))
  return results


if __name__ == "__main__":
  main()
