"""The β-VAE sprites experiment end to end at ``--size smoke``: every variant trained, every metric in the table."""

import json
import os

from experiments import beta_vae_sprites


def test_smoke_writes_every_variant_and_metric(tmp_path):
  path = beta_vae_sprites.main(["--size", "smoke", "--runs-root", str(tmp_path), "--results-dir", str(tmp_path)])
  with open(path) as f:
    results = json.load(f)
  table = results["tables"]["Disentanglement on sprites (mean ± std over seeds)"]
  for _, title in beta_vae_sprites.METRICS:
    assert title in table["columns"]
  labels = [row[0] for row in table["rows"]]
  expected = [beta_vae_sprites.label(v) for v in beta_vae_sprites.configs.variants("smoke")]
  assert labels == expected and len(labels) == 7
  first_metric = table["columns"].index(beta_vae_sprites.METRICS[0][1])
  for row in table["rows"]:
    for cell in row[first_metric:first_metric + len(beta_vae_sprites.METRICS)]:
      assert 0.0 <= cell["mean"] <= 1.0 and cell["n"] == 1
  assert any(caption.startswith("Latent → factor") for caption in results["tables"])
  for fig in results["figures"]:
    assert os.path.exists(os.path.join(beta_vae_sprites.sweeps.ROOT, fig)) or os.path.exists(fig)
  assert any("traversal" in fig for fig in results["figures"])
