"""The experiments: one script per question, each with its config in ``experiments/configs``.

Importing the package (every ``python -m experiments.…`` does, before any JAX computation) calls
:func:`vae_jax.host_memory.one_arena`: XLA:CPU's threads then reuse their freed buffers instead of page-faulting
fresh ones on every call (what it saves, e.g. in the conv VAE's batched inference: ``benchmarks/README.md``, "Host
memory"). ``VAE_JAX_KEEP_FREED_MEMORY=0`` turns it off.
"""

from vae_jax import host_memory

host_memory.one_arena()
