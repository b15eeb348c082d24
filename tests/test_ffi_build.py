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


@needs_compiler
def test_a_change_to_an_included_header_beside_the_source_builds_anew(tmp_path):
  import ctypes

  (tmp_path / "value.h").write_text('#include "inner.h"\n')
  (tmp_path / "inner.h").write_text("constexpr int kValue = 1;\n")
  source = tmp_path / "uses.cc"
  source.write_text('#include "value.h"\n#include <cstdint>\nextern "C" int f() { return kValue; }\n')
  assert ffi_build.local_headers(source) == [tmp_path / "value.h", tmp_path / "inner.h"]  # and theirs, once each
  cache = tmp_path / "cache"
  first = ffi_build.compile_library(source, cache)
  assert ffi_build.compile_library(source, cache) == first  # unchanged: the cached build
  (tmp_path / "inner.h").write_text("constexpr int kValue = 2;\n")  # a header two levels down changes
  second = ffi_build.compile_library(source, cache)
  assert second != first and ctypes.CDLL(str(second)).f() == 2 and ctypes.CDLL(str(first)).f() == 1


def test_the_handlers_headers_are_found_and_shipped():
  import pathlib
  import tomllib

  csrc = pathlib.Path(ffi_build.__file__).parent / "csrc"
  for name in ("fused_adam.cc", "threefry_bernoulli.cc"):
    assert ffi_build.local_headers(csrc / name) == [csrc / "for_each_piece.h"]
  project = tomllib.loads((pathlib.Path(ffi_build.__file__).parents[1] / "pyproject.toml").read_text())
  assert "csrc/*.h" in project["tool"]["setuptools"]["package-data"]["vae_jax"]
