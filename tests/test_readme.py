"""The README's code example runs as written."""

import os
import re

import jax

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_readme_python_example_runs():
  text = open(os.path.join(ROOT, "README.md")).read()
  blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
  assert blocks, "README has no python example"
  namespace: dict = {}
  with jax.numpy_dtype_promotion("standard"):  # user code runs under JAX's default promotion (optax needs it)
    exec(compile(blocks[0], "README.md", "exec"), namespace)  # noqa: S102 - our own README
  loss = float(namespace["loss"])
  assert loss == loss and loss > 0
