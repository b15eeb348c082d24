"""Datasets: one ``load`` for IDX files, TFDS and procedural dSprites, all returning the same ``Dataset``."""

from vae_jax.data import idx as idx
from vae_jax.data import sprites as sprites
from vae_jax.data import tfds_source as tfds_source
from vae_jax.data.dataset import BINARIZE as BINARIZE
from vae_jax.data.dataset import ENV_VAR as ENV_VAR
from vae_jax.data.dataset import NAMES as NAMES
from vae_jax.data.dataset import SOURCES as SOURCES
from vae_jax.data.dataset import SPLITS as SPLITS
from vae_jax.data.dataset import Dataset as Dataset
from vae_jax.data.dataset import DatasetNotFoundError as DatasetNotFoundError
from vae_jax.data.dataset import binarize_dynamic as binarize_dynamic
from vae_jax.data.dataset import binarize_static as binarize_static
from vae_jax.data.dataset import load as load
from vae_jax.data.idx import IdxFormatError as IdxFormatError
from vae_jax.data.idx import read_idx as read_idx
from vae_jax.data.tfds_source import prepare_command as prepare_command

__all__ = [
    "BINARIZE",
    "ENV_VAR",
    "NAMES",
    "SOURCES",
    "SPLITS",
    "Dataset",
    "DatasetNotFoundError",
    "IdxFormatError",
    "binarize_dynamic",
    "binarize_static",
    "idx",
    "load",
    "prepare_command",
    "read_idx",
    "sprites",
    "tfds_source",
]
