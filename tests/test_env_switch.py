"""vae_jax.env_switch: every library switch reads one vocabulary and refuses anything else, naming it."""

import pytest

from vae_jax import env_switch


@pytest.mark.parametrize("raw, want", [("0", "0"), ("off", "0"), (" False ", "0"), ("NO", "0"), ("1", "1"),
                                       ("on", "1"), ("True", "1"), ("yes", "1")])
def test_on_and_off_in_any_of_their_spellings(monkeypatch, raw, want):
  monkeypatch.setenv("VAE_JAX_TEST_SWITCH", raw)
  assert env_switch.read("VAE_JAX_TEST_SWITCH", "1") == want
  assert env_switch.read("VAE_JAX_TEST_SWITCH", "auto", auto=True) == want


def test_unset_gives_the_default_and_auto_only_where_the_switch_has_it(monkeypatch):
  monkeypatch.delenv("VAE_JAX_TEST_SWITCH", raising=False)
  assert env_switch.read("VAE_JAX_TEST_SWITCH", "1") == "1"
  assert env_switch.read("VAE_JAX_TEST_SWITCH", "auto", auto=True) == "auto"
  monkeypatch.setenv("VAE_JAX_TEST_SWITCH", "AUTO")
  assert env_switch.read("VAE_JAX_TEST_SWITCH", "0", auto=True) == "auto"
  with pytest.raises(ValueError, match=r"VAE_JAX_TEST_SWITCH='AUTO': must be 0 or 1 \(what it does\)\.$"):
    env_switch.read("VAE_JAX_TEST_SWITCH", "1", meaning=" (what it does)")


@pytest.mark.parametrize("raw", ["", "2", "maybe", "yes please"])
def test_anything_else_is_an_error_naming_the_variable_and_its_values(monkeypatch, raw):
  monkeypatch.setenv("VAE_JAX_TEST_SWITCH", raw)
  with pytest.raises(ValueError, match=f"VAE_JAX_TEST_SWITCH={raw!r}: must be 0, 1 or auto"):
    env_switch.read("VAE_JAX_TEST_SWITCH", "auto", auto=True)


def test_a_cpu_custom_call_is_built_only_where_auto_can_use_it(monkeypatch):
  """``cpu_custom_call`` (the oneDNN convolutions' and the fused Adam's switch): ``auto`` asks for the build only on
  a one-device CPU process; ``1`` insists and says why it cannot; ``0`` never builds."""
  import jax  # noqa: PLC0415

  built = []

  def available():
    built.append(True)
    return True

  def call():
    return env_switch.cpu_custom_call("VAE_JAX_TEST_SWITCH", "the test handler is", available, lambda: "")

  monkeypatch.setenv("VAE_JAX_TEST_SWITCH", "0")
  assert call() is False and not built
  monkeypatch.setenv("VAE_JAX_TEST_SWITCH", "auto")
  assert call() is (jax.device_count() == 1) and built == [True] * (jax.device_count() == 1)  # conftest: 8 devices
  monkeypatch.setattr(jax, "device_count", lambda: 1)
  assert call() is True
  built.clear()
  for backend in ("gpu", "tpu"):
    monkeypatch.setattr(jax, "default_backend", lambda backend=backend: backend)
    assert call() is False and not built  # nothing compiled where the CPU branch is never lowered
  monkeypatch.setenv("VAE_JAX_TEST_SWITCH", "1")
  assert call() is True
  with pytest.raises(RuntimeError, match=r"^VAE_JAX_TEST_SWITCH=1 but the test handler is unavailable: no g\+\+$"):
    env_switch.cpu_custom_call("VAE_JAX_TEST_SWITCH", "the test handler is", lambda: False, lambda: "no g++")
