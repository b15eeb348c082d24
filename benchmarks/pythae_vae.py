"""pythae as a contender: its own training loop (``pythae.trainers.BaseTrainer``) for the MLP VAE (784-500-20).

Optional: without ``pythae`` (which needs PyTorch) the driver skips the row with the install hint
(``pip install pythae`` on top of ``pip install torch==2.13.0``; neither is in requirements.txt).

What runs, as a pythae user would write it (pythae 0.1.2 read for this; ``BaseTrainer.train``):

* model: ``pythae.models.VAE`` with ``VAEConfig(input_dim=(1, 28, 28), latent_dim=20, reconstruction_loss="bce")``
  and a custom ``BaseEncoder`` (``Linear(784, 500) → ReLU`` then ``Linear(500, 20)`` heads for the mean and the
  log-variance) and ``BaseDecoder`` (``Linear(20, 500) → ReLU → Linear(500, 784) → sigmoid``): pythae's VAE takes
  BCE on probabilities (``F.binary_cross_entropy`` of the sigmoid, summed over pixels) plus the analytic KL,
  averaged over the batch; the other rows take BCE on logits, the same loss;
* data: a ``pythae.data.BaseDataset`` subclass over the Fashion-MNIST train images (float32 in [0, 1], pythae's
  ``[N, 1, 28, 28]`` layout) whose ``__getitem__`` draws ``torch.bernoulli`` for its image (dynamic binarization,
  one image at a time: pythae's dataset protocol is per item), batched by the trainer's own ``DataLoader``
  (shuffled, ``num_workers=0``, pythae's ``collate_dataset_output``);
* trainer: ``BaseTrainerConfig(per_device_train_batch_size=B, num_epochs=E, learning_rate=1e-3,
  optimizer_cls="Adam")`` — ``torch.optim.Adam`` with its defaults, as the PyTorch-eager row — on CUDA when
  available, as the other PyTorch rows.

Switched off: evaluation (no ``eval_dataset``), checkpoints (``steps_saving=None``), predictions/sample figures
(``steps_predict=None``), the training-log file (no ``log_output_dir``), mixed precision (``amp=False``, the
default). Not switchable, so timed with the loop: per step ``loss.item()`` (a device sync) and a NaN check, and
the tqdm progress bar that ``train`` always adds; per epoch a new ``DataLoader`` iterator (shuffle), a
``deepcopy`` of the model whenever the epoch's training loss improves (pythae keeps the best model; without an
evaluation set it keeps the best on the training set), the console log of the epoch's loss. Outside the timed
window, as compilation is for the JAX rows: ``prepare_training`` (seed, a fresh Adam, output folders, callbacks)
and the final ``save_model`` that every ``train`` call ends with (weights, configs and the cloudpickled
encoder/decoder written to a temporary folder, removed after the repeat).

Timing: each repeat is one ``trainer.train()`` call of ``epochs`` epochs over the first ``num_train`` images (a
subset, so a repeat takes seconds); a ``TrainingCallback`` records the clock at the end of every training step,
and images/s is the steps after the first ``warmup`` of the call (≥ 1 epoch boundary included) over the time
from the end of step ``warmup`` to the end of the last step. The whole call's rate (setup and final save
included) is recorded too (``train_call_images_per_s``), and the table's "compile s" is the first call's time to
the end of its warm-up steps.
"""

from __future__ import annotations

import shutil
import tempfile
import time

import numpy as np

from benchmarks import data, timing

INSTALL_HINT = "pythae not installed: pip install pythae (after pip install torch==2.13.0)"


def _pythae():
  """Imports pythae, or raises ``ImportError`` with the install hint."""
  try:
    import pythae  # noqa: F401, PLC0415
    from pythae.trainers import training_callbacks  # noqa: F401, PLC0415
  except ImportError as e:
    if getattr(e, "name", None) == "torch":
      raise ImportError("PyTorch is not installed (pythae needs it): pip install torch==2.13.0, then pip install "
                        "pythae") from e
    raise ImportError(INSTALL_HINT) from e
  return pythae


