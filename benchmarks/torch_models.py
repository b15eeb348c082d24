"""PyTorch eager baselines with the same models: the MLP VAE (784-500-20) and the conv β-VAE (Higgins et al.).

Optional: with no ``torch`` installed the driver skips these contenders with a message
(``pip install torch==2.13.0``, the project's ``torch-baseline`` extra). Optimizers: ``torch.optim.Adam`` with
its defaults (the for-loop implementation on CPU) and ``Adam(fused=True)``. The device is CUDA when available,
else CPU; timings synchronise the device. Threads: PyTorch's default (``torch.get_num_threads()``, recorded).

* MLP: the Fashion-MNIST uint8 images live in one tensor; each epoch draws ``torch.randperm``; each step gathers
  its rows, scales to [0, 1] and draws ``torch.bernoulli`` (dynamic binarization), like vae_jax's on-device loop.
* Conv: batches of 64×64 sprites are rendered before timing (``vae_jax.data.sprites.sample``) and cycled
  through, so the baseline pays no rendering (vae_jax renders inside its step).
* Loss: per-example Bernoulli NLL (BCE with logits summed over pixels) + β·KL, averaged over the batch.
"""

from __future__ import annotations

import numpy as np

from benchmarks import data, timing


def _torch():
  try:
    import torch  # noqa: PLC0415
  except ImportError as e:
    raise ImportError("PyTorch is not installed: pip install torch==2.13.0 (the torch-baseline extra)") from e
  return torch


def _nets(torch, latent: int):
  nn = torch.nn

  class MLPVAE(nn.Module):
    def __init__(self):
      super().__init__()
      self.enc, self.mean, self.logvar = nn.Linear(784, 500), nn.Linear(500, latent), nn.Linear(500, latent)
      self.dec = nn.Sequential(nn.Linear(latent, 500), nn.ReLU(), nn.Linear(500, 784))

    def forward(self, x):
      h = torch.relu(self.enc(x.flatten(1)))
      return self.mean(h), self.logvar(h)

  class ConvVAE(nn.Module):
    """Conv 32-32-64-64 (4×4, stride 2, 'same') → FC 256 → latent; the mirror image back to 64×64×1.

    As vae_jax's ``ConvEncoder``/``ConvDecoder``: padding 1 is XLA's 'SAME' for a 4×4 kernel at stride 2."""

    def __init__(self, channels=(32, 32, 64, 64), dense=256, grid=4):
      super().__init__()
      self.grid = grid
      layers, c_in = [], 1
      for c in channels:
        layers += [nn.Conv2d(c_in, c, 4, 2, 1), nn.ReLU()]
        c_in = c
      self.features = nn.Sequential(*layers, nn.Flatten(), nn.Linear(c_in * grid * grid, dense), nn.ReLU())
      self.mean, self.logvar = nn.Linear(dense, latent), nn.Linear(dense, latent)
      up, rev = [], list(reversed(channels))  # 64, 64, 32, 32
      for c_out in rev[1:]:
        up += [nn.ConvTranspose2d(c_in, c_out, 4, 2, 1), nn.ReLU()]
        c_in = c_out
      up += [nn.ConvTranspose2d(c_in, 1, 4, 2, 1)]
      self.dec_dense = nn.Sequential(nn.Linear(latent, dense), nn.ReLU(), nn.Linear(dense, rev[0] * grid * grid),
                                     nn.ReLU())
      self.dec = nn.Sequential(*up)
      self.top = rev[0]

    def forward(self, x):
      h = self.features(x)
      return self.mean(h), self.logvar(h)

    def decode(self, z):
      return self.dec(self.dec_dense(z).view(-1, self.top, self.grid, self.grid))

  return MLPVAE, ConvVAE


