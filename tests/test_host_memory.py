"""vae_jax.host_memory: glibc keeps freed host memory mapped once asked, so repeated large buffers stop
page-faulting — in the main thread, and with one arena in threads started later (as XLA's are); the switch, and
the places that ask for it."""

import os
import subprocess
import sys
import textwrap

import jax
import pytest

from vae_jax import host_memory
from vae_jax.train import multi_step

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# vae_jax.host_memory needs only ctypes (and vae_jax.env_switch): these processes load it without the package's
# __init__, which imports JAX (≈ 3 s a process, 7 processes here). The "experiments" mode imports the real package,
# whose import is what it checks.
_ALONE = textwrap.dedent("""
    import os, sys, types
    if sys.argv[1] != "experiments":
      sys.modules["vae_jax"] = types.ModuleType("vae_jax")
      sys.modules["vae_jax"].__path__ = [os.path.join(os.getcwd(), "vae_jax")]
""")
_FAULTS = _ALONE + textwrap.dedent("""
    import ctypes, resource, sys, threading
    from vae_jax import host_memory
    mode, where, mib = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if mode == "experiments":
      import experiments  # noqa: F401
    applied = {"keep": host_memory.keep_freed_memory, "arena": host_memory.one_arena, "default": lambda: None,
               "experiments": lambda: host_memory._done.get("one_arena")}[mode]()
    libc = ctypes.CDLL("libc.so.6")
    libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]
    per_round = []
    def rounds():  # a buffer malloc'd, written and freed, as an XLA:CPU execution's temporaries are
      for _ in range(5):
        f0 = resource.getrusage(resource.RUSAGE_THREAD).ru_minflt
        p = libc.malloc(mib * 2**20)
        ctypes.memset(p, 1, mib * 2**20)
        libc.free(p)
        per_round.append(resource.getrusage(resource.RUSAGE_THREAD).ru_minflt - f0)
    if where == "thread":  # started after the setting
      t = threading.Thread(target=rounds)
      t.start()
      t.join()
    else:
      rounds()
    print(applied, min(per_round[1:]))
""")


def _glibc() -> bool:
  return host_memory._mallopt() is not None


def _huge_pages_always() -> bool:
  try:
    with open("/sys/kernel/mm/transparent_hugepage/enabled") as f:
      return "[always]" in f.read()
  except OSError:
    return False


def _faults(mode, where, mib, env=None):
  """(whether the setting is in force, the fewest page faults of one buffer's round after the first)."""
  out = subprocess.run([sys.executable, "-c", _FAULTS, mode, where, str(mib)], capture_output=True, text=True,
                       check=True, env={**os.environ, **(env or {})}, cwd=ROOT).stdout.split()
  return out[0], int(out[1])


needs_glibc = pytest.mark.skipif(not _glibc(), reason="glibc only: other C libraries are left as they are")


@needs_glibc
def test_freed_buffers_are_reused_instead_of_faulted_in_again():
  pages = 64 * 2**20 // 4096
  applied, kept = _faults("keep", "main", 64)
  assert applied == "True" and kept < pages // 100, kept  # later buffers reuse the first one's pages
  off, faulted = _faults("keep", "main", 64, env={host_memory.ENV: "0"})
  assert off == "False"
  if not _huge_pages_always():  # else the kernel maps 2 MiB pages: a few dozen faults either way
    assert _faults("default", "main", 64)[1] > pages // 2  # glibc's default: a fresh mmap, every page faulted
    assert faulted > pages // 2, faulted  # switched off: the default


@needs_glibc
def test_one_arena_reaches_threads_started_after_it():
  pages = 96 * 2**20 // 4096  # above a thread arena's 64 MiB heaps: glibc mmaps it whatever M_MMAP_MAX says
  applied, kept = _faults("arena", "thread", 96)
  assert applied == "True" and kept < pages // 100, kept
  if not _huge_pages_always():
    assert _faults("keep", "thread", 96)[1] > pages // 2  # the thread's own arena: faulted every round


def test_a_bad_switch_is_a_clear_error():
  code = _ALONE + "from vae_jax import host_memory; host_memory.keep_freed_memory()"
  proc = subprocess.run([sys.executable, "-c", code, "keep"], capture_output=True, text=True,
                        env={**os.environ, host_memory.ENV: "maybe"}, cwd=ROOT)
  assert proc.returncode != 0 and "VAE_JAX_KEEP_FREED_MEMORY='maybe': must be 0 or 1 (1: keep" in proc.stderr


def test_the_host_stepped_loop_asks_for_it_on_a_cpu_backend(monkeypatch):
  calls = []
  monkeypatch.setattr(host_memory, "keep_freed_memory", lambda: calls.append(1) or True)
  run = multi_step.host_stepped(lambda *args: args)
  assert run(1, 2) == (1, 2)
  assert calls == ([1] if jax.default_backend() == "cpu" else [])


@needs_glibc
def test_the_experiments_package_sets_one_arena_on_import():
  """Every ``python -m experiments.…`` imports the package before computing: its threads' buffers are kept."""
  applied, kept = _faults("experiments", "thread", 96)
  assert applied == "True" and kept < 96 * 2**20 // 4096 // 100, kept
