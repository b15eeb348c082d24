"""Throughput benchmarks of vae_jax against the Flax example, PyTorch eager and a roofline-style step bound.

Run ``python -m benchmarks.run`` (see :mod:`benchmarks.run` for the command, the contenders and the method).
"""
