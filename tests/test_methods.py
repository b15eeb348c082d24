"""Methods: every one runs under jit and grad with finite values, variants change only the regularizer, configs
validate, sweepable hyperparameters may be traced (vmap), and old ``objective`` sections map to methods."""

import dataclasses

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from vae_jax import configs, factory, methods, models, modules
from vae_jax.methods import ae, annealed_vae, beta_tcvae, beta_vae, iwae, vae

SHAPE = (8, 8, 1)
TINY = {"factor_vae": {"discriminator_hidden": (8, 8)}}  # tiny discriminator for tests


def _setup(model_cls=models.VAE, likelihood="bernoulli"):
  model = model_cls(modules.MLPEncoder((16,)), modules.MLPDecoder((16,), SHAPE), latent_dim=3, image_shape=SHAPE,
                    likelihood=likelihood)
  x = jax.random.uniform(jax.random.key(0), (4, *SHAPE))
  params = model.init(jax.random.key(1), x)["params"]
  return model, params, {"image": x}


def _loss(model, config):
  """The loss with the extra state (if the method has one) bound in."""
  loss_fn = factory.make_loss(config, model, dataset_size=1000)
  extra = factory.make_extra(config, model)
  if extra is None:
    return loss_fn
  state = extra.init(jax.random.key(9))
  return lambda *a: loss_fn(*a, extra=state)


