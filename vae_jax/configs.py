"""Frozen, validated experiment configuration: model, method, optimizer, data and training.

Every dataclass validates itself on construction, so a bad value fails at once with a message that says what is
wrong and how to fix it — before any data is loaded or any step compiled. :func:`override` applies dotted
command-line overrides (``model.latent_dim=8``) with type coercion from the field types.

``Config.method`` is the training method's own config dataclass (:mod:`vae_jax.methods`), chosen by its ``name``:
``--config.method.name factor_vae --config.method.gamma 20``. Files written before the methods package, with an
``objective`` section instead, are read too (:func:`vae_jax.methods.from_objective`).
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import typing
from dataclasses import dataclass, field
from typing import Any

from vae_jax import methods

MODELS = ("ae", "vae", "stacked_ae")
ARCHITECTURES = ("mlp", "conv")
DECODERS = ("mirror", "broadcast")
ACTIVATIONS = ("relu", "elu", "tanh", "sigmoid", "gelu", "leaky_relu")  # the names of modules.ACTIVATIONS
LIKELIHOOD_NAMES = ("bernoulli", "gaussian", "squared_error")
SCALE_MODES = ("fixed", "scalar", "per_pixel")
DATASETS = ("fashion_mnist", "mnist", "binarized_mnist", "dsprites", "sprites")
BINARIZE = ("none", "static", "dynamic")
OPTIMIZERS = ("adam", "adamw", "sgd")


def _choice(cls: str, name: str, value, allowed) -> None:
  if value not in allowed:
    raise ValueError(f"{cls}.{name}={value!r} is not valid; choose one of {list(allowed)}.")


def _positive(cls: str, name: str, value, *, allow_zero: bool = False) -> None:
  if isinstance(value, bool) or not isinstance(value, numbers.Real):
    raise TypeError(f"{cls}.{name} must be a number, got {value!r} ({type(value).__name__}).")
  if not math.isfinite(value):
    raise ValueError(f"{cls}.{name} must be a finite number, got {value!r}.")
  bad = value < 0 if allow_zero else value <= 0
  if bad:
    raise ValueError(f"{cls}.{name} must be {'>= 0' if allow_zero else '> 0'}, got {value!r}.")


@dataclass(frozen=True)
class ModelConfig:
  """Which model and how big. ``hidden`` are the MLP trunk widths (the decoder mirrors them unless
  ``decoder_hidden`` is given); ``conv_channels``/``conv_dense`` size the conv nets; ``stacked_sizes`` the
  stacked AE's layer widths after the input. ``conv_depth_to_space`` computes the conv decoder's hidden
  transposed convolutions as stride-1 convolutions plus depth-to-space (:mod:`vae_jax.depth_to_space`: the same
  function and parameters, faster conv β-VAE training on XLA:CPU: ``benchmarks/README.md``); ``False`` uses Flax's
  ``ConvTranspose``. ``decoder="broadcast"`` replaces the decoder that mirrors the encoder with Watters et al.'s
  spatial broadcast decoder (:class:`vae_jax.modules.BroadcastDecoder`: the code tiled beside x/y coordinate channels,
  ``broadcast_channels`` wide, ``broadcast_kernel``² stride-1 convolutions; 1 = a per-pixel MLP).
  ``stacked_activate_code``/``stacked_activate_output`` apply the
  activation to a stacked AE's code/output: the one-stage models of greedy pre-training set them
  (:func:`vae_jax.stacked.stage_config`), a full stacked AE leaves them off."""

  kind: str = "vae"
  architecture: str = "mlp"
  hidden: tuple[int, ...] = (500,)
  decoder_hidden: tuple[int, ...] | None = None
  conv_channels: tuple[int, ...] = (32, 32, 64, 64)
  conv_dense: tuple[int, ...] = (256,)
  conv_depth_to_space: bool = True
  decoder: str = "mirror"
  broadcast_channels: tuple[int, ...] = (64, 64)
  broadcast_kernel: int = 1
  latent_dim: int = 20
  activation: str = "relu"
  likelihood: str = "bernoulli"
  scale_mode: str = "fixed"
  log_scale_init: float = 0.0
  stacked_sizes: tuple[int, ...] = (500, 250, 30)
  stacked_activate_code: bool = False
  stacked_activate_output: bool = False

  def __post_init__(self):
    _choice("model", "kind", self.kind, MODELS)
    _choice("model", "architecture", self.architecture, ARCHITECTURES)
    _choice("model", "decoder", self.decoder, DECODERS)
    _choice("model", "activation", self.activation, ACTIVATIONS)
    _choice("model", "likelihood", self.likelihood, LIKELIHOOD_NAMES)
    _choice("model", "scale_mode", self.scale_mode, SCALE_MODES)
    _positive("model", "latent_dim", self.latent_dim)
    for name in ("hidden", "conv_channels", "conv_dense", "stacked_sizes", "broadcast_channels"):
      if any(w <= 0 for w in getattr(self, name)):
        raise ValueError(f"model.{name} must hold positive widths, got {getattr(self, name)}.")
    if self.kind == "stacked_ae" and self.architecture != "mlp":
      raise ValueError("model.kind='stacked_ae' is an MLP model; set model.architecture='mlp'.")
    if self.decoder == "broadcast":
      if self.kind == "stacked_ae":
        raise ValueError("model.decoder='broadcast' is for kind 'vae' or 'ae'; a stacked AE's decoder mirrors its "
                         "encoder (set model.decoder='mirror').")
      if not self.broadcast_channels:
        raise ValueError("model.broadcast_channels must hold at least one width for model.decoder='broadcast', "
                         "got ().")
      if isinstance(self.broadcast_kernel, bool) or not isinstance(self.broadcast_kernel, int) or (
          self.broadcast_kernel < 1 or self.broadcast_kernel % 2 == 0):
        raise ValueError(f"model.broadcast_kernel must be an odd positive int (1, 3, 5, ...: SAME padding keeps the "
                         f"image size), got {self.broadcast_kernel!r}.")
    if (self.stacked_activate_code or self.stacked_activate_output) and self.kind != "stacked_ae":
      raise ValueError("model.stacked_activate_code/stacked_activate_output are for model.kind='stacked_ae', "
                       f"got kind={self.kind!r}.")
    if self.stacked_activate_output and self.likelihood != "gaussian":
      raise ValueError("model.stacked_activate_output=True makes the decoder output an activated code, which "
                       f"needs model.likelihood='gaussian' (got {self.likelihood!r}).")


@dataclass(frozen=True)
class OptimizerConfig:
  name: str = "adam"
  learning_rate: float = 1e-3
  b1: float = 0.9
  b2: float = 0.999
  weight_decay: float = 0.0
  grad_clip_norm: float = 0.0  # 0 = no clipping

  def __post_init__(self):
    _choice("optimizer", "name", self.name, OPTIMIZERS)
    _positive("optimizer", "learning_rate", self.learning_rate)
    _positive("optimizer", "weight_decay", self.weight_decay, allow_zero=True)
    _positive("optimizer", "grad_clip_norm", self.grad_clip_norm, allow_zero=True)


@dataclass(frozen=True)
class DataConfig:
  """Dataset and preprocessing. ``binarize='dynamic'`` resamples Bernoulli pixels every step on device.
  ``exclude_label`` holds one class out of training (the outlier-detection protocol). ``num_train`` > 0
  keeps only the first examples (quick runs). ``resolution`` is for sprites."""

  name: str = "fashion_mnist"
  binarize: str = "none"
  data_dir: str | None = None
  exclude_label: int = -1
  num_train: int = 0
  num_test: int = 0
  resolution: int = 64

  def __post_init__(self):
    _choice("data", "name", self.name, DATASETS)
    _choice("data", "binarize", self.binarize, BINARIZE)
    _positive("data", "num_train", self.num_train, allow_zero=True)
    _positive("data", "num_test", self.num_test, allow_zero=True)
    _positive("data", "resolution", self.resolution)


@dataclass(frozen=True)
class StackedConfig:
  """Greedy layer-wise pre-training of a ``model.kind='stacked_ae'`` (:func:`vae_jax.stacked.greedy_pretrain`):
  stage k trains for ``stage_steps[k]`` updates (one value: the same for every stage), then the stack is
  fine-tuned end to end for the rest of ``config.num_steps`` (no fine-tuning if the stages use it all). Empty:
  no greedy pre-training (``train_and_evaluate`` ignores this group and trains end to end)."""

  stage_steps: tuple[int, ...] = ()

  def __post_init__(self):
    if any(s <= 0 for s in self.stage_steps):
      raise ValueError(f"stacked.stage_steps must be positive, got {self.stage_steps}.")


@dataclass(frozen=True)
class Config:
  """A whole run. Steps are counted in optimizer updates; ``log_every`` updates run fused in one jit call
  (``lax.scan``), so ``eval_every`` and ``checkpoint_every`` must be multiples of it."""

  model: ModelConfig = field(default_factory=ModelConfig)
  method: Any = field(default_factory=methods.vae.Config)  # one of the vae_jax.methods configs
  optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
  data: DataConfig = field(default_factory=DataConfig)
  stacked: StackedConfig = field(default_factory=StackedConfig)
  seed: int = 0
  batch_size: int = 128
  num_steps: int = 10_000
  log_every: int = 100
  eval_every: int = 1000
  checkpoint_every: int = 1000
  keep_checkpoints: int = 3
  eval_batch_size: int = 1000
  num_eval_examples: int = 0  # 0 = the whole test split
  num_devices: int = 0  # 0 = every device (all processes)
  figures: bool = True
  tensorboard: bool = True
  progress: bool = True

  def __post_init__(self):
    for name in ("batch_size", "num_steps", "log_every", "eval_every", "checkpoint_every", "keep_checkpoints",
                 "eval_batch_size"):
      _positive("config", name, getattr(self, name))
    _positive("config", "num_devices", self.num_devices, allow_zero=True)
    _positive("config", "num_eval_examples", self.num_eval_examples, allow_zero=True)
    for name in ("eval_every", "checkpoint_every"):
      if getattr(self, name) % self.log_every:
        raise ValueError(f"config.{name}={getattr(self, name)} must be a multiple of config.log_every="
                         f"{self.log_every} (steps between host syncs run fused in one jit call).")
    if self.num_devices and self.batch_size % self.num_devices:
      raise ValueError(f"config.batch_size={self.batch_size} is not divisible by config.num_devices="
                       f"{self.num_devices}.")
    if not methods.is_config(self.method):
      raise ValueError(f"config.method must be a vae_jax.methods config (e.g. methods.vae.Config()), got "
                       f"{type(self.method).__name__}.")
    kinds = methods.get(self.method.name).model_kinds
    if self.model.kind not in kinds:
      raise ValueError(f"method.name={self.method.name!r} needs model.kind in {list(kinds)}, got "
                       f"{self.model.kind!r}.")
    stages = self.stacked.stage_steps
    if stages:
      if self.model.kind != "stacked_ae":
        raise ValueError(f"stacked.stage_steps is for model.kind='stacked_ae', got {self.model.kind!r}.")
      num_stages = len(self.model.stacked_sizes)
      if len(stages) not in (1, num_stages):
        raise ValueError(f"stacked.stage_steps={stages} needs one value or one per stage ({num_stages} for "
                         f"model.stacked_sizes={self.model.stacked_sizes}).")
      total = stages[0] * num_stages if len(stages) == 1 else sum(stages)
      if total > self.num_steps:
        raise ValueError(f"stacked.stage_steps={stages} add up to {total} updates, more than config.num_steps="
                         f"{self.num_steps} (the total budget; fine-tuning gets the rest).")


def to_dict(config) -> dict:
  return dataclasses.asdict(config)


def from_dict(d: dict, cls=Config):
  """Inverse of :func:`to_dict` (lists become tuples). The method section is built by its ``name``; an old
  ``objective`` section is mapped to the equivalent method."""
  hints = typing.get_type_hints(cls)
  kwargs = {}
  if cls is Config and "objective" in d and "method" not in d:
    kwargs["method"] = methods.from_objective(d["objective"])
  for f in dataclasses.fields(cls):
    if f.name not in d:
      continue
    v = d[f.name]
    if cls is Config and f.name == "method":
      v = methods.config_from_dict(v)
    elif dataclasses.is_dataclass(hints[f.name]):
      v = from_dict(v, hints[f.name])
    elif isinstance(v, list):
      v = tuple(v)
    kwargs[f.name] = v
  return cls(**kwargs)


def _coerce(text: str, hint, where: str):
  origin = typing.get_origin(hint)
  args = typing.get_args(hint)
  if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
    if text.lower() in ("none", "null") and type(None) in args:
      return None
    hint = next(a for a in args if a is not type(None))
    origin, args = typing.get_origin(hint), typing.get_args(hint)
  try:
    if hint is bool:
      if text.lower() in ("1", "true", "yes"):
        return True
      if text.lower() in ("0", "false", "no"):
        return False
      raise ValueError(text)
    if hint in (int, float, str):
      return hint(text)
    if origin is tuple:
      items = [t for t in text.strip("()[] ").split(",") if t.strip()]
      return tuple(args[0](t.strip()) for t in items)
  except ValueError:
    raise ValueError(f"--config.{where}: cannot read {text!r} as {hint}.") from None
  raise ValueError(f"--config.{where}: unsupported field type {hint}.")


def apply_overrides(config, overrides):
  """Returns ``config`` with every ``(dotted, text)`` override applied, validated once on the whole config.

  All overrides are set first and the config is built (and so validated) once, so fields that are only valid
  together (``model.kind`` and ``method.name``; ``log_every`` and ``eval_every``) can be changed together in any
  order. Errors name the full dotted field.
  """
  d = to_dict(config)
  for dotted, text in overrides:
    cls, node = type(config), d
    parts = dotted.split(".")
    for i, head in enumerate(parts):
      names = {f.name for f in dataclasses.fields(cls)}
      where = ".".join(parts[:i + 1])
      if head not in names:
        raise ValueError(f"Unknown config field {where!r} in {cls.__name__}; known: {sorted(names)}.")
      hint = typing.get_type_hints(cls)[head]
      if cls is Config and head == "method":  # the method's own dataclass, chosen by the (possibly new) name
        try:
          hint = methods.get(node[head].get("name", "vae")).Config
        except ValueError as e:
          raise ValueError(f"--config.{dotted}: {e}") from None
      if i < len(parts) - 1:
        if not dataclasses.is_dataclass(hint):
          raise ValueError(f"Config field {where!r} has no sub-fields (tried {dotted!r}).")
        cls, node = hint, node[head]
      elif dataclasses.is_dataclass(hint):
        raise ValueError(f"Config field {where!r} is a group; set one of its fields, e.g. {where}.<name>.")
      else:
        node[head] = _coerce(text, hint, dotted)
  return from_dict(d, type(config))


def override(config, dotted: str, text: str):
  """Returns ``config`` with the field at ``dotted`` (e.g. ``"model.latent_dim"``) set from ``text``."""
  return apply_overrides(config, [(dotted, text)])
