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