CASES = {
    "ae": ae.Config(),
    "dae_gauss": ae.Config(corruption="gaussian", noise_level=0.3),
    "dae_mask": ae.Config(corruption="masking", noise_level=0.3),
    "dae_sp": ae.Config(corruption="salt_and_pepper", noise_level=0.2),
    **{name: methods.config_from_dict({"name": name, **TINY.get(name, {})})
       for name in methods.REGISTRY if name != "ae"},
    "beta_vae_warmup": beta_vae.Config(beta=4.0, beta_warmup_steps=100),
    "beta_tcvae_mss": beta_tcvae.Config(beta=6.0, estimator="mss"),
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian"])
def test_method_jit_grad_finite(case, likelihood):
  config = CASES[case]
  is_ae = "vae" not in methods.get(config.name).model_kinds
  model, params, batch = _setup(models.AutoEncoder if is_ae else models.VAE, likelihood)
  loss_fn = _loss(model, config)
  (loss, metrics), grads = jax.jit(jax.value_and_grad(loss_fn, has_aux=True))(params, batch, jax.random.key(2),
                                                                               jnp.int32(10))
  assert loss.shape == () and np.isfinite(float(loss))
  assert all(v.shape == () and np.isfinite(float(v)) for v in metrics.values()), metrics
  assert all(np.all(np.isfinite(g)) for g in jax.tree_util.tree_leaves(grads))
  np.testing.assert_allclose(metrics["loss"], loss)


@pytest.mark.parametrize("case", ["annealed_vae", "beta_vae_warmup", "dip_vae_ii", "beta_tcvae", "factor_vae"])
def test_a_jitted_method_loss_traces_once_over_many_steps(case):
  """The step (which drives the schedules: capacity C, β warm-up) and the key are traced arguments, so a loss
  jitted once serves every step without retracing (``chex.assert_max_traces``)."""
  model, params, batch = _setup()
  chex.clear_trace_counter()
  loss_fn = jax.jit(chex.assert_max_traces(_loss(model, CASES[case]), n=1))
  losses = [float(loss_fn(params, batch, jax.random.fold_in(jax.random.key(2), s), jnp.int32(s))[0])
            for s in (0, 1, 50, 10_000)]
  assert np.all(np.isfinite(losses)) and len(set(losses)) > 1
  with pytest.raises(AssertionError, match=r"is traced > 1 times"):  # the guard fires on a retrace (a new batch shape)
    loss_fn(params, {"image": batch["image"][:2]}, jax.random.key(2), jnp.int32(0))


def test_a_bad_batch_is_refused_by_shape_before_the_model_runs():
  model, params, batch = _setup()
  with pytest.raises(ValueError, match=r"loss_fn: batch\['image'\] must be \[batch, H, W, C\], got \[4, 64\]"):
    _loss(model, CASES["vae"])(params, {"image": batch["image"].reshape(4, -1)}, jax.random.key(2), jnp.int32(0))


def test_variants_change_only_the_regularizer():
  model, params, batch = _setup()
  key, step = jax.random.key(5), jnp.int32(500)

  def run(config):
    return _loss(model, config)(params, batch, key, step)

  base, m1 = run(vae.Config())
  same, _ = run(beta_vae.Config(beta=1.0))
  beta4, m4 = run(beta_vae.Config(beta=4.0))
  cap, mc = run(annealed_vae.Config(gamma=10.0, c_max=2.0, iteration_threshold=1000))
  tc, mt = run(beta_tcvae.Config(alpha=1.0, beta=1.0, gamma=1.0))
  dip, md = run(methods.dip_vae_i.Config(lambda_od=0.0, lambda_d=0.0))
  np.testing.assert_allclose(same, base)
  np.testing.assert_allclose(dip, base, rtol=1e-6)
  for m in (m4, mc, mt, md):  # same reconstruction sample and KL: the same key feeds the same reparameterization
    np.testing.assert_allclose(m["recon"], m1["recon"], rtol=1e-6)
    np.testing.assert_allclose(m["kl"], m1["kl"], rtol=1e-6)
  np.testing.assert_allclose(beta4, m1["recon"] + 4 * m1["kl"], rtol=1e-5)
  np.testing.assert_allclose(mc["capacity"], 1.0)
  np.testing.assert_allclose(cap, m1["recon"] + 10 * abs(m1["kl"] - 1.0), rtol=1e-5)
  np.testing.assert_allclose(tc, m1["recon"] + mt["mi"] + mt["tc"] + mt["dwkl"], rtol=1e-5)


def test_beta_warmup_is_linear_in_the_step():
  model, params, batch = _setup()
  loss_fn = _loss(model, beta_vae.Config(beta=4.0, beta_warmup_steps=100))
  betas = [float(loss_fn(params, batch, jax.random.key(0), jnp.int32(s))[1]["beta"]) for s in (0, 50, 100, 500)]
  np.testing.assert_allclose(betas, [0.0, 2.0, 4.0, 4.0])


def test_dae_corrupts_only_the_input():
  model, params, batch = _setup(models.AutoEncoder)
  clean, _ = _loss(model, ae.Config())(params, batch, jax.random.key(0), jnp.int32(0))
  noisy_fn = _loss(model, ae.Config(corruption="masking", noise_level=0.5))
  a, _ = noisy_fn(params, batch, jax.random.key(0), jnp.int32(0))
  b, _ = noisy_fn(params, batch, jax.random.key(0), jnp.int32(0))
  c, _ = noisy_fn(params, batch, jax.random.key(1), jnp.int32(0))
  assert float(a) != float(clean) and float(a) == float(b) and float(a) != float(c)
  # With rate 0 the DAE is the AE exactly: the target is always the clean input.
  zero, _ = _loss(model, ae.Config(corruption="masking", noise_level=0.0))(params, batch, jax.random.key(0),
                                                                          jnp.int32(0))
  np.testing.assert_allclose(zero, clean)


def test_iwae_k1_matches_single_sample_elbo_in_expectation():
  model, params, batch = _setup()
  keys = jax.random.split(jax.random.key(0), 400)
  iw_fn, vae_fn = _loss(model, iwae.Config(num_samples=1)), _loss(model, vae.Config())
  iw = jax.jit(jax.vmap(lambda k: iw_fn(params, batch, k, jnp.int32(0))[0]))(keys)  # jitted: op by op took ≈ 7 s
  el = jax.jit(jax.vmap(lambda k: vae_fn(params, batch, k, jnp.int32(0))[1]["elbo"]))(keys)
  np.testing.assert_allclose(-iw.mean(), el.mean(), atol=0.15)


@pytest.mark.parametrize("name", sorted(methods.REGISTRY))
def test_sweepable_hyperparameters_can_be_traced_under_vmap(name):
  """The sweep contract: ``make_loss(model, replace(cfg, h=<tracer>))`` inside vmap equals the per-value loss."""
  config = CASES[name]
  fields = type(config).SWEEPABLE
  if not fields:
    pytest.skip(f"{name} has no sweepable hyperparameter")
  is_ae = "vae" not in methods.get(name).model_kinds
  model, params, batch = _setup(models.AutoEncoder if is_ae else models.VAE)
  if "corruption" in {f.name for f in dataclasses.fields(config)}:
    config = dataclasses.replace(config, corruption="gaussian")
  values = jnp.array([0.5, 2.0], jnp.float32)
  key, step = jax.random.key(3), jnp.int32(7)

  def loss_at(v):
    return _loss(model, dataclasses.replace(config, **{f: v for f in fields}))(params, batch, key, step)[0]

  swept = jax.jit(jax.vmap(loss_at))(values)
  one_by_one = [loss_at(float(v)) for v in values]
  np.testing.assert_allclose(swept, one_by_one, rtol=1e-5)


def test_configs_validate_numbers_but_let_tracers_through():
  with pytest.raises(ValueError, match=r"method.beta must be >= 0, got -1.0"):
    beta_vae.Config(beta=-1.0)
  with pytest.raises(ValueError, match=r"must be in \[0, 1\]"):
    ae.Config(corruption="masking", noise_level=1.5)
  with pytest.raises(ValueError, match=r"method.corruption='blur' is not valid"):
    ae.Config(corruption="blur")
  with pytest.raises(ValueError, match=r"method.name='vae' does not match"):
    beta_vae.Config(name="vae")
  with pytest.raises(ValueError, match=r"method.name='gan' is not valid"):
    methods.config_from_dict({"name": "gan"})
  with pytest.raises(ValueError, match=r"Unknown method field\(s\) \['gama'\]"):
    methods.config_from_dict({"name": "factor_vae", "gama": 3.0})
  jax.jit(lambda b: beta_vae.Config(beta=b).beta)(jnp.float32(-1.0))  # no check on a tracer


def test_switching_the_method_by_name_drops_the_old_methods_fields():
  c = configs.Config(method=beta_vae.Config(beta=8.0))
  c = configs.override(c, "method.name", "factor_vae")
  c = configs.override(c, "method.gamma", "20")
  assert c.method == methods.factor_vae.Config(gamma=20.0)
  assert configs.from_dict(configs.to_dict(c)) == c
  with pytest.raises(ValueError, match=r"method.name='ae' needs model.kind in \['ae', 'stacked_ae'\]"):
    configs.override(c, "method.name", "ae")


@pytest.mark.parametrize("old, new", [
    ({"kind": "vae", "beta": 1.0, "corruption": "none", "noise_level": 0.0}, vae.Config()),
    ({"kind": "beta_vae", "beta": 4.0, "beta_warmup_steps": 0, "gamma": 1000.0, "capacity_max": 25.0,
      "capacity_steps": 100000, "alpha": 1.0, "tc_gamma": 1.0, "num_samples": 5, "corruption": "masking",
      "noise_level": 0.2}, beta_vae.Config(beta=4.0, corruption="masking", noise_level=0.2)),
    ({"kind": "capacity_vae", "gamma": 100.0, "capacity_max": 5.0, "capacity_steps": 300, "corruption": "none"},
     annealed_vae.Config(gamma=100.0, c_max=5.0, iteration_threshold=300)),
    ({"kind": "beta_tcvae", "alpha": 1.0, "beta": 6.0, "tc_gamma": 2.0}, beta_tcvae.Config(beta=6.0, gamma=2.0)),
    ({"kind": "iwae", "num_samples": 7}, iwae.Config(num_samples=7)),
    ({"kind": "dae", "corruption": "gaussian", "noise_level": 0.5}, ae.Config(corruption="gaussian", noise_level=0.5)),
])
def test_old_objective_sections_are_read_as_methods(old, new):
  kind = "ae" if new.name == "ae" else "vae"
  c = configs.from_dict({"model": {"kind": kind}, "objective": old})
  assert c.method == new


def test_beta_tcvae_estimator_changes_only_the_split_and_is_validated():
  """MSS and MWS split the same KL (the β = 1 loss is the VAE's with either); the estimator is named in the run's
  description; an unknown one is refused with the valid names."""
  model, params, batch = _setup()
  key, step = jax.random.key(5), jnp.int32(0)
  (l_w, m_w), (l_s, m_s) = (_loss(model, beta_tcvae.Config(beta=1.0, estimator=e))(params, batch, key, step)
                            for e in ("mws", "mss"))
  np.testing.assert_allclose(l_w, l_s, rtol=1e-5)
  np.testing.assert_allclose(m_w["mi"] + m_w["tc"] + m_w["dwkl"], m_s["mi"] + m_s["tc"] + m_s["dwkl"], rtol=1e-5)
  assert abs(float(m_w["tc"]) - float(m_s["tc"])) > 1.0  # different estimates of the same split
  assert methods.describe(beta_tcvae.Config(estimator="mss")).endswith("estimator=mss")
  assert "estimator" not in methods.describe(beta_tcvae.Config())
  with pytest.raises(ValueError, match=r"method.estimator='mse' is not valid; choose one of \['mws', 'mss'\]"):
    beta_tcvae.Config(estimator="mse")


def test_unknown_corruption():
  with pytest.raises(ValueError, match="Unknown corruption 'blur'"):
    methods.make_corruption("blur", 0.1)


def test_no_method_name_outside_methods():
  """Only vae_jax/methods/ names methods (as string literals); the rest asks the registry."""
  import pathlib

  root = pathlib.Path(methods.__file__).parent.parent
  names = [n for n in methods.REGISTRY if n not in configs.MODELS]  # "ae"/"vae" are also model kinds
  for path in root.rglob("*.py"):
    if "methods" in path.relative_to(root).parts:
      continue
    text = path.read_text()
    found = [n for n in names if f'"{n}"' in text or f"'{n}'" in text]
    assert not found, (str(path), found)


def test_every_method_has_a_title_for_tables():
  """``TITLE`` is what tables and figures print (e.g. the disentanglement study's row labels); names stay keys."""
  titles = {name: m.title for name, m in methods.REGISTRY.items()}
  assert titles["beta_vae"] == "β-VAE" and titles["factor_vae"] == "FactorVAE" and titles["dip_vae_ii"] == "DIP-VAE-II"
  assert len(set(titles.values())) == len(titles) and all(titles.values())