def _loss(torch, model, x, decode, beta: float):
  mean, logvar = model(x)
  z = mean + torch.randn_like(mean) * torch.exp(0.5 * logvar)
  logits = decode(z).reshape(x.shape)
  nll = torch.nn.functional.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1)
  kl = 0.5 * (torch.exp(logvar) + mean.square() - 1.0 - logvar).sum(1)
  return (nll + beta * kl).mean()


class _TorchContender:
  beta = 1.0

  def __init__(self, batch: int, steps: int, fused: bool = False):
    self.batch, self.steps, self.fused = batch, steps, fused

  def _sync(self):
    if self.device.type == "cuda":
      self.torch.cuda.synchronize()

  def _finish_setup(self, model, decode):
    torch = self.torch
    self.model, self.decode = model.to(self.device), decode
    self.opt = torch.optim.Adam(self.model.parameters(), lr=1e-3, fused=self.fused or None)
    _, warm, _ = timing.timed(lambda: self._loop(3))
    return {"compile_s": warm, "device": str(self.device), "threads": torch.get_num_threads(),
            "optimizer": "Adam(fused=True)" if self.fused else "Adam (default)"}

  def _loop(self, n: int):
    for _ in range(n):
      x = self.next_batch()
      loss = _loss(self.torch, self.model, x, self.decode, self.beta)
      self.opt.zero_grad(set_to_none=True)
      loss.backward()
      self.opt.step()
    self._sync()

  def run(self):
    _, wall, cpu = timing.timed(lambda: self._loop(self.steps))
    return timing.throughput(self.steps * self.batch, wall, cpu)


class TorchMLP(_TorchContender):
  def setup(self):
    torch = self.torch = _torch()
    torch.manual_seed(0)
    self.device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    images, source = data.fashion_mnist_u8()
    self.images = torch.from_numpy(images.reshape(len(images), 784)).to(self.device)
    self.perm, self.pos = None, len(images)
    mlp, _ = _nets(torch, 20)
    model = mlp()
    info = self._finish_setup(model, model.dec)
    return {**info, "data": source}

  def next_batch(self):
    torch, n = self.torch, len(self.images)
    if self.pos + self.batch > n:  # a new epoch: reshuffle, drop the remainder
      self.perm, self.pos = torch.randperm(n, device=self.device), 0
    rows = self.perm[self.pos:self.pos + self.batch]
    self.pos += self.batch
    return torch.bernoulli(self.images[rows].float().div_(255.0))


class TorchConv(_TorchContender):
  beta = 4.0

  def __init__(self, batch: int, steps: int, fused: bool = False, resolution: int = 64, pool: int = 16,
               channels=(32, 32, 64, 64), dense: int = 256, latent: int = 10):
    super().__init__(batch, steps, fused)
    self.resolution, self.pool, self.channels, self.dense, self.latent = resolution, pool, channels, dense, latent

  def setup(self):
    torch = self.torch = _torch()
    import jax  # noqa: PLC0415  (only to render the sprites once, before timing)

    from vae_jax.data import sprites  # noqa: PLC0415

    torch.manual_seed(0)
    self.device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    imgs, _ = sprites.sample(jax.random.key(0), self.batch * self.pool, resolution=self.resolution)
    imgs = np.asarray(imgs).transpose(0, 3, 1, 2).copy()  # NCHW
    self.batches = [torch.from_numpy(imgs[i * self.batch:(i + 1) * self.batch]).to(self.device)
                    for i in range(self.pool)]
    self.i = 0
    _, conv = _nets(torch, self.latent)
    grid = self.resolution // 2 ** len(self.channels)
    if grid * 2 ** len(self.channels) != self.resolution:
      raise ValueError(f"resolution {self.resolution} is not a multiple of 2**{len(self.channels)}.")
    model = conv(tuple(self.channels), self.dense, grid)
    return self._finish_setup(model, model.decode)

  def next_batch(self):
    self.i += 1
    return self.batches[self.i % self.pool]


CONTENDERS = {"torch_mlp": TorchMLP, "torch_conv": TorchConv}
