"""vae_jax.ffi_build: a failed compile is a CompileError carrying the compiler's message, a missing compiler a plain
RuntimeError saying what to install, and neither leaves a file in the cache."""

import shutil

import pytest

from vae_jax import ffi_build

needs_compiler = pytest.mark.skipif(not (shutil.which("g++") or shutil.which("c++")), reason="no C++ compiler")


@needs_compiler
def test_a_failed_compile_names_the_error_and_leaves_nothing(tmp_path):
  source = tmp_path / "broken.cc"
  source.write_text("int main( { return 0; }\n")
  cache = tmp_path / "cache"
  with pytest.raises(ffi_build.CompileError, match=r"compiling broken\.cc failed:\n.*error"):
    ffi_build.compile_library(source, cache)
  assert not list(cache.iterdir())


def test_a_missing_compiler_says_what_to_install(tmp_path, monkeypatch):
  source = tmp_path / "ok.cc"
  source.write_text("extern \"C\" int f() { return 1; }\n")
  monkeypatch.setenv("CXX", "/nonexistent/c++")
  with pytest.raises(RuntimeError, match=r"no C\+\+ compiler \(CXX=/nonexistent/c\+\+ not found; install g\+\+") as e:
    ffi_build.compile_library(source, tmp_path / "cache")
  assert not isinstance(e.value, ffi_build.CompileError)
  assert not (tmp_path / "cache").exists()


@needs_compiler
def test_flags_enter_the_build_name(tmp_path):
  source = tmp_path / "ok.cc"
  source.write_text("extern \"C\" int f() { return 1; }\n")
  a = ffi_build.compile_library(source, tmp_path, flags=["-O1"])
  b = ffi_build.compile_library(source, tmp_path, flags=["-O2"])
  assert a != b and a.exists() and b.exists()
