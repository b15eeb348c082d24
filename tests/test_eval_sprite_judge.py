"""The sprites judge: it learns the factors from real sprites, its Fréchet distance separates real from blurred and
from noise, and it is a pure function of its key."""

import jax
import numpy as np
import pytest
import scipy.ndimage

from vae_jax import evaluation, models, modules
from vae_jax.data import sprites

RES = 32
N = 1000  # held-out sprites per draw
BUDGET = dict(resolution=RES, hidden=(128, 64), batch_size=128)


@pytest.fixture(scope="module")
def judge(sprite_judge):
  # conftest's judge: 400 steps of 128 fresh sprites at 32×32, key 0 (shared with tests/test_eval_factor_edits.py)
  assert BUDGET == dict(resolution=32, hidden=(128, 64), batch_size=128)  # conftest's: a change must change both
  return sprite_judge


@pytest.fixture(scope="module")
def real():
  a, factors = sprites.sample(jax.random.key(101), N, resolution=RES)
  b, _ = sprites.sample(jax.random.key(102), N, resolution=RES)
  return np.asarray(a), np.asarray(factors), np.asarray(b)


def test_the_judge_names_the_factors_of_held_out_sprites_well_above_chance(judge, real):
  images, factors, _ = real
  acc = evaluation.factor_accuracy(judge, images, factors)
  chance = {name: 1.0 / n for name, n in zip(sprites.FACTOR_NAMES, sprites.FACTOR_SIZES)}
  # measured: shape 0.41, scale 0.63, pos_x 0.70, pos_y 0.70 (orientation, 40 angles of mostly symmetric shapes,
  # stays near chance at this budget)
  assert acc["shape"] > chance["shape"] + 0.05, acc
  for name in ("scale", "pos_x", "pos_y"):
    assert acc[name] > 5 * chance[name] or acc[name] > 0.5, (name, acc)
  assert evaluation.predict_factors(judge, images[:3]).shape == (3, 5)


def test_frechet_distance_in_judge_features_ranks_real_blurred_noise(judge, real):
  a, _, b = real
  fa = evaluation.judge_features(judge, a)
  assert fa.shape == (N, 64)
  fd = lambda x: evaluation.frechet_distance(fa, evaluation.judge_features(judge, x))  # noqa: E731
  same = fd(b)  # another draw of real sprites: only the finite-sample bias
  blurred = fd(scipy.ndimage.gaussian_filter(b, sigma=(0, 1.5, 1.5, 0)).astype(np.float32))
  noise = fd(np.random.default_rng(0).uniform(size=b.shape).astype(np.float32))
  assert 0.0 <= same and 3 * same < blurred and 100 * same < noise, (same, blurred, noise)


def test_the_judge_is_a_pure_function_of_its_key(judge):
  # The fixture's setting and chunk (100 steps): the fused steps are compiled already.
  train = lambda seed: evaluation.train_sprite_judge(jax.random.key(seed), **BUDGET, num_steps=100)  # noqa: E731
  one, again, other = train(3), train(3), train(4)
  leaves = lambda j: jax.tree_util.tree_leaves(j.params)  # noqa: E731
  for x, y in zip(leaves(one), leaves(again)):
    np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
  assert any(not np.array_equal(np.asarray(x), np.asarray(y)) for x, y in zip(leaves(one), leaves(other)))


def test_sprite_frechet_of_an_untrained_vae_is_far_from_real(judge, real):
  a, _, b = real
  vae = models.VAE(encoder=modules.MLPEncoder((32,)), decoder=modules.MLPDecoder((32,), (RES, RES, 1)), latent_dim=4,
                   image_shape=(RES, RES, 1))
  params = vae.init({"params": jax.random.key(5)}, a[:2], key=jax.random.key(6))["params"]
  fd = evaluation.sprite_frechet(jax.random.key(7), judge, vae, params, a[:500], reference=b[:500])
  floor = evaluation.frechet_distance(evaluation.judge_features(judge, a[:500]),
                                      evaluation.judge_features(judge, b[:500]))
  assert set(fd) == {"fd_gen", "fd_rec", "fd_real"} and fd["fd_real"] == pytest.approx(floor, rel=1e-9)
  assert all(np.isfinite(fd[k]) and fd[k] > 3 * floor for k in ("fd_gen", "fd_rec")), (fd, floor)
  assert set(evaluation.sprite_frechet(jax.random.key(7), judge, vae, params, a[:500])) == {"fd_gen", "fd_rec"}


def test_wrong_sizes_are_named(judge):
  with pytest.raises(ValueError, match=r"\[N, 32, 32, 1\]"):
    evaluation.judge_features(judge, np.zeros((2, 16, 16, 1), np.float32))
  with pytest.raises(ValueError, match="factors"):
    evaluation.factor_accuracy(judge, np.zeros((2, RES, RES, 1), np.float32), np.zeros((2, 4), np.int32))
  with pytest.raises(ValueError, match="hidden"):
    evaluation.train_sprite_judge(jax.random.key(0), resolution=16, hidden=(), num_steps=1, batch_size=2)