def _parts(latent: int = 20, hidden: int = 500, pixels: int = 784):
  """The encoder, decoder, dataset and timing-callback classes (defined here: torch is imported only now)."""
  import torch  # noqa: PLC0415
  from pythae.data.datasets import BaseDataset, DatasetOutput  # noqa: PLC0415
  from pythae.models.base.base_utils import ModelOutput  # noqa: PLC0415
  from pythae.models.nn import BaseDecoder, BaseEncoder  # noqa: PLC0415
  from pythae.trainers.training_callbacks import TrainingCallback  # noqa: PLC0415

  nn = torch.nn

  class Encoder(BaseEncoder):
    def __init__(self):
      super().__init__()
      self.hidden, self.mean, self.logvar = nn.Linear(pixels, hidden), nn.Linear(hidden, latent), nn.Linear(
          hidden, latent)

    def forward(self, x):
      h = torch.relu(self.hidden(x.flatten(1)))
      return ModelOutput(embedding=self.mean(h), log_covariance=self.logvar(h))

  class Decoder(BaseDecoder):
    def __init__(self):
      super().__init__()
      self.net = nn.Sequential(nn.Linear(latent, hidden), nn.ReLU(), nn.Linear(hidden, pixels))

    def forward(self, z):
      return ModelOutput(reconstruction=torch.sigmoid(self.net(z)).reshape(-1, 1, 28, 28))

  class DynamicallyBinarized(BaseDataset):
    """pythae's dataset with a fresh Bernoulli draw of the image at every access."""

    def __getitem__(self, index):
      return DatasetOutput(data=torch.bernoulli(self.data[index]), labels=self.labels[index])

  class StepClock(TrainingCallback):
    """The clock (wall, process CPU) at the end of every training step of a ``train`` call."""

    def on_train_begin(self, training_config, **kwargs):
      self.ticks = []

    def on_train_step_end(self, training_config, **kwargs):
      self.ticks.append((time.perf_counter(), time.process_time()))

  return Encoder, Decoder, DynamicallyBinarized, StepClock


class PythaeTrainer:
  """pythae's ``BaseTrainer`` training its ``VAE`` with the 784-500-20 MLP (module docstring)."""

  def __init__(self, batch: int, num_train: int, epochs: int = 2, warmup: int = 3):
    if epochs < 2:
      raise ValueError(f"epochs={epochs}: the timed window should cross an epoch boundary (use ≥ 2).")
    self.batch, self.epochs, self.warmup = batch, epochs, warmup
    self.steps_per_epoch = num_train // batch
    if self.steps_per_epoch < 1 or self.steps_per_epoch * epochs <= warmup:
      raise ValueError(f"num_train={num_train}, batch={batch}, epochs={epochs}: no steps after {warmup} warm-up.")

  def setup(self):
    _pythae()
    import torch  # noqa: PLC0415
    from pythae.models import VAE, VAEConfig  # noqa: PLC0415
    from pythae.trainers import BaseTrainer, BaseTrainerConfig  # noqa: PLC0415

    encoder, decoder, dataset_cls, clock = _parts()
    torch.manual_seed(0)
    images, source = data.fashion_mnist_u8(self.steps_per_epoch * self.batch)
    x = torch.from_numpy(np.ascontiguousarray(images.transpose(0, 3, 1, 2))).float().div_(255.0)
    dataset = dataset_cls(x, torch.zeros(len(x)))
    model = VAE(VAEConfig(input_dim=(1, 28, 28), latent_dim=20, reconstruction_loss="bce"), encoder=encoder(),
                decoder=decoder())
    self.out_dir = tempfile.mkdtemp(prefix="vae_jax_bench_pythae_")
    config = BaseTrainerConfig(output_dir=self.out_dir, per_device_train_batch_size=self.batch,
                               num_epochs=self.epochs, learning_rate=1e-3, optimizer_cls="Adam",
                               steps_saving=None, steps_predict=None, amp=False)
    self.clock = clock()
    self.trainer = BaseTrainer(model, dataset, eval_dataset=None, training_config=config, callbacks=[self.clock])
    return {"data": source, "device": str(self.trainer.device),
            "threads": torch.get_num_threads(), "optimizer": "Adam (default), pythae BaseTrainer",
            "steps_per_call": self.steps_per_epoch * self.epochs}

  def run(self):
    t0, c0 = time.perf_counter(), time.process_time()
    try:
      self.trainer.train()
    finally:
      call_s = time.perf_counter() - t0
      shutil.rmtree(self.out_dir, ignore_errors=True)
    ticks = self.clock.ticks
    if len(ticks) != self.steps_per_epoch * self.epochs:
      raise RuntimeError(f"pythae ran {len(ticks)} steps, expected {self.steps_per_epoch * self.epochs}")
    (w0, c0w), (w1, c1w) = ticks[self.warmup - 1] if self.warmup else (t0, c0), ticks[-1]
    steps = len(ticks) - self.warmup
    # compile_s (the table's column; the report takes the first repeat's): the call's start to the end of its
    # warm-up steps, what the PyTorch rows report for their warm-up.
    return timing.throughput(steps * self.batch, w1 - w0, c1w - c0w, epochs=self.epochs, steps=steps,
                             compile_s=w0 - t0, train_call_s=call_s,
                             train_call_images_per_s=len(ticks) * self.batch / call_s)


CONTENDERS = {"pythae_trainer": PythaeTrainer}
