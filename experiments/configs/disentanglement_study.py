"""The disentanglement study (issue #17): Locatello et al. 2019's methods and grids on procedural sprites.

    python -m experiments.disentanglement_study --size cpu     # this CPU: under 2 hours (wall time in the results)
    python -m experiments.disentanglement_study --size full    # Locatello et al.'s setup, 300k updates (accelerator)
    python -m experiments.disentanglement_study --size smoke   # seconds (CI); quick: minutes

Does a β-VAE (and its relatives) separate the sprite factors a plain VAE mixes, and are its images sharper? Every
setting is trained as a sweep (``vae_jax.sweep``): one program per (method, fixed hyperparameters), its members the
swept value × the seeds; each sweep trains in ``<runs-root>/disentanglement_study/<size>/<sweep>`` and is resumed or
reused on a rerun, and each member's scores are cached in that folder's ``study_evals.json`` as they are computed.

Sizes:
  * ``full`` — the literature's setup: 64×64 sprites, Locatello et al.'s conv encoder/decoder (4 conv layers
    32-32-64-64, 4×4 stride 2, dense 256, 10 latents, Bernoulli), Adam 1e-4, batch 64, 300,000 updates, the full
    grids of :data:`GRIDS`, 5 seeds, disentanglement_lib's metric sample sizes. For an accelerator
    (``scripts/gpu_check.sh study``); results ``disentanglement_study_gpu.json``.
  * ``cpu`` — issue #17's CPU study, sized to finish in under 2 hours on the 2-core CPU: 32×32 sprites, the MLP
    VAE 1024-512-256-10 (the report's sprites model), Adam 1e-3, batch 256, 25,000 updates — the images of 10⁵
    updates at batch 64 (6.4 M, 8.7 passes over the 737,280 combinations; what counts is images seen), in a quarter
    of the updates: a batch of 256 runs 1.3× more images/s than 64 here (10-member sweep), and β-TCVAE's minibatch-
    weighted estimate of log q(z) is less biased at a larger batch (Chen et al. trained at 2,048) — 5 seeds, the
    grid subset :data:`CPU_GRIDS`; DCI on 3,000/1,500 codes with 20 stages (``--dci-check`` compares it with the
    full size). At 32×32, ``β_norm = β·10/1024``: the same β weighs 4× more per pixel than at 64×64. Results
    ``disentanglement_study_cpu.json`` (REPORT §4c).
  * ``cpu_beta`` — the per-pixel β grid: the cpu setup at 5,000 updates (its curves are flat from there), β-VAE with
    β ∈ {0.25, 0.5, 1, 2}, 5 seeds — β = 0.25 at 32×32 weighs per pixel what β = 1 does at 64×64, so it tests the
    explanation of the cpu study's finding (β = 4 below β = 1 there). Results ``disentanglement_study_cpu_beta.json``.
  * ``cpu64`` — the cpu study's grid and model at the literature's batch: 100,000 updates of 64 (Locatello et al.'s
    batch; Higgins et al.'s Adam 5e-4), the same 6.4 M images per model in 4× the updates. A probe of one seed at
    batch 64 (40,000 updates, REPORT's sprites protocol) had β = 4 at twice β = 1's MIG, where the cpu study's
    batch of 256 had it below: does the batch (the number of updates, the gradient noise) decide the direction?
    Results ``disentanglement_study_cpu64.json``.
  * ``cpu1024`` — the same grid, model and images at batch 1,024: 6,250 updates of 1,024 (Adam 1e-3, Chen et al.'s
    rate at batch 2,048). β-TCVAE's minibatch-weighted estimate of log q(z) is biased at small batches (its TC
    gradient sees 14 % of the true correlation slope at 64, 32 % at 256: ``tests/test_tc_estimator.py``), and it fell
    from MIG 0.097 at 256 to 0.034 at 64: does it rise further at 1,024? With cpu64 and cpu, the batch axis 64 / 256 /
    1,024 at equal images. Results ``disentanglement_study_cpu1024.json``.
  * ``cpu64_mss`` — cpu64 with β-TCVAE's q(z) estimated by minibatch stratified sampling (``estimator="mss"``), whose
    gradient decorrelates the code at batch 64 where weighted sampling's mostly widens the posteriors
    (``tests/test_tc_estimator.py``). Its β-VAE sweep is cpu64's (the same configs: trained once, read from the
    cpu64 runs folder). Results ``disentanglement_study_cpu64_mss.json``.
  * ``cpu_mss`` — the same for the cpu study (batch 256, where weighted sampling gave the best β-TCVAE): its β-VAE
    sweep is cpu's. Results ``disentanglement_study_cpu_mss.json``.
  * ``cpu_mss_beta2`` — cpu_mss with the stratified β-TCVAE at β = 2 (Locatello et al.'s grid has 1, 2, 4, 6, 8,
    10): at 32×32 a weight on a KL-side term counts ≈ 4× more per pixel than at 64×64 (``cpu_beta``), and at β = 6
    the stratified β-TCVAE kept 4–5 active latents and dropped orientation — does a lighter TC weight keep more
    factors and raise MIG? Its β-VAE sweep is cpu's. Results ``disentanglement_study_cpu_mss_beta2.json``.
  * ``cpu1024_mss_beta2`` — the same stratified β-TCVAE at β = 2 at cpu1024's batch (6,250 updates of 1,024; the
    same images): cpu1024's weighted-sampling β-TCVAE rose with the batch (median MIG 0.034 / 0.097 / 0.166 at 64 /
    256 / 1,024), the stratified one at β = 2 was the only setting above β = 1 on every seed for MIG and DCI-D at
    256 — do the two add up? Its reference is β = 1 alone (5 members in its own folder: cpu1024's β-VAE sweep also
    holds β = 4, which the question does not need — half the reference's training; the same configs as cpu1024's
    β = 1 members). Results ``disentanglement_study_cpu1024_mss_beta2.json``.
  * ``cpu1024_long`` — cpu1024's β-TCVAE (weighted sampling, β = 6: the best median MIG of the CPU studies, 0.166,
    its first seed's curve still rising at 6,250 updates) and its β = 1 reference at twice the updates: 12,500 of
    1,024 (12.8 M images per model, 17 passes over the 737,280 combinations). Does MIG keep rising with the images
    — what budget would reach issue #17's 0.25? Results ``disentanglement_study_cpu1024_long.json``.
  * ``cpu_conv`` — Locatello et al.'s conv encoder/decoder (``full``'s net) on the CPU's 32×32 sprites, with
    gpu_lease's schedule (20,000 updates of 64, Adam 5e-4; 1.28 M images per model), β = 1 and β-TCVAE β = 6, 5 seeds,
    the cpu study's metric sizes. Every MLP trained on the CPU folded its position codes (a latent sweeping the left
    half of the canvas, then again the right: ``experiments.factor_response``, REPORT §4c-R); convolutions are
    translation-equivariant — do they keep position in order, and does MIG follow? Results
    ``disentanglement_study_cpu_conv.json``.
  * ``cpu1024_sbd`` — cpu1024's setup (the 512-256 MLP encoder, batch 1,024, Adam 1e-3) with Watters et al.'s spatial
    broadcast decoder (``model.decoder="broadcast"``: the code tiled beside x/y coordinate channels, 64-64 channels,
    1×1 kernels), β = 1 and β-TCVAE β = 6, 5 seeds, 1,000 updates of 1,024 (1.02 M images per model; the decoder
    has ≈ 6× the MLP decoder's products). The MLP and conv decoders trained here folded their position codes on most
    seeds at β = 1 (REPORT §4c-R, §4c-R‴); a decoder given the pixel's coordinates draws a moved sprite by shifting
    them — Watters et al. (2019) found it gives position its own ordered latents. Results
    ``disentanglement_study_cpu1024_sbd.json``.
  * ``cpu1024_sbd_grid`` — cpu1024_sbd's grid widened: the article's β-VAE at β = 2 and β-TCVAE at a lighter
    β = 3 (at β = 6 it kept no latent for shape or orientation, and its FactorVAE metric fell below β = 1's on every
    seed), each a sweep of 5 seeds, beside cpu1024_sbd's β = 1 and β-TCVAE β = 6 (read from its runs: the same
    configs, trained once). Does a β > 1 beat β = 1 on every seed for all four headline scores once position is in
    order? Results ``disentanglement_study_cpu1024_sbd_grid.json``.
  * ``cpu1024_sbd_long`` — the broadcast decoder at three times the updates (3,000 of 1,024, 3.1 M images per model),
    β = 1 and β-VAE β = 2, 5 seeds, one sweep per setting (≈ 75 min each here): at 1,000 updates every score was still
    rising, and one seed trained for 3,000 (``--size cpu1024_sbd_grid --steps 3000 --seeds 1 --methods beta_vae``)
    took β = 1 from β-VAE metric 0.85 and MIG 0.20 at 1,200 updates to 1.00 and 0.41 at 3,000. Results
    ``disentanglement_study_cpu1024_sbd_long.json``.
  * ``cpu1024_sbd_long_tc`` — β-TCVAE β = 6 at cpu1024_sbd_long's budget, beside its β = 1 (read from its run).
    Results ``disentanglement_study_cpu1024_sbd_long_tc.json``.
  * ``cpu1024_sbd_mss`` — cpu1024_sbd's setup with β-TCVAE's stratified estimator at the lighter weights β = 2 and
    β = 3 (each its own sweep, 5 seeds, 1,000 updates of 1,024), beside cpu1024_sbd's β = 1 (read from its run). At
    β = 6 β-TCVAE beat β = 1 on every seed for MIG and DCI but kept no latent for shape or orientation and lost the
    FactorVAE metric on every seed; with the MLP decoder the stratified β = 2 was the one setting above β = 1 on every
    seed for three headline scores (4/5 seeds for the fourth). At 1,000 updates β = 1's β-VAE metric is not yet at
    its ceiling (at 3,000 it is 1.000 on seed 0, which no setting can exceed). Results
    ``disentanglement_study_cpu1024_sbd_mss.json``.
  * ``cpu_higgins`` — gpu_lease_higgins's β-VAE at REPORT §4b's budget on the CPU: Higgins et al.'s MLP
    (4096-1200-1200-10) on 64×64 sprites, 10,000 updates of 64, Adam 5e-4, β ∈ {1, 4} as one sweep of 10 members, 5
    seeds, the study's metric sizes (DCI reduced as in the cpu study). §4b (3 seeds, reduced metric sizes, one run
    per process) had β = 4 above β = 1 on every seed for the β-VAE metric, MIG and DCI-D on both backends — the one
    β-VAE setting near issue #17's all-four target; this size asks it with five seeds and the study's tables. 63–95 min
    of training on the 2-core CPU (1,150–1,700 images/s for the 10 members, measured on two sessions' VMs; Adam over
    10 × 12.8 M parameters at every update of 64 is a large part), then 3–6 min of scoring per member at 64×64:
    2.8 h in all (10,087 s measured on 2026-12-05), so start it at a session's beginning and run nothing beside it.
    Results ``disentanglement_study_cpu_higgins.json``.
  * ``cpu_higgins_tc`` — gpu_lease_higgins's grid at cpu_higgins' setup: its β-VAE β ∈ {1, 4} sweep (read from
    cpu_higgins' runs, the same configs, scores and all) and β-TCVAE β = 6 (the default estimator, as on the H200),
    5 seeds: the β-TCVAE half of issue #17's all-four target at the setup where β = 1 is far from the metrics'
    ceiling. With cpu_higgins' runs present it trains and scores the 5 β-TCVAE members alone: 88 min (5,275 s on
    2026-12-06, 58 min of it training, a CI run beside its first third); on a machine without them it first trains
    cpu_higgins' sweep too. Results ``disentanglement_study_cpu_higgins_tc.json``.
  * ``cpu_higgins_beta8`` — the β-VAE half at the same setup: β = 8 (5 seeds, a sweep of its own) beside cpu_higgins'
    β ∈ {1, 4} (read from its runs). On the H200 at this budget (3 seeds, REPORT §4b) β = 8 beat β = 1 on every seed
    for the β-VAE metric, MIG and DCI-D; at 5 seeds here β = 4 missed the β-VAE and FactorVAE metrics on one seed
    each. About cpu_higgins_tc's cost (57 min of training for the 5 members on 2026-12-06, 17 of them beside a CI
    run, then their scoring). Results
    ``disentanglement_study_cpu_higgins_beta8.json``.
  * ``cpu_higgins_grid`` — Locatello et al.'s β-VAE grid {1, 2, 4, 6, 8, 16} at the same setup, its part that sits
    where cpu_higgins' and cpu_higgins_beta8's β's come closest to the all-four target: β ∈ {1, 4} (cpu_higgins'
    sweep), β = 8 (cpu_higgins_beta8's sweep) and β = 6 (5 seeds, a sweep of its own), every β paired against the
    same β = 1. With those sizes' runs present it trains and scores β = 6 alone: 6,732 s on 2026-12-06 (74 min of
    training, 20 of them beside a CI run). Results ``disentanglement_study_cpu_higgins_grid.json``.
  * ``cpu_higgins_long`` — the same β = 1 and β = 6 (cpu_higgins_grid's best β by its headline medians, chosen
    before this run) for 15,000 updates: every β-VAE's curves at this setup were still rising at 10,000. One sweep of
    the 10 members, continued from their 10,000-update checkpoints in cpu_higgins' and cpu_higgins_grid's runs
    (``start_from``, :mod:`vae_jax.sweep.extend`: the models a 15,000-update sweep trains, its first 10,000 updates
    not repeated), which must be trained first: 7,100 s on 2026-12-06 (61 min of training for the 5,000 updates, 43 of
    them beside a CI run; 47 min of scoring). Results ``disentanglement_study_cpu_higgins_long.json``.
  * ``cpu_higgins_long_beta8`` — β = 8 continued the same way to 15,000 updates (5 seeds, from cpu_higgins_beta8's
    sweep), beside cpu_higgins_long's β = 1 and β = 6 (read from its runs). At 10,000 updates β = 8 was the β-VAE
    nearest the all-four target by count (every seed for three of the four headline scores, the FactorVAE metric on
    4/5, its one miss by 0.007), and cpu_higgins_long's β = 1 has stopped improving while β = 6's good seeds still
    rose. Needs cpu_higgins_beta8's and cpu_higgins_long's runs: then 3,173 s on 2026-12-06 (1,425 s of training for
    the 5,000 updates of the 5 members, 1,504 s of scoring them). Results
    ``disentanglement_study_cpu_higgins_long_beta8.json``.
  * ``cpu_higgins_20k`` — β = 1 and β = 8 continued once more, to 20,000 updates, as one sweep of the 10 members
    (from cpu_higgins_long's and cpu_higgins_long_beta8's runs, which must be there). At 15,000 updates β = 8 was
    above β = 1 on every seed for all four headline scores on the study's draw, but seed 2's FactorVAE margin (0.010)
    reversed when that metric was redrawn (REPORT §4c-N), while β = 8's scores were still rising from 10,000 to
    15,000; the 5,000 updates more ask whether that margin grows past the metric's sampling. Its verdict counts only
    where the redraws (``experiments.metric_noise``) agree. Needs those two sizes' runs: then 7,468 s on 2026-12-06
    (3,932 s of training at 811 images/s for the 10 members, 26 of its 66 min beside a test-suite run; 3,047 s of
    scoring them). Results ``disentanglement_study_cpu_higgins_20k.json``.
  * ``cpu_higgins_fresh`` — the same β = 1 and β = 8 trained from scratch on fresh seeds 5–9 (``first_seed``;
    sweeps.begin's ``--first-seed``) to 10,000 updates: cpu_higgins_20k is the sixth β-VAE setting and budget tried
    against issue #17's all-four bar at this setup (it missed one seed's FactorVAE metric), so whether this recipe
    clears the bar is asked of models that played no part in choosing it. At 10,000 updates it is the fresh twin of
    cpu_higgins_beta8 (seeds 0–4, the same configs): ≈ 90 min of training on the 2-core CPU (10 members × 10,000
    updates of 64 at ≈ 1,200 images/s) and ≈ 50 min of scoring, one session. Results
    ``disentanglement_study_cpu_higgins_fresh.json``.
  * ``cpu_higgins_20k_fresh`` — cpu_higgins_fresh's 10 members continued to 20,000 updates (its runs must be there),
    cpu_higgins_20k's budget on the fresh seeds; ≈ 90 min of training and 50 of scoring. (A first attempt trained
    from scratch to 20,000 in one run; its step-16,000 checkpoint was lost with the machine between two sessions, so
    the budget is now split where a session can finish each half.) Results
    ``disentanglement_study_cpu_higgins_20k_fresh.json``.
  * ``cpu_higgins_fresh_beta16`` — the top of Locatello et al.'s β-VAE grid {1, 2, 4, 6, 8, 16}, β = 16 (a sweep of
    its own, 5 fresh seeds 5–9, 10,000 updates), beside cpu_higgins_fresh's β ∈ {1, 8} (read from its runs, the same
    seeds and configs). Every β tried at this setup so far (4, 6, 8) missed issue #17's all-four bar on the FactorVAE
    metric, by margins at that metric's sampling noise, because their FactorVAE scores sat only ≈ 0.05 above β = 1's;
    the strongest β of the grid asks whether a larger gap clears it — chosen before training, not after. With
    cpu_higgins_fresh's runs present it trains and scores the 5 β = 16 members alone (≈ 45 min of training, ≈ 25 of
    scoring). Results ``disentanglement_study_cpu_higgins_fresh_beta16.json``.
  * ``cpu_higgins_30k_fresh`` — cpu_higgins_20k_fresh's 10 members continued to 30,000 updates (its runs must be
    there). Issue #17 asks for each model to train "until its scores stop rising": from 10,000 to 20,000 updates β = 1
    was flat on every headline median while β = 8 rose on all four, its FactorVAE metric on every fresh seed (seed 5
    by +0.109, to 0.005 under its β = 1 twin). Both β's go on, so the pairs stay at one budget; ≈ 90 min of training
    and 40 of scoring. Results ``disentanglement_study_cpu_higgins_30k_fresh.json``.
  * ``cpu_higgins_40k_fresh`` — cpu_higgins_30k_fresh's 10 members continued to 40,000 updates (its runs must be
    there), by the same stopping rule: on the curve's seed (5) β = 8's MIG still rose from 20,000 to 30,000 updates
    (0.078, 0.083, 0.093 at 20,000 / 24,000 / 30,000) while its β-VAE metric moved by less than the curve's sampling
    noise (0.802, 0.810, 0.815) and β = 1's were flat (MIG 0.028, 0.030, 0.027). ≈ 80 min of training and 40 of
    scoring; a checkpoint every 8,000 updates (the curve's points), so a run cut short resumes from the last one.
    Results ``disentanglement_study_cpu_higgins_40k_fresh.json``.
  * ``cpu_higgins_30k`` — cpu_higgins_20k's 10 members (seeds 0–4) continued to 30,000 updates the same way (its runs
    must be there): cpu_higgins_30k_fresh's budget on the first seeds, so the two seed sets pool at one budget.
    ≈ 90 min of training and 40 of scoring. Results ``disentanglement_study_cpu_higgins_30k.json``.
  * ``gpu_lease`` — the literature's setup (``full``: 64×64, Locatello et al.'s conv net, batch 64) cut towards one
    15-minute GPU lease (``scripts/gpu_check.sh study``; its first lease ran out while scoring the first pass:
    ``experiments/results/gpu/README.md``): β = 1, β-VAE β = 8 (the best β of the 64×64 Higgins MLP run on the
    H200, REPORT §4b) and β-TCVAE β = 6, 5 seeds, 20,000 updates — a fifteenth of Locatello et al.'s 300,000, so Adam
    5e-4 (Burgess et al. 2018's rate on dSprites) rather than their 1e-4; DCI reduced as in the cpu study (3,000/1,500
    codes, 20 stages), the other metrics at disentanglement_lib's sizes. Results
    ``disentanglement_study_gpu_lease.json``.
  * ``gpu_lease_tc`` — gpu_lease's setup with β-TCVAE β ∈ {1, 6} as *one* sweep (10 members: one compilation, which
    cost ≈ 100 s per sweep on the H200): at β = 1 (α = γ = 1) β-TCVAE's objective is the VAE's — its three terms
    add up to log q(z|x) − log p(z) exactly (``tests/test_losses.py``), the KL estimated from the sample instead of
    in closed form — so it is the reference every seed is paired against. Results
    ``disentanglement_study_gpu_lease_tc.json``.
  * ``gpu_lease_sbd`` — gpu_lease_tc with the spatial broadcast decoder (64-64, 1×1) behind Locatello et al.'s conv
    encoder: does cpu1024_sbd's finding (position and scale in one ordered latent each on every seed) hold at the
    literature's 64×64 setup? Prepared for a GPU lease (``STUDY_SIZE=gpu_lease_sbd bash scripts/gpu_check.sh study``);
    not yet run. Results ``disentanglement_study_gpu_lease_sbd.json``.
  * ``gpu_lease_higgins`` — Higgins et al.'s MLP (4096-1200-1200-10, mirrored decoder) at 64×64 with gpu_lease's
    schedule (20,000 updates of 64, Adam 5e-4), β-VAE β ∈ {1, 4} as one sweep and β-TCVAE β = 6, 5 seeds: the one
    setup where a β > 1 beat β = 1 on every seed for three headline scores on both backends (REPORT §4b: β = 4,
    10,000 updates, 3 seeds, reduced metric sizes), now with the study's seeds, metric sizes and paired tables — the
    test of issue #17's all-four target where β = 1 is far from the metrics' ceiling. Prepared for a GPU lease
    (``STUDY_SIZE=gpu_lease_higgins bash scripts/gpu_check.sh study``); not yet run. Results
    ``disentanglement_study_gpu_lease_higgins.json``.
  * ``cpu1024_tc1`` — is β-TCVAE at β = 1 the plain VAE in practice? gpu_lease_tc pairs its β-TCVAE against β-TCVAE
    β = 1, whose terms add up to the VAE's KL exactly but estimated from the sample (``log q(z|x) − log p(z)``) rather
    than in closed form, so its gradient is noisier. This size trains it beside the β-VAE β = 1 (analytic KL) at
    cpu1024's setup for 3,750 updates of 1,024 (3.8 M images, three times the 1.28 M from which the cpu study's
    β-VAE curves are flat), 5 seeds: the two should agree within their seed spread. Results
    ``disentanglement_study_cpu1024_tc1.json``.
  * ``quick`` — the cpu setup at 1,000 updates, 2 seeds and small metric samples (minutes).
  * ``smoke`` — seconds (CI): 16×16, a 32-unit MLP, a few updates, 2 seeds, one or two values per method.

Per member (representation: the posterior mean; every model of a seed scored on the same factor draws):
β-VAE metric, FactorVAE metric, MIG, DCI (disentanglement, completeness, informativeness), SAP
(``vae_jax.evaluation.evaluate_disentanglement`` at ``metrics``), KL per latent, and sharpness: mean gradient
magnitude and Laplacian variance of generated samples (decoded z ~ N(0, I)) and of reconstructions, each over the
same score of real sprites (1 = as sharp as the data); and the Fréchet distance of those samples and reconstructions
to real sprites in the features of a sprites judge (:class:`Judge`, ``cfg.judge``: a factor classifier trained once
per run on real sprites; lower = closer to real), cached apart (``frechet/<member>/<judge tag>``) so a rerun on a
runs folder scored before it computes only these. Per sweep, for its first seed: MIG and the β-VAE metric at
each of the five kept checkpoints (the metric-vs-updates curve).

Outputs (``experiments/results/disentanglement_study_<tag>.json``, every member's scores and curve in
``experiments/results/disentanglement_study/<tag>_members.json``, figures in ``experiments/figures``): the table of
every setting (median, mean ± std over seeds), the paired comparison of every setting against the size's reference
per seed (β = 1, the plain VAE; in ``cpu_beta`` β = 0.25, the per-pixel plain VAE), Locatello-style box plots of
each score over seeds, the curves, the sharpness table and the article's figure — traversals of the reference and
of the best β-VAE side by side, each row labelled with the factor its latent carries (DCI importance); the latent
swap and, read by the sprites judge, attribute edits (:func:`factor_edits`: the latent that carries scale, pos_x
or pos_y moved, against the pixel-space baseline) for the reference, the best β-VAE and the best setting, every
seed.
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import json
import os
import threading

import jax
import ml_collections
import numpy as np

from experiments import configs
from vae_jax import evaluation, methods
from vae_jax.configs import Config, DataConfig, ModelConfig, OptimizerConfig
from vae_jax.data import sprites
from vae_jax import sweep as sweep_lib
from vae_jax.sweep import scores

# Locatello et al. 2019, Table 2 (the regularisation strength of each method; 50 seeds per value there).
GRIDS: dict[str, tuple[str, tuple[float, ...]]] = {
    "beta_vae": ("beta", (1.0, 2.0, 4.0, 6.0, 8.0, 16.0)),
    "annealed_vae": ("c_max", (5.0, 10.0, 25.0, 50.0, 75.0, 100.0)),
    "factor_vae": ("gamma", (10.0, 20.0, 30.0, 40.0, 50.0, 100.0)),
    "dip_vae_i": ("lambda_od", (1.0, 2.0, 5.0, 10.0, 20.0, 50.0)),
    "dip_vae_ii": ("lambda_od", (1.0, 2.0, 5.0, 10.0, 20.0, 50.0)),
    "beta_tcvae": ("beta", (1.0, 2.0, 4.0, 6.0, 8.0, 10.0)),
}
# The CPU subset (what fits the 2-hour budget of a 2-core CPU): β = 1 (the plain VAE, the reference every setting is
# paired against), β-VAE at β = 4 (the best of β ∈ {2, 4, 8, 16} in the report's 32×32 runs, where larger β only
# lowered the scores), β-TCVAE at Chen et al.'s β = 6. FactorVAE (its 6×1000 discriminator costs ~4× the VAE's step
# here) and DIP-VAE run in the smoke size only.
CPU_GRIDS = {"beta_vae": ("beta", (1.0, 4.0)), "beta_tcvae": ("beta", (6.0,))}
SMOKE_GRIDS = {"beta_vae": ("beta", (1.0, 4.0)), "beta_tcvae": ("beta", (6.0,)), "factor_vae": ("gamma", (20.0,)),
               "dip_vae_i": ("lambda_od", (5.0,))}
# Locatello et al.'s values of each method's other fields: fixed ones, and ones tied to the swept value (a multiple
# of it: DIP-VAE-I λ_d = 10 λ_od, DIP-VAE-II λ_d = λ_od); a tied method is one sweep per value, seeds as members.
FIXED = {"beta_tcvae": dict(alpha=1.0, gamma=1.0), "annealed_vae": dict(gamma=1000.0, iteration_threshold=100_000)}
TIED = {"dip_vae_i": dict(lambda_d=10.0), "dip_vae_ii": dict(lambda_d=1.0)}
# Row labels: the method's title (``vae_jax.methods``) and its swept field's symbol.
SYMBOLS = {"beta": "β", "gamma": "γ", "lambda_od": "λ_od", "c_max": "C_max"}
SIZES = (*configs.SIZES, "cpu", "cpu_beta", "cpu64", "cpu1024", "cpu64_mss", "cpu_mss", "cpu_mss_beta2",
         "cpu1024_mss_beta2", "cpu1024_long", "cpu1024_tc1", "cpu1024_methods", "cpu1024_wide", "cpu_conv",
         "cpu1024_sbd", "cpu1024_sbd_grid", "cpu1024_sbd_long", "cpu1024_sbd_long_tc", "cpu1024_sbd_mss", "cpu_higgins",
         "cpu_higgins_tc", "cpu_higgins_beta8", "cpu_higgins_grid", "cpu_higgins_long", "cpu_higgins_long_beta8",
         "cpu_higgins_20k", "cpu_higgins_fresh", "cpu_higgins_20k_fresh", "cpu_higgins_fresh_beta16",
         "cpu_higgins_30k_fresh", "cpu_higgins_40k_fresh", "cpu_higgins_30k", "gpu_lease", "gpu_lease_tc",
         "gpu_lease_sbd", "gpu_lease_higgins")
METRICS = (("beta_vae_metric", "β-VAE metric"), ("factor_vae_metric", "FactorVAE metric"), ("mig", "MIG"),
           ("dci_d", "DCI disent."), ("dci_c", "DCI compl."), ("dci_i", "DCI inform."), ("sap", "SAP"))
HEADLINE = ("beta_vae_metric", "factor_vae_metric", "mig", "dci_d")  # the scores a setting is judged by
SHARPNESS = (("sharp_gen_grad", "samples grad."), ("sharp_gen_lap", "samples Lap. var."),
             ("sharp_rec_grad", "recons grad."), ("sharp_rec_lap", "recons Lap. var."))
# Fréchet distances to real sprites in the features of the sprites judge (lower = closer to real); fd_real: two real
# draws, the floor at this sample size. Cached apart from the other scores (vae_jax.sweep.scores.frechet_scores).
FRECHET = (("fd_gen", "samples FD (judge)"), ("fd_rec", "recons FD (judge)"), ("fd_real", "real FD (floor)"))
EXTRA = (("kl", "KL (nats)"), ("active", "active latents"), ("recon", "recon (nats)"))
KEYS = [k for k, _ in (*METRICS, *SHARPNESS, *FRECHET, *EXTRA)]  # every score kept per member
PAIRED = (*HEADLINE, "sap", "fd_gen", "fd_rec")  # the scores paired against β = 1 seed by seed
CURVE_METRICS = (("mig", "MIG"), ("beta_vae_metric", "β-VAE metric (2,000/1,000 points)"))
# DCI at disentanglement_lib's full size (10,000/5,000 codes, 100 stages) for --dci-check; the rest minimal.
DCI_CHECK_SIZES = evaluation.MetricSizes(bvae_train=16, bvae_eval=16, fvae_train=16, fvae_eval=16, fvae_var=128,
                                         sap_train=0, sap_test=0)
REFERENCE = ("beta_vae", 1.0)  # the plain VAE: every setting is paired against it (a size may name another)
# The verdict names the best setting of the reference's method (the best β) and every setting of these methods.
VERDICT_METHODS = ("beta_tcvae", "annealed_vae", "factor_vae", "dip_vae_i", "dip_vae_ii")
NUM_CURVE_POINTS = 5  # checkpoints kept for the metric-vs-updates curve

# The sprites judge of the Fréchet distances (vae_jax.evaluation.train_sprite_judge): an MLP on real sprites drawn
# afresh every step, trained once per study run from key(seed). At 32×32, 3,000 steps of 256: held-out accuracy shape
# 0.78, scale 0.98, pos_x 0.98, pos_y 0.99 (orientation 0.17), 43 s on this CPU under load.
_JUDGE = dict(hidden=(512, 256), num_steps=3000, batch_size=256, learning_rate=1e-3, seed=0)
_CPU = dict(resolution=32, architecture="mlp", hidden=(512, 256), batch_size=64, learning_rate=5e-4, seeds=5,
            log_every=500, num_test=2048, num_sharpness=2000, committed=True, judge=_JUDGE)
# The cpu study's setup (sizes cpu and cpu_beta): batch 256, Adam 1e-3, DCI reduced to 3,000/1,500 codes and 20 stages.
_REDUCED_DCI = dict(dci_train=3000, dci_test=1500, dci_estimators=20)  # the other metrics at disentanglement_lib's
_CPU_STUDY = dict(_CPU, batch_size=256, learning_rate=1e-3, metrics=_REDUCED_DCI)
# The cpu study with β-TCVAE's stratified estimator (sizes cpu_mss, cpu_mss_beta2): its β-VAE sweep is cpu's.
_MSS = {"beta_tcvae": {"estimator": "mss"}}  # β-TCVAE's q(z) by minibatch stratified sampling (the *_mss sizes)
_CPU_MSS = dict(_CPU_STUDY, num_steps=25_000, method_overrides=_MSS,
                shared_runs={"beta_vae": "cpu"})
# β-TCVAE's estimator at a large batch (sizes cpu1024, cpu1024_mss_beta2): the cpu study's images in 6,250 updates of
# 1,024, Adam 1e-3.
_CPU_1024 = dict(_CPU_STUDY, batch_size=1024, num_steps=6250, log_every=250)
# Locatello et al.'s setup (``full``) cut to one GPU lease (sizes gpu_lease, gpu_lease_tc): 20,000 updates of 64 at
# Adam 5e-4, the cpu study's reduced DCI.
_GPU_LEASE = dict(num_steps=20_000, learning_rate=5e-4, metrics=_REDUCED_DCI)
# REPORT §4b's budget with Higgins et al.'s 64×64 MLP on the CPU (sizes cpu_higgins, cpu_higgins_tc/_beta8).
_CPU_HIGGINS = dict(_GPU_LEASE, architecture="mlp", hidden=(1200, 1200), num_steps=10_000, log_every=500)
_SMOKE_METRICS = dict(bvae_batch=4, bvae_train=16, bvae_eval=16, fvae_batch=4, fvae_train=16, fvae_eval=16,
                      fvae_var=128, num_codes=128, dci_train=128, dci_test=128)
# The curve's β-VAE metric: fewer points (it is computed at every kept checkpoint); the other scores minimal.
_CURVE = dict(bvae_train=2000, bvae_eval=1000, fvae_train=16, fvae_eval=16, fvae_var=128, dci_estimators=1,
              dci_train=64, dci_test=64, sap_train=0, sap_test=0)
_SWAP = dict(dci_train=2000, dci_test=1000, dci_estimators=30, num_pairs=500)  # factor_swap's codes and pairs
# The per-pixel β grid (size ``cpu_beta``): at 32×32 a β weighs 4× more per pixel than at 64×64 (β_norm = β·10/1024),
# so β = 0.25 here is Higgins' β = 1 at 64×64 and β = 1 is their β = 4. Does β = 1 beat the per-pixel plain VAE
# (β = 0.25) here, as β = 4 beats β = 1 at 64×64? The direct test of the explanation of the cpu study's finding.
CPU_BETA_GRIDS = {"beta_vae": ("beta", (0.25, 0.5, 1.0, 2.0))}
# Sizes cpu_mss_beta2 and cpu1024_mss_beta2: a lighter TC weight (the latter against β = 1 alone).
CPU_TC2_GRIDS = {**CPU_GRIDS, "beta_tcvae": ("beta", (2.0,))}
CPU_TC2_REF_GRIDS = {"beta_vae": ("beta", (1.0,)), "beta_tcvae": ("beta", (2.0,))}
CPU_TC_REF_GRIDS = {"beta_vae": ("beta", (1.0,)), "beta_tcvae": ("beta", (6.0,))}  # size cpu1024_long
GPU_LEASE_GRIDS = {"beta_vae": ("beta", (1.0, 8.0)), "beta_tcvae": ("beta", (6.0,))}  # size gpu_lease
GPU_LEASE_TC_GRIDS = {"beta_tcvae": ("beta", (1.0, 6.0))}  # size gpu_lease_tc: β = 1 is the VAE (sampled KL)
CPU_HIGGINS_GRIDS = {"beta_vae": ("beta", (1.0, 4.0))}  # size cpu_higgins: §4b's β-VAE comparison, 5 seeds
# Sizes gpu_lease_higgins and cpu_higgins_tc (whose β-VAE sweep is cpu_higgins').
GPU_LEASE_HIGGINS_GRIDS = {"beta_vae": ("beta", (1.0, 4.0)), "beta_tcvae": ("beta", (6.0,))}
# Size cpu_higgins_beta8: β = 8 a sweep of its own beside cpu_higgins' β ∈ {1, 4} (rows: that sweep is read).
CPU_HIGGINS_BETA8_ROWS = (("beta_vae", "beta", (1.0, 4.0)), ("beta_vae", "beta", (8.0,)))
# Size cpu_higgins_grid: β = 6 a sweep of its own beside cpu_higgins' β ∈ {1, 4} and cpu_higgins_beta8's β = 8.
CPU_HIGGINS_GRID_ROWS = (("beta_vae", "beta", (1.0, 4.0)), ("beta_vae", "beta", (6.0,)), ("beta_vae", "beta", (8.0,)))
# Size cpu_higgins_long: β = 1 and cpu_higgins_grid's best β, one sweep continued from their 10,000-update sweeps.
CPU_HIGGINS_LONG_GRIDS = {"beta_vae": ("beta", (1.0, 6.0))}
# Size cpu_higgins_long_beta8: β = 8 continued to 15,000 updates beside cpu_higgins_long's β ∈ {1, 6} sweep.
CPU_HIGGINS_LONG_BETA8_ROWS = (("beta_vae", "beta", (1.0, 6.0)), ("beta_vae", "beta", (8.0,)))
# Size cpu_higgins_20k: β = 1 and β = 8 one sweep for 20,000 updates, continued from their 15,000-update sweeps.
CPU_HIGGINS_20K_GRIDS = {"beta_vae": ("beta", (1.0, 8.0))}
# Size cpu_higgins_fresh_beta16: β = 16 a sweep of its own beside cpu_higgins_fresh's β ∈ {1, 8} (read from its runs).
CPU_HIGGINS_BETA16_ROWS = (("beta_vae", "beta", (1.0, 8.0)), ("beta_vae", "beta", (16.0,)))
CPU_TC1_GRIDS = {"beta_vae": ("beta", (1.0,)), "beta_tcvae": ("beta", (1.0,))}  # size cpu1024_tc1: the two VAEs
# Size cpu1024_methods: the methods the CPU had not trained, against cpu1024_tc1's β = 1 (the same runs). AnnealedVAE's
# capacities where a 32×32 VAE's own KL lies (β = 1 uses ≈ 15 nats; the factors hold ≈ 13.5 nats), and Locatello's
# default 25; DIP-VAE-I/II at Kumar et al.'s λ_od = 10. FactorVAE's discriminator would cost ≈ 4× a VAE here.
CPU_METHODS_GRIDS = {"beta_vae": ("beta", (1.0,)), "annealed_vae": ("c_max", (5.0, 10.0, 25.0)),
                     "dip_vae_i": ("lambda_od", (10.0,)), "dip_vae_ii": ("lambda_od", (10.0,))}
# Size cpu1024_sbd_grid: cpu1024_sbd's two settings (its trained sweeps) and, each a sweep of its own, the article's
# β-VAE at β = 2 (at 32×32 Higgins et al.'s β = 8 per pixel) and a lighter β-TCVAE (β = 3: at β = 6 it dropped shape
# and orientation). Rows, not a dict: a method in several rows is one sweep per row (``sweeps``), so β = 1 and
# β-TCVAE β = 6 are cpu1024_sbd's. Their order is the training order and the tables'.
CPU_SBD_GRID_ROWS = (("beta_vae", "beta", (1.0,)), ("beta_vae", "beta", (2.0,)), ("beta_tcvae", "beta", (6.0,)),
                     ("beta_tcvae", "beta", (3.0,)))
# Size cpu1024_sbd_long: the broadcast decoder at 3,000 updates, one sweep per setting (β = 1 first: a cut run keeps
# whole sweeps). Seed 0's β = 1 rose from β-VAE metric 0.85 / MIG 0.20 at 1,200 updates to 1.00 / 0.41 at 3,000.
# β-TCVAE is cpu1024_sbd_long_tc's: three 75-minute sweeps do not fit one session of this 2-core machine.
CPU_SBD_LONG_ROWS = (("beta_vae", "beta", (1.0,)), ("beta_vae", "beta", (2.0,)))
# Size cpu1024_sbd_mss: β = 1 (cpu1024_sbd's sweep) and the stratified β-TCVAE at β = 2, then β = 3, a sweep each
# (5 broadcast-decoder members at batch 1,024 hold ≈ 11.5 GB; ten would not fit this 24 GiB machine).
CPU_SBD_MSS_ROWS = (("beta_vae", "beta", (1.0,)), ("beta_tcvae", "beta", (2.0,)), ("beta_tcvae", "beta", (3.0,)))
_GRIDS = {"full": GRIDS, "cpu": CPU_GRIDS, "cpu_beta": CPU_BETA_GRIDS, "cpu64": CPU_GRIDS, "cpu1024": CPU_GRIDS,
          "cpu64_mss": CPU_GRIDS, "cpu_mss": CPU_GRIDS, "cpu_mss_beta2": CPU_TC2_GRIDS,
          "cpu1024_mss_beta2": CPU_TC2_REF_GRIDS, "cpu1024_long": CPU_TC_REF_GRIDS, "cpu1024_tc1": CPU_TC1_GRIDS,
          "cpu1024_methods": CPU_METHODS_GRIDS, "cpu1024_wide": CPU_TC_REF_GRIDS, "cpu_conv": CPU_TC_REF_GRIDS,
          "cpu1024_sbd": CPU_TC_REF_GRIDS, "cpu1024_sbd_grid": CPU_SBD_GRID_ROWS,
          "cpu1024_sbd_long": CPU_SBD_LONG_ROWS, "cpu1024_sbd_long_tc": CPU_TC_REF_GRIDS,
          "cpu1024_sbd_mss": CPU_SBD_MSS_ROWS, "cpu_higgins": CPU_HIGGINS_GRIDS,
          "cpu_higgins_tc": GPU_LEASE_HIGGINS_GRIDS, "cpu_higgins_beta8": CPU_HIGGINS_BETA8_ROWS,
          "cpu_higgins_grid": CPU_HIGGINS_GRID_ROWS, "cpu_higgins_long": CPU_HIGGINS_LONG_GRIDS,
          "cpu_higgins_long_beta8": CPU_HIGGINS_LONG_BETA8_ROWS, "cpu_higgins_20k": CPU_HIGGINS_20K_GRIDS,
          "cpu_higgins_fresh": CPU_HIGGINS_20K_GRIDS, "cpu_higgins_20k_fresh": CPU_HIGGINS_20K_GRIDS,
          "cpu_higgins_fresh_beta16": CPU_HIGGINS_BETA16_ROWS, "cpu_higgins_30k_fresh": CPU_HIGGINS_20K_GRIDS,
          "cpu_higgins_40k_fresh": CPU_HIGGINS_20K_GRIDS, "cpu_higgins_30k": CPU_HIGGINS_20K_GRIDS,
          "gpu_lease": GPU_LEASE_GRIDS,
          "gpu_lease_tc": GPU_LEASE_TC_GRIDS, "gpu_lease_sbd": GPU_LEASE_TC_GRIDS,
          "gpu_lease_higgins": GPU_LEASE_HIGGINS_GRIDS, "quick": CPU_GRIDS,
          "smoke": SMOKE_GRIDS}


def get_config(size: str = "full", num_steps: int | None = None) -> ml_collections.ConfigDict:
  """The study at ``size`` (one of :data:`SIZES`); ``num_steps`` overrides its updates."""
  cfg = configs.sized(
      size,
      full=dict(resolution=64, architecture="conv", hidden=(), decoder="mirror", broadcast_channels=(64, 64),
                broadcast_kernel=1, batch_size=64, num_steps=300_000, learning_rate=1e-4,
                seeds=5, first_seed=0,  # the seeds: first_seed … first_seed + seeds − 1 (sweeps.begin's defaults)
                log_every=1000, num_test=2048, num_sharpness=2000, metrics={}, curve=_CURVE, swap=_SWAP,
                committed=True,  # its results go to experiments/results (unless --results-dir)
                tag="gpu",  # the name of its results and runs (the accelerator size was called gpu)
                reference=REFERENCE,  # the setting every other is paired against (method, swept value)
                method_overrides={},  # method -> fields set for every setting of it (e.g. β-TCVAE's estimator)
                shared_runs={},  # method -> the run tag of another size whose sweep of it this size reads
                start_from={},  # sweep name -> "<run tag>/<sweep name>" of the sweeps its members continue
                judge=dict(_JUDGE, num_steps=5000),
                edits=dict(num_sources=500, delta=2.0),  # factor edits: sprites edited per member, latent move
                latent_dim=10, traversal_base=(2, 3, 0, 16, 16),  # a mid-sized heart, unrotated, centred
                traversal_range=2.5),  # each latent swept over ±this, 9 values
      # disentanglement_lib's sample sizes except DCI's: its 100-stage boosted trees on 10,000 codes cost minutes
      # per model on the CPU (110 s at 3,000 codes under load).
      cpu=dict(_CPU_STUDY, num_steps=25_000, tag="cpu"),
      # The per-pixel β grid (CPU_BETA_GRIDS) at the cpu setup, 5,000 updates of 256: the cpu study's curves are flat
      # from 5,000 updates for β ∈ {1, 4} (REPORT §4c).
      cpu_beta=dict(_CPU_STUDY, num_steps=5000, tag="cpu_beta",
                    reference=("beta_vae", 0.25)),  # the per-pixel plain VAE: what the grid tests β = 1 against
      # The literature's batch: 100,000 updates of 64 at Higgins et al.'s Adam 5e-4 — the cpu study's images in 4×
      # its updates, each with 2× its gradient noise (lr/batch); the cpu study's DCI sizes.
      cpu64=dict(_CPU_STUDY, batch_size=64, learning_rate=5e-4, num_steps=100_000, log_every=1000, tag="cpu64"),
      cpu1024=dict(_CPU_1024, tag="cpu1024"),
      # cpu64 with β-TCVAE's stratified estimator; the methods in `shared_runs` are trained in (read from) that run tag.
      cpu64_mss=dict(_CPU_STUDY, batch_size=64, learning_rate=5e-4, num_steps=100_000, log_every=1000,
                     tag="cpu64_mss", method_overrides=_MSS,
                     shared_runs={"beta_vae": "cpu64"}),
      cpu_mss=dict(_CPU_MSS, tag="cpu_mss"),
      cpu_mss_beta2=dict(_CPU_MSS, tag="cpu_mss_beta2"),  # its β-TCVAE value from _GRIDS
      cpu1024_mss_beta2=dict(_CPU_1024, tag="cpu1024_mss_beta2", method_overrides=_MSS),  # its grids: β = 1, TC β = 2
      cpu1024_long=dict(_CPU_1024, num_steps=12_500, tag="cpu1024_long"),  # β = 1 and β-TCVAE β = 6, 2× the updates
      cpu1024_tc1=dict(_CPU_1024, num_steps=3750, tag="cpu1024_tc1"),  # β-VAE β = 1 beside β-TCVAE β = 1
      # AnnealedVAE and DIP-VAE-I/II beside cpu1024_tc1's β = 1 (read from its runs); C reaches C_max after a third of
      # the updates, Locatello's 100,000 of 300,000.
      cpu1024_methods=dict(_CPU_1024, num_steps=3750, tag="cpu1024_methods", shared_runs={"beta_vae": "cpu1024_tc1"},
                           method_overrides={"annealed_vae": {"iteration_threshold": 1250}}),
      # Chen et al.'s and Higgins et al.'s MLP width (1200-1200, ≈ 4× the cpu MLP's products) at cpu1024's setup, β = 1
      # and β-TCVAE β = 6 for 2,000 updates: does the wider MLP carry position in order (experiments.factor_response)?
      # cpu1024_long's models had their position codes' shape from their first kept checkpoint (2,500 updates) on.
      cpu1024_wide=dict(_CPU_1024, hidden=(1200, 1200), num_steps=2000, log_every=200, tag="cpu1024_wide"),
      # Locatello et al.'s conv net at 32×32 with gpu_lease's schedule (20,000 updates of 64, Adam 5e-4), β = 1 and
      # β-TCVAE β = 6: do convolutions keep the position codes ordered where the MLPs fold them?
      cpu_conv=dict(_CPU_STUDY, architecture="conv", hidden=(), batch_size=64, learning_rate=5e-4, num_steps=20_000,
                    log_every=400, tag="cpu_conv"),
      # cpu1024's setup with Watters et al.'s spatial broadcast decoder (64-64 channels, 1×1 kernels: a per-pixel MLP of
      # the code and the pixel's coordinates) behind the same MLP encoder, β = 1 and β-TCVAE β = 6, 1,000 updates of
      # 1,024: does a decoder that draws at coordinates keep the position codes ordered (experiments.factor_response)?
      cpu1024_sbd=dict(_CPU_1024, decoder="broadcast", num_steps=1000, log_every=200, tag="cpu1024_sbd"),
      # cpu1024_sbd's grid widened (CPU_SBD_GRID_ROWS): β-VAE β = 2, β-TCVAE β = 3 beside its β = 1 and β-TCVAE β = 6,
      # which are read from its runs (the same configs).
      cpu1024_sbd_grid=dict(_CPU_1024, decoder="broadcast", num_steps=1000, log_every=200, tag="cpu1024_sbd_grid",
                            shared_runs={"beta_vae_beta1": "cpu1024_sbd/beta_vae",
                                         "beta_tcvae_beta6": "cpu1024_sbd/beta_tcvae"}),
      # The broadcast decoder for 3,000 updates of 1,024 (3.1 M images per model), β = 1 and β-VAE β = 2, 5 seeds,
      # each setting its own sweep (≈ 75 min each on the 2-core CPU): the scores at 1,000 updates were still rising,
      # and seed 0's β = 1 reached β-VAE metric 1.00 by 1,800 (cpu1024_sbd_grid-3000steps).
      cpu1024_sbd_long=dict(_CPU_1024, decoder="broadcast", num_steps=3000, log_every=200, tag="cpu1024_sbd_long"),
      # Its β-TCVAE β = 6 at the same budget, beside cpu1024_sbd_long's β = 1 (read from its run: the same configs).
      cpu1024_sbd_long_tc=dict(_CPU_1024, decoder="broadcast", num_steps=3000, log_every=200,
                               tag="cpu1024_sbd_long_tc", shared_runs={"beta_vae": "cpu1024_sbd_long/beta_vae_beta1"}),
      # cpu1024_sbd with the stratified β-TCVAE at β = 2 and 3, beside its β = 1 (read from its run).
      cpu1024_sbd_mss=dict(_CPU_1024, decoder="broadcast", num_steps=1000, log_every=200, tag="cpu1024_sbd_mss",
                           method_overrides=_MSS, shared_runs={"beta_vae": "cpu1024_sbd/beta_vae"}),
      # REPORT §4b's setup (Higgins et al.'s 64×64 MLP, 10,000 updates of 64, Adam 5e-4) as a 5-seed study on the CPU.
      cpu_higgins=dict(_CPU_HIGGINS, tag="cpu_higgins"),
      # gpu_lease_higgins's grid at cpu_higgins' setup; its β-VAE sweep is cpu_higgins' (the same configs).
      cpu_higgins_tc=dict(_CPU_HIGGINS, tag="cpu_higgins_tc", shared_runs={"beta_vae": "cpu_higgins"}),
      # β-VAE β = 8 at cpu_higgins' setup beside its β ∈ {1, 4} sweep (read from its runs).
      cpu_higgins_beta8=dict(_CPU_HIGGINS, tag="cpu_higgins_beta8",
                             shared_runs={"beta_vae_beta1_4": "cpu_higgins/beta_vae"}),
      # β-VAE β = 6 beside cpu_higgins' β ∈ {1, 4} and cpu_higgins_beta8's β = 8 (both read from their runs).
      cpu_higgins_grid=dict(_CPU_HIGGINS, tag="cpu_higgins_grid",
                            shared_runs={"beta_vae_beta1_4": "cpu_higgins/beta_vae",
                                         "beta_vae_beta8": "cpu_higgins_beta8"}),
      # cpu_higgins_grid's β = 1 and β = 6 for 15,000 updates, continued from their 10,000-update sweeps.
      cpu_higgins_long=dict(_CPU_HIGGINS, num_steps=15_000, tag="cpu_higgins_long",
                            start_from={"beta_vae": ("cpu_higgins/beta_vae", "cpu_higgins_grid/beta_vae_beta6")}),
      # cpu_higgins_beta8's β = 8 continued to 15,000 updates beside cpu_higgins_long's β ∈ {1, 6} (read from its runs).
      cpu_higgins_long_beta8=dict(_CPU_HIGGINS, num_steps=15_000, tag="cpu_higgins_long_beta8",
                                  shared_runs={"beta_vae_beta1_6": "cpu_higgins_long/beta_vae"},
                                  start_from={"beta_vae_beta8": ("cpu_higgins_beta8/beta_vae_beta8",)}),
      # β = 1 and β = 8 at 15,000 updates (cpu_higgins_long's and cpu_higgins_long_beta8's) continued to 20,000.
      cpu_higgins_20k=dict(_CPU_HIGGINS, num_steps=20_000, tag="cpu_higgins_20k",
                           start_from={"beta_vae": ("cpu_higgins_long/beta_vae",
                                                    "cpu_higgins_long_beta8/beta_vae_beta8")}),
      # cpu_higgins_20k's recipe trained from scratch on fresh seeds 5–9 (models not used to choose it): 10,000
      # updates (one session), then continued to 20,000 (a second), as cpu_higgins_20k's models were.
      cpu_higgins_fresh=dict(_CPU_HIGGINS, tag="cpu_higgins_fresh", first_seed=5),
      cpu_higgins_20k_fresh=dict(_CPU_HIGGINS, num_steps=20_000, tag="cpu_higgins_20k_fresh", first_seed=5,
                                 start_from={"beta_vae": ("cpu_higgins_fresh/beta_vae",)}),
      # β = 16 (Locatello's largest β) on the fresh seeds beside cpu_higgins_fresh's β ∈ {1, 8} (read from its runs).
      cpu_higgins_fresh_beta16=dict(_CPU_HIGGINS, tag="cpu_higgins_fresh_beta16", first_seed=5,
                                    shared_runs={"beta_vae_beta1_8": "cpu_higgins_fresh/beta_vae"}),
      # cpu_higgins_20k_fresh's β = 1 and β = 8 continued to 30,000 updates (β = 8's scores still rose at 20,000).
      cpu_higgins_30k_fresh=dict(_CPU_HIGGINS, num_steps=30_000, tag="cpu_higgins_30k_fresh", first_seed=5,
                                 start_from={"beta_vae": ("cpu_higgins_20k_fresh/beta_vae",)}),
      # cpu_higgins_30k_fresh's β = 1 and β = 8 continued to 40,000 updates (β = 8's MIG still rose at 30,000).
      cpu_higgins_40k_fresh=dict(_CPU_HIGGINS, num_steps=40_000, tag="cpu_higgins_40k_fresh", first_seed=5,
                                 start_from={"beta_vae": ("cpu_higgins_30k_fresh/beta_vae",)}),
      # cpu_higgins_20k's β = 1 and β = 8 (seeds 0–4) continued to 30,000 updates, cpu_higgins_30k_fresh's budget.
      cpu_higgins_30k=dict(_CPU_HIGGINS, num_steps=30_000, tag="cpu_higgins_30k",
                           start_from={"beta_vae": ("cpu_higgins_20k/beta_vae",)}),
      gpu_lease=dict(_GPU_LEASE, tag="gpu_lease"),
      gpu_lease_tc=dict(_GPU_LEASE, tag="gpu_lease_tc", reference=("beta_tcvae", 1.0)),
      # gpu_lease_tc with the spatial broadcast decoder behind the conv encoder (cpu1024_sbd's finding, at 64×64).
      gpu_lease_sbd=dict(_GPU_LEASE, decoder="broadcast", tag="gpu_lease_sbd", reference=("beta_tcvae", 1.0)),
      # Higgins et al.'s 64×64 MLP (1200-1200) on gpu_lease's schedule: β-VAE β ∈ {1, 4} (one sweep), β-TCVAE β = 6.
      gpu_lease_higgins=dict(_GPU_LEASE, architecture="mlp", hidden=(1200, 1200), tag="gpu_lease_higgins"),
      quick=dict(_CPU, num_steps=1000, seeds=2, log_every=100, num_sharpness=500, committed=False, tag="quick",
                 metrics=dict(bvae_train=500, bvae_eval=300, fvae_train=500, fvae_eval=300, fvae_var=2000,
                              num_codes=2000, dci_train=1000, dci_test=500, dci_estimators=10, sap_train=1000,
                              sap_test=500),
                 curve=dict(_CURVE, bvae_train=300, bvae_eval=300), swap=dict(_SWAP, num_pairs=100),
                 judge=dict(_JUDGE, num_steps=1500)),
      smoke=dict(resolution=16, architecture="mlp", hidden=(32,), batch_size=16, num_steps=10, learning_rate=5e-4,
                 seeds=2, log_every=2, num_test=64, num_sharpness=32, committed=False, tag="smoke",
                 metrics=dict(_SMOKE_METRICS, dci_estimators=2, sap_train=128, sap_test=128),
                 curve=dict(_SMOKE_METRICS, dci_estimators=1, sap_train=0, sap_test=0),
                 swap=dict(dci_train=128, dci_test=64, dci_estimators=2, num_pairs=16),
                 judge=dict(hidden=(32,), num_steps=20, batch_size=16, learning_rate=1e-3, seed=0),
                 edits=dict(num_sources=32, delta=2.0)))
  steps = cfg.num_steps if num_steps is None else num_steps
  if steps < NUM_CURVE_POINTS or steps % NUM_CURVE_POINTS or (steps // NUM_CURVE_POINTS) % cfg.log_every:
    raise ValueError(f"num_steps={steps}: must be a multiple of {NUM_CURVE_POINTS}·log_every "
                     f"({NUM_CURVE_POINTS * cfg.log_every}) so the curve's checkpoints fall on host syncs.")
  with cfg.unlocked():
    # The grids as (method, field, values) rows: a ConfigDict would sort a dict's keys, and their order is the tables'.
    # A size may give rows itself, a method in several (one sweep each: see ``sweeps``).
    grids = _GRIDS[size]
    cfg.grids = tuple((m, f, tuple(v)) for m, (f, v) in grids.items()) if isinstance(grids, dict) else tuple(grids)
    cfg.num_steps, cfg.num_curve_points = steps, NUM_CURVE_POINTS
    cfg.reference = tuple(cfg.reference)
    cfg.run_tag = cfg.tag if num_steps is None else f"{cfg.tag}-{num_steps}steps"  # the runs' folder
  names = [name for name, *_ in sweeps(cfg)]
  if len(set(names)) < len(names):
    raise ValueError(f"size {size!r}: its grids {cfg.grids} give a method the same values in two rows (sweeps "
                     f"{names}); list each setting once.")
  unknown = set(cfg.shared_runs.to_dict()) - set(names) - {m for m, _, _ in cfg.grids}
  if unknown:
    raise ValueError(f"size {size!r}: shared_runs names {sorted(unknown)}, neither a method of its grids nor one of "
                     f"its sweeps {names}; key it by one of those (a typo would retrain the setting instead).")
  if set(cfg.start_from.to_dict()) - set(names):
    raise ValueError(f"size {size!r}: start_from names {sorted(set(cfg.start_from.to_dict()) - set(names))}, not one "
                     f"of its sweeps {names}; key it by sweep name (a typo would train the setting from scratch).")
  if cfg.reference[1] not in [x for m, _, v in cfg.grids if m == cfg.reference[0] for x in v]:
    raise ValueError(f"size {size!r}: the reference setting {cfg.reference} is not in its grids {cfg.grids}; every "
                     "setting is paired against it, so it must be trained.")
  return cfg


def results_name(cfg) -> str:
  """The results file's (and figures') name: ``disentanglement_study_<run_tag>`` — a run with ``--steps`` overriding
  the size's updates writes beside the size's own results, never over them."""
  return f"disentanglement_study_{cfg.run_tag}"


def metric_sizes(cfg, which: str = "metrics") -> evaluation.MetricSizes:
  """``metrics`` (every member), ``curve`` (every kept checkpoint of the first seed) as ``MetricSizes``."""
  return evaluation.MetricSizes(**cfg[which].to_dict())


def method_config(name: str, value: float, **overrides):
  """The method ``name`` with its swept field at ``value``, the others at Locatello et al.'s values (or a size's
  ``method_overrides``)."""
  if name not in GRIDS:
    raise ValueError(f"unknown study method {name!r}; known: {sorted(GRIDS)}")
  tied = {f: k * value for f, k in TIED.get(name, {}).items()}
  return methods.get(name).Config(**{GRIDS[name][0]: value, **FIXED.get(name, {}), **tied, **overrides})


def setting_label(method: str, value: float, estimator: str = "mws") -> str:
  """Row label of a setting, e.g. ``β-VAE β=4`` or ``DIP-VAE-I λ_od=5``; β-VAE β=1 says it is the VAE, a β-TCVAE
  with the stratified estimator says so (``β-TCVAE (MSS) β=6``)."""
  title = methods.get(method).title + ("" if estimator == "mws" else f" ({estimator.upper()})")
  label = f"{title} {SYMBOLS[GRIDS[method][0]]}={value:g}"
  if (method, value) == ("beta_tcvae", 1.0):  # α = γ = 1 (FIXED): the terms add up to the VAE's sampled KL
    return label + " (VAE, sampled KL)"
  return label + " (VAE)" if (method, value) == REFERENCE else label


def sweep_dir(cfg, runs_root: str, sweep_name: str, method: str) -> str:
  """The runs folder of one of the study's sweeps: ``<runs_root>/disentanglement_study/<run tag>/<sweep name>``, the
  run tag another size's where this size shares that method's sweep with it (``shared_runs``: the same configs, so
  the same runs; the sweep refuses a folder that holds a different one). ``shared_runs`` is keyed by method (every
  sweep of it) or by sweep name (that sweep alone), its value the other size's run tag, or ``"<tag>/<sweep name>"``
  where the sweep is named otherwise there (a setting this size trains in a sweep of its own, the other in its
  method's one sweep)."""
  shared = cfg.shared_runs.to_dict()
  tag, _, name = shared.get(sweep_name, shared.get(method, cfg.tag)).partition("/")  # "tag" or "tag/sweep name"
  tag += cfg.run_tag.removeprefix(cfg.tag)  # a --steps suffix
  return os.path.join(runs_root, "disentanglement_study", tag, name or sweep_name)


def start_from(cfg, runs_root: str, sweep_name: str) -> list[str] | None:
  """The runs folders of the sweeps whose members the sweep ``sweep_name`` continues (the size's ``start_from``), or
  None for a sweep trained from scratch; a clear error naming the command for one that is not trained."""
  out = []
  for source in cfg.start_from.to_dict().get(sweep_name, ()):
    path = os.path.join(runs_root, "disentanglement_study", source)
    if not os.path.exists(os.path.join(path, "results.json")):
      raise FileNotFoundError(f"{path} holds no finished sweep; size {cfg.size} continues its members: train it first "
                              f"(python -m experiments.disentanglement_study --size {source.split('/')[0]} --runs-root "
                              f"{runs_root}).")
    out.append(path)
  return out or None


def base(cfg) -> Config:
  """The base config of the study's sweeps (the β-VAE with β = 1; each sweep replaces ``method``)."""
  every = cfg.num_steps // NUM_CURVE_POINTS
  return Config(
      model=ModelConfig(kind="vae", architecture=cfg.architecture, hidden=tuple(cfg.hidden) or (256,),
                        latent_dim=cfg.latent_dim, likelihood="bernoulli", decoder=cfg.decoder,
                        broadcast_channels=tuple(cfg.broadcast_channels), broadcast_kernel=cfg.broadcast_kernel),
      method=method_config(*REFERENCE),
      optimizer=OptimizerConfig(name="adam", learning_rate=cfg.learning_rate),
      data=DataConfig(name="sprites", resolution=cfg.resolution, num_test=cfg.num_test),
      batch_size=cfg.batch_size, num_steps=cfg.num_steps, log_every=cfg.log_every, eval_every=cfg.num_steps,
      checkpoint_every=every, keep_checkpoints=NUM_CURVE_POINTS, eval_batch_size=min(1024, cfg.num_test),
      figures=False, tensorboard=False, progress=False, num_devices=0 if cfg.size == "full" else 1)


def sweeps(cfg, only: list[str] | None = None) -> list[tuple[str, str, Config, tuple[str, tuple[float, ...]]]]:
  """``[(sweep name, method, base config, (swept field, values))]``: every sweep of the study (of the methods
  ``only``); the swept field is ``""`` for tied methods (one sweep per value; only the seeds vary). A method's
  sweep is named after it, or, where the size's grids give the method in several rows (so that one row's settings
  can be another size's trained sweep, ``shared_runs``), after it and its values: ``beta_vae_beta2_4``."""
  b, out, overrides = base(cfg), [], cfg.method_overrides.to_dict()
  rows = collections.Counter(m for m, _, _ in cfg.grids)
  for method, field, values in cfg.grids:
    if only and method not in only:
      continue
    over = dict(overrides.get(method, {}))
    if method in TIED:
      out += [(f"{method}_{field}{v:g}", method, dataclasses.replace(b, method=method_config(method, v, **over)),
               ("", ())) for v in values]
    else:
      name = method if rows[method] == 1 else f"{method}_{field}{'_'.join(f'{v:g}' for v in values)}"
      out.append((name, method, dataclasses.replace(b, method=method_config(method, values[0], **over)),
                  (f"method.{field}", tuple(values))))
  return out


def sweep_spec(base: Config, grid: tuple[str, tuple[float, ...]], seeds) -> sweep_lib.SweepConfig:
  """The sweep of one of :func:`sweeps`' rows (its base config and grid) over ``seeds``: the swept values × seeds,
  or the seeds alone for a tied method's ``("", ())``."""
  return sweep_lib.make_sweep(base, dict([grid]) if grid[0] else {}, seeds=seeds)


def add_selection_flags(p, *, reads: bool) -> None:
  """``--methods`` and ``--only-trained`` on parser ``p``: the study's (``reads=False``: which sweeps to train and
  report) or a script reading its runs (``reads=True``: factor_response, metric_confusion). Resolve them with
  :func:`selected_methods`."""
  p.add_argument("--methods", nargs="+", default=None, choices=sorted(GRIDS),
                 help=("only these methods, as the study's flag (the reference's method is always read)" if reads else
                       "only these methods (the reference's, e.g. β-VAE holding β = 1, is always trained)"))
  p.add_argument("--only-trained", action="store_true",
                 help=("read the sweeps already trained, as the study's flag" if reads else "report the sweeps "
                       "already trained, train none (a cut run's finished settings; the results file names the ones "
                       "left out)"))


def selected_methods(cfg, methods: list[str] | None) -> list[str] | None:
  """The methods ``--methods`` selects (None: all), the reference's always among them — every setting is paired
  against it."""
  return None if methods is None else [cfg.reference[0], *methods]


def split_trained(cfg, runs_root: str, seeds: list[int], rows: list[tuple]) -> tuple[list[tuple], list[str]]:
  """``rows`` of :func:`sweeps` split into those whose sweeps are trained with ``seeds`` (as the study's ``--seeds``)
  and the runs folders of the others. What ``--only-trained`` reports of a run that was cut: the trained sweeps, and a
  note (:func:`partial_note`) naming the rest. The reference's sweep must be trained — every setting is paired
  against it — else a clear error naming the command that trains it."""
  done, missing = [], []
  for row in rows:
    workdir = sweep_dir(cfg, runs_root, row[0], row[1])
    (done.append(row) if sweep_lib.finished(sweep_spec(row[2], row[3], seeds), workdir) else missing.append(workdir))
  if not any(m == cfg.reference[0] and cfg.reference[1] in grid[1] for _, m, _, grid in done):
    raise FileNotFoundError(
        f"the reference setting's sweep ({setting_label(*cfg.reference)}) is not trained with seeds {seeds} under "
        f"{runs_root}: nothing to pair the others against; train the study first (python -m "
        f"experiments.disentanglement_study --size {cfg.size} --runs-root {runs_root}).")
  return done, missing


def partial_note(missing: list[str]) -> list[str]:
  """The results file's note on the sweeps ``--only-trained`` left out (runs folders ``missing``; none: no note), each
  named ``<run tag>/<sweep name>`` as in the training table (not this machine's path)."""
  named = [os.path.join(*os.path.normpath(w).split(os.sep)[-2:]) for w in missing]
  return [f"Partial: {len(missing)} sweep(s) not finished when this file was written and left out — "
          f"{', '.join(named)}; the same command without --only-trained trains them (resuming from their "
          "checkpoints) and rewrites this file with every setting."] if missing else []


def seed_defaults() -> dict[str, dict[str, int]]:
  """``sweeps.begin``'s seed defaults for every size: ``default_seeds`` (how many) and ``first_seeds`` (from which)."""
  cfgs = {s: get_config(s) for s in SIZES}
  return {"default_seeds": {s: c.seeds for s, c in cfgs.items()},
          "first_seeds": {s: c.first_seed for s, c in cfgs.items()}}


def models_note(cfg, *, last: bool = True) -> str:
  """The opening of the results notes of a script that reads the study's trained sweeps (factor_response,
  metric_confusion, metric_noise): which models, at which checkpoint, coded how."""
  return (f"Models: the trained sweeps of `python -m experiments.disentanglement_study --size {cfg.size}`"
          + (" at their last checkpoint" if last else "") + f" ({cfg.num_steps} updates of {cfg.batch_size}, "
          f"{cfg.resolution}×{cfg.resolution}); codes are posterior means")


def trained_sweeps(cfg, runs_root: str, seeds: list[int], only: list[str] | None,
                   only_trained: bool = False) -> tuple[list[tuple], list[str]]:
  """``(spec, workdir)`` of every sweep of the study at ``cfg`` (of the methods ``only``; default all) trained with
  ``seeds`` (as the study's ``--seeds``), and :func:`partial_note`; a clear error naming the command for one that is
  not trained, or with ``only_trained`` those that are (the reference's among them, :func:`split_trained`)."""
  done, missing = split_trained(cfg, runs_root, seeds, sweeps(cfg, only))
  if missing and not only_trained:
    raise FileNotFoundError(f"{missing[0]} holds no finished sweep of seeds {seeds}: train the study first (python "
                            f"-m experiments.disentanglement_study --size {cfg.size} --runs-root {runs_root}), or "
                            "pass --only-trained to read the sweeps that are.")
  return [(sweep_spec(b, g, seeds), sweep_dir(cfg, runs_root, n, m)) for n, m, b, g in done], partial_note(missing)


def encoder(cfg) -> str:
  """The study's encoder in words: ``MLP 1024-512-256-10`` (input to code) or Locatello et al.'s conv net."""
  model, res = base(cfg).model, cfg.resolution
  return (f"MLP {res * res}-{'-'.join(map(str, model.hidden))}-{model.latent_dim}" if model.architecture == "mlp" else
          f"conv {'-'.join(map(str, model.conv_channels))} (4×4 stride 2), dense "
          f"{'-'.join(map(str, model.conv_dense))}, latent {model.latent_dim}")


def notes(cfg, seeds: list[int], *, dci_check: bool, judge: Judge | None = None) -> list[str]:
  """The results file's notes on what was trained and how it was scored (``judge``: the sprites judge's setup and
  held-out accuracy)."""
  b, m, res, arch = base(cfg), metric_sizes(cfg), cfg.resolution, encoder(cfg)
  if b.model.decoder == "broadcast":
    arch += (f" encoder, Watters et al.'s spatial broadcast decoder (code tiled beside x/y coordinates, "
             f"{'-'.join(map(str, b.model.broadcast_channels))} channels, {b.model.broadcast_kernel}×"
             f"{b.model.broadcast_kernel} kernels)")
  images = b.num_steps * b.batch_size
  return [
      f"Setup ({cfg.tag}): {res}×{res} procedural sprites drawn fresh every step; {arch}, Bernoulli; Adam "
      f"{b.optimizer.learning_rate:g}, batch {b.batch_size}, {b.num_steps:,} updates ({images:,} images, "
      f"{images / sprites.NUM_SPRITES:.1f} passes over the 737,280 factor combinations); seeds {seeds}; each setting "
      "a sweep (vae_jax.sweep: the members trained in one program).",
      f"Scores on the posterior mean: β-VAE metric {m.bvae_train}/{m.bvae_eval} points of batch {m.bvae_batch}; "
      f"FactorVAE metric {m.fvae_train}/{m.fvae_eval} votes of batch {m.fvae_batch}, variances from {m.fvae_var} "
      f"codes; MIG on {m.num_codes} codes, 20 bins; DCI gradient-boosted trees ({m.dci_estimators} stages) on "
      f"{m.dci_train}/{m.dci_test} codes; SAP on {m.sap_train}/{m.sap_test}. disentanglement_lib's sizes except "
      "where smaller" + (" (the DCI check table compares with the full size)." if dci_check else
                         "; the reduced DCI was not compared with the full one in this run (--dci-check)."),
  ] + [f"Continued ({name}): its members start from {', '.join(sources)} at their last checkpoint "
        "(vae_jax.sweep.extend: the models a sweep of this length trains, the first updates not repeated), so its "
        "training time counts from there and its curve begins with those sweeps' checkpoints."
        for name, sources in cfg.start_from.to_dict().items()
        ] + ([judge_note(cfg, judge.accuracy())] if judge is not None else [])


def judge_note(cfg, accuracy: dict[str, float]) -> str:
  """What the Fréchet distances are measured with."""
  j, res = cfg.judge, cfg.resolution
  return (f"Fréchet distances (FD, lower = closer to real) in the penultimate features of a sprites judge: MLP "
          f"{res * res}-{'-'.join(map(str, j.hidden))} with a softmax head per factor, trained on {j.num_steps:,} "
          f"batches of {j.batch_size} fresh real sprites (Adam {j.learning_rate:g}, seed {j.seed}); held-out accuracy "
          + ", ".join(f"{k} {v:.2f}" for k, v in accuracy.items()) + f". Each FD on {cfg.num_sharpness} images (the "
          "sharpness ratios' samples and reconstructions) against as many real sprites; 'real FD (floor)' is two "
          "real draws, the value a perfect model would reach at this sample size.")


def sampler(cfg) -> evaluation.GroundTruthSampler:
  """The ground-truth model the metrics draw from: sprites rendered at the study's resolution."""
  return evaluation.GroundTruthSampler(sprites.FACTOR_SIZES,
                                       observe=functools.partial(sprites.render, resolution=cfg.resolution))


def real_images(cfg):
  """``key -> [num_sharpness, H, W, 1]`` real sprites: the reference of the sharpness ratios."""
  return lambda key: np.asarray(sprites.sample(key, cfg.num_sharpness, resolution=cfg.resolution)[0])


class Judge:
  """The study's sprites judge (``cfg.judge``), trained on first use and then kept: once per study run, and not at
  all when every Fréchet score is cached. Deterministic: ``train_sprite_judge(key(cfg.judge.seed), ...)``.

  ``judge()`` is the trained :class:`vae_jax.evaluation.SpriteJudge`; ``tag`` fingerprints the judge and the
  images it compares (``vae_jax.sweep.scores.frechet_scores``' cache key); :meth:`accuracy` is its held-out
  accuracy per factor, cached in ``cache_dir``'s ``study_evals.json``.
  """

  def __init__(self, cfg, cache_dir: str):
    self.cfg, self.cache_dir, self._judge, self._lock = cfg, cache_dir, None, threading.Lock()
    self.tag = scores.tag((sorted(cfg.judge.to_dict().items()), cfg.resolution, cfg.num_sharpness))

  def __call__(self) -> evaluation.SpriteJudge:
    with self._lock:  # members scored in threads (vae_jax.sweep.scores.cached_rows) train it once
      return self._trained()

  def _trained(self) -> evaluation.SpriteJudge:
    if self._judge is None:
      j = self.cfg.judge
      self._judge = evaluation.train_sprite_judge(
          jax.random.key(j.seed), resolution=self.cfg.resolution, hidden=tuple(j.hidden), num_steps=j.num_steps,
          batch_size=j.batch_size, learning_rate=j.learning_rate, log_every=max(1, min(j.num_steps, 1000)))
    return self._judge

  def accuracy(self) -> dict[str, float]:
    """Held-out accuracy per factor on ``num_sharpness`` fresh sprites (``fold_in(key(seed), 1)``)."""
    def score():
      images, factors = sprites.sample(jax.random.fold_in(jax.random.key(self.cfg.judge.seed), 1),
                                       self.cfg.num_sharpness, resolution=self.cfg.resolution)
      return evaluation.factor_accuracy(self(), images, factors)
    return scores.ScoreCache(self.cache_dir).get(f"judge/{self.tag}", score)


def members_record(groups: dict[str, list[dict]], keys) -> dict:
  """``<tag>_members.json``: every member's scores and curve, by setting."""
  return {g: [{"seed": r["member"].seed, **{k: r["eval"][k] for k in keys}, "curve": r["curve"]} for r in rs]
          for g, rs in groups.items()}


def write_members(folder: str, cfg, groups: dict[str, list[dict]]) -> str:
  """Writes :func:`members_record` (of :data:`KEYS`) to ``<folder>/<run_tag>_members.json``; returns its path."""
  os.makedirs(folder, exist_ok=True)
  path = os.path.join(folder, f"{cfg.run_tag}_members.json")
  with open(path, "w") as f:
    json.dump(members_record(groups, KEYS), f, indent=1, default=float)
  return path


def factor_edits(cfg, judge: Judge, model, rows: list[dict]) -> tuple[list[list], list[str]]:
  """Attribute edits of one setting's members read by the sprites judge (:func:`vae_jax.evaluation.factor_edits`
  at ``cfg.edits``, sprites from ``fold_in(key(seed), 17)``, the latent chosen by the member's DCI importance),
  each cached in its sweep folder; summarised over seeds (:func:`vae_jax.evaluation.summarize_factor_edits`)."""
  tag = f"{judge.tag}/{scores.tag(sorted(cfg.edits.to_dict().items()))}"
  edit = lambda r: evaluation.factor_edits(  # noqa: E731
      jax.random.fold_in(jax.random.key(r["member"].seed), 17), judge(), model, r["params"], r["eval"]["importance"],
      **cfg.edits.to_dict())
  return evaluation.summarize_factor_edits(scores.cached_rows(rows, lambda r: f"edits/{r['member'].name}/{tag}", edit))


def training_row(workdir: str, num_members: int, res: dict) -> list:
  """A row of the training table from ``vae_jax.sweep.train_sweep``'s results: the sweep named by its runs folder
  (``<run tag>/<sweep name>``: a sweep read from another size's runs says so, its time being that run's)."""
  folder = os.path.join(*os.path.normpath(workdir).split(os.sep)[-2:])
  return [folder, num_members, res["final_step"], round(res.get("train_time_s") or 0.0),
          round(res["images_per_sec"] or 0.0) if res.get("images_per_sec") else "—"]


def panel_title(r: dict) -> str:
  """The title of a member's traversal panel: its setting, seed, MIG and DCI disentanglement."""
  return f"{r['label']} (seed {r['member'].seed}): MIG {r['eval']['mig']:.2f}, DCI-D {r['eval']['dci_d']:.2f}"


def member_label(member) -> str:
  """The setting of a sweep member (its method and swept value): :func:`setting_label`."""
  method = member.config.method.name
  field = GRIDS[method][0]
  return setting_label(method, member.hparams.get(f"method.{field}", getattr(member.config.method, field)),
                       getattr(member.config.method, "estimator", "mws"))


def reference_words(cfg) -> str:
  """The reference setting in the tables' and verdicts' words: ``β = 1`` (the plain VAE, every size's but one) or
  ``β = 0.25`` (the per-pixel grid's)."""
  method, value = cfg.reference
  return f"{SYMBOLS[GRIDS[method][0]]} = {value:g}"


def dci_reduced(cfg) -> bool:
  """Whether the study's DCI sizes are below disentanglement_lib's (then ``--dci-check`` has something to check)."""
  m, full = metric_sizes(cfg), DCI_CHECK_SIZES
  return (m.dci_train, m.dci_test, m.dci_estimators) != (full.dci_train, full.dci_test, full.dci_estimators)


def traversal_figures(best_beta: str, best_any: str, seed: int) -> list[tuple[str, str, str]]:
  """``[(setting drawn beside the reference, file suffix, title)]``: the best β-VAE, and the best setting if other."""
  caption = f"Latent traversals (seed {seed}), rows by KL, each labelled with the factor of largest DCI importance"
  return [(best_beta, "", caption)] + ([(best_any, "_best", caption + f"; best setting {best_any}")]
                                       if best_any != best_beta else [])


def _cell(d: dict) -> str:
  return f"{d['mean']:+.3f} ± {d['std']:.3f} ({d['higher']}/{d['n']})"


def tables(cmp: dict, ref: str, train_info: list, swaps: dict, dci: list, edits: dict | None = None) -> dict:
  """The results file's tables, from :func:`vae_jax.evaluation.compare_settings`'s ``cmp`` and the rest; ``ref``:
  :func:`reference_words`."""
  titles, keys = dict(METRICS), (*METRICS, *SHARPNESS, *FRECHET, *EXTRA)
  out = {
      "Scores per setting (mean ± std over seeds)": dict(
          columns=["setting", "seeds", *[t for _, t in keys]],
          rows=[[g, s[METRICS[0][0]]["n"], *[s[k] for k, _ in keys]] for g, s in cmp["summary"].items()]),
      f"Paired against {ref}{' (the plain VAE)' if ref == 'β = 1' else ''}, per seed": dict(
          columns=["setting", *[titles[k] for k in (*HEADLINE, "sap")], "headline scores higher on every seed"],
          rows=[[g, *[_cell(p[k]) for k in (*HEADLINE, "sap")], len(cmp["wins"][g])]
                for g, p in cmp["paired"].items()]),
      "Training (one sweep per row)": dict(
          columns=["sweep (runs folder)", "members", "updates", "train s", "images/s (all members)"],
          rows=[list(r) for r in train_info]),
      "Latent swap: IoU of the decode with the ground truth (mean ± std over seeds)": dict(
          columns=["setting", "factor", "swap (DCI latents)", "swap (random latents)", "source (no transfer)",
                   "oracle (recon. of truth)", "seeds where swap > source"],
          rows=[[g, *row] for g, (rows, _) in swaps.items() for row in rows])}
  if edits:
    out["Attribute edits read by the sprites judge: share of sprites whose factor moved the intended way (mean ± std "
        "over seeds)"] = dict(
        columns=["setting", "factor", "latent edited (per seed)", "latent edit: moved", "pixel baseline: moved",
                 "latent edit: others kept", "pixel baseline: others kept", "seeds where latent > pixel"],
        rows=[[g, *row] for g, (rows, _) in edits.items() for row in rows])
  if dci:
    out["DCI check: reduced / disentanglement_lib's full size (first seed)"] = dict(
        columns=["setting", "seed", "disent.", "compl.", "inform."],
        rows=[[r["label"], r["member"].seed, *[f"{r['eval'][k]:.3f} / {f[k]:.3f}" for k in ("dci_d", "dci_c", "dci_i")]]
              for r, f in dci])
  return out


def judged(wins: dict, groups: dict, reference: str, best_beta: str, method_of: dict) -> list[str]:
  """The settings the verdict judges against ``reference``: the best β by headline medians (``best_beta``), every
  other setting of its method that is higher on every seed for more headline scores (``wins``: setting -> those
  scores) — a β the medians do not pick may clear the paired bar — and every setting of :data:`VERDICT_METHODS`."""
  beats = [g for g in groups if method_of[g] == method_of[best_beta] and g not in (reference, best_beta)
           and len(wins[g]) > len(wins.get(best_beta, ()))]
  others = [g for g in groups if method_of[g] in VERDICT_METHODS]
  return [g for g in dict.fromkeys([best_beta, *beats, *others]) if g != reference]


def redraw_verdicts(rows: list[list], ref: str) -> list[str]:
  """``experiments.metric_noise``'s findings, one ``Verdict:`` note per setting and redrawn metric, from its table's
  ``rows`` (``[setting, metric, seeds above per draw ("k/n", the study's draw first), by the draws' mean, smallest
  mean margin]``): in how many draws the setting is above ``ref`` on every seed — a pass on the study's draw alone
  is not a pass."""
  out = []
  for label, metric, *per_draw, mean, margin in rows:
    every, n = draws_above(per_draw)
    out.append(f"Verdict: {label}, {dict(METRICS)[metric]} redrawn: above {ref} on every seed in {every} of "
               f"{n} draws (the study's and {n - 1} from fresh keys); by the draws' mean on {mean} "
               f"seeds (smallest mean margin {margin:+.3f}).")
  return out


def draws_above(per_draw: list[str]) -> tuple[int, int]:
  """``(draws in which a setting is above on every seed, draws scored)`` from metric_noise's per-draw cells ("k/n",
  "–" for a draw not scored yet)."""
  draws = [d for d in per_draw if d != "–"]
  return sum(d.split("/")[0] == d.split("/")[1] for d in draws), len(draws)


def verdict(cmp: dict, groups: dict, reference: str, ref: str, best_beta: str, method_of: dict, swaps: dict,
            edits: dict | None = None) -> list[str]:
  """The study's findings: the best β-VAE and every setting of :data:`VERDICT_METHODS` against the reference
  (``reference`` its row label, ``ref`` :func:`reference_words`), the best
  medians, the sharpness of generated samples (ratios and Fréchet distances), the latent swap and the attribute
  edits."""
  titles, out = dict(METRICS), []
  for g in judged(cmp["wins"], groups, reference, best_beta, method_of):
    w = cmp["wins"][g]
    out.append(f"{g}: higher than {ref} on every seed for {len(w)} of {len(HEADLINE)} headline scores"
               + (f" ({', '.join(titles[k] for k in w)})" if w else "")
               + (f" — more than the best β by headline medians, {best_beta}" if g != best_beta
                  and method_of[g] == method_of[best_beta] else "") + ".")
  med = {g: {k: s[k]["median"] for k in (*HEADLINE, "sharp_gen_grad")} for g, s in cmp["summary"].items()}
  mig, bvae = (max(med, key=lambda g, k=k: med[g][k]) for k in ("mig", "beta_vae_metric"))
  out.append(f"Best median MIG {med[mig]['mig']:.3f} ({mig}; target ≥ 0.25); best median β-VAE metric "
             f"{med[bvae]['beta_vae_metric']:.3f} ({bvae}; target ≥ 0.90).")
  out.append("Sharpness of generated samples (gradient magnitude relative to real sprites, median over seeds): "
             + "; ".join(f"{g} {m['sharp_gen_grad']:.2f}" for g, m in med.items()) + ". 'Sharper' holds for a setting "
             f"only if its ratio is above {ref}'s.")
  out.append(frechet_verdict(cmp, ref))
  out.append("Latent swap (IoU): " + "; ".join(
      f"{g}: swap beats no transfer on every seed for {', '.join(w) if w else 'no factor'}"
      for g, (_, w) in swaps.items()) + ".")
  if edits:
    out.append("Attribute edits (one latent moved, read by the sprites judge): " + "; ".join(
        f"{g}: the latent edit moves the factor more often than the pixel baseline on every seed for "
        f"{', '.join(w) if w else 'no factor'}" for g, (_, w) in edits.items()) + ".")
  return out


def frechet_verdict(cmp: dict, ref: str = "β = 1") -> str:
  """'Sharper' by the Fréchet distance in the judge's features: the medians, and the settings below the reference
  (``ref``) on every seed (``cmp`` from :func:`vae_jax.evaluation.compare_settings` with :data:`PAIRED`)."""
  med = {g: {k: s[k]["median"] for k, _ in FRECHET} for g, s in cmp["summary"].items()}
  lower = {k: [g for g, p in cmp["paired"].items() if p[k]["n"] and all(v < 0 for v in p[k]["values"])]
           for k in ("fd_gen", "fd_rec")}
  return ("Fréchet distance to real sprites in the judge's features (median over seeds; lower = closer to real; two "
          f"real draws: {np.median([m['fd_real'] for m in med.values()]):.2f}): samples "
          + "; ".join(f"{g} {m['fd_gen']:.2f}" for g, m in med.items()) + "; reconstructions "
          + "; ".join(f"{g} {m['fd_rec']:.2f}" for g, m in med.items()) + f". Lower than {ref} on every seed: "
          f"samples {', '.join(lower['fd_gen']) or 'no setting'}; reconstructions "
          f"{', '.join(lower['fd_rec']) or 'no setting'}.")


def compute_seconds(train_info: list, rows: list[dict]) -> float:
  """Training (each sweep's ``train_time_s``, from the run that trained it) plus scoring the members, in seconds: the
  work behind the results, whichever invocation did it (``compute_time_s`` of the results file)."""
  return float(sum(row[3] for row in train_info) + _scoring_seconds(rows))


def _scoring_seconds(rows: list[dict]) -> float:
  return sum(r["eval"].get("eval_time_s", 0.0) for r in rows)


def time_notes(train_info: list, rows: list[dict], ref: str = "β = 1") -> list[str]:
  """How the paired table reads, and where the time went."""
  scoring = _scoring_seconds(rows)
  return [f"Paired table: setting − {ref.replace(' ', '')} on the same seed, mean ± std over seeds, (seeds where "
          "higher / seeds).",
          "Time: training " + ", ".join(f"{row[0]} {row[3]} s" for row in train_info) + " (each sweep's "
          f"train_time_s, from the run that trained it); scoring the members {scoring:.0f} s in all (curves, swaps and "
          "the DCI check not counted). Scores are cached in each sweep folder, so this file's wall_time_s counts only "
          "what the run that wrote it computed."]
