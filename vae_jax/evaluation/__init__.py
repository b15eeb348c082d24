"""Evaluation metrics: reconstruction and denoising, outlier scores, linear probes, disentanglement.

One metric (family) per module; everything public is re-exported here explicitly.
"""

from vae_jax.evaluation.likelihood import bits_per_dim as bits_per_dim
from vae_jax.evaluation.likelihood import elbo as elbo
from vae_jax.evaluation.likelihood import importance_sampled_nll as importance_sampled_nll
from vae_jax.evaluation.likelihood_regret import likelihood_regret as likelihood_regret
from vae_jax.evaluation.likelihood_regret import likelihood_regret_terms as likelihood_regret_terms

from vae_jax.evaluation._sampling import GroundTruthSampler as GroundTruthSampler
from vae_jax.evaluation._sampling import RepresentationFn as RepresentationFn
from vae_jax.evaluation._sampling import represent as represent
from vae_jax.evaluation._sampling import sample_codes as sample_codes
from vae_jax.evaluation._sampling import sample_fixed_factor_groups as sample_fixed_factor_groups
from vae_jax.evaluation.beta_vae_metric import beta_vae_metric as beta_vae_metric
from vae_jax.evaluation.dci import dci as dci
from vae_jax.evaluation.disentanglement import ACTIVE_KL as ACTIVE_KL
from vae_jax.evaluation.disentanglement import MetricSizes as MetricSizes
from vae_jax.evaluation.disentanglement import evaluate_disentanglement as evaluate_disentanglement
from vae_jax.evaluation.disentanglement import kl_per_dim as kl_per_dim
from vae_jax.evaluation.dci import disentanglement_completeness as disentanglement_completeness
from vae_jax.evaluation.factor_swap import factor_swap as factor_swap
from vae_jax.evaluation.factor_swap import summarize_swaps as summarize_swaps
from vae_jax.evaluation.factor_vae_metric import factor_vae_metric as factor_vae_metric
from vae_jax.evaluation.latent_factors import factor_latent_cells as factor_latent_cells
from vae_jax.evaluation.latent_factors import factor_traversal as factor_traversal
from vae_jax.evaluation.latent_factors import latent_factor_names as latent_factor_names
from vae_jax.evaluation.latent_factors import latent_factor_rows as latent_factor_rows
from vae_jax.evaluation.mig import histogram_discretize as histogram_discretize
from vae_jax.evaluation.mig import mig as mig
from vae_jax.evaluation.outliers import OutlierDetector as OutlierDetector
from vae_jax.evaluation.outliers import auprc as auprc
from vae_jax.evaluation.outliers import fpr_at_tpr as fpr_at_tpr
from vae_jax.evaluation.outliers import auroc as auroc
from vae_jax.evaluation.outliers import complexity_corrected_score as complexity_corrected_score
from vae_jax.evaluation.outliers import likelihood_ratio_score as likelihood_ratio_score
from vae_jax.evaluation.outliers import model_outlier_scores as model_outlier_scores
from vae_jax.evaluation.paired import paired_differences as paired_differences
from vae_jax.evaluation.paired import compare_settings as compare_settings
from vae_jax.evaluation.paired import mean_difference as mean_difference
from vae_jax.evaluation.paired import significant as significant
from vae_jax.evaluation.paired import standard_error as standard_error
from vae_jax.evaluation.outliers import outlier_images as outlier_images
from vae_jax.evaluation.outliers import png_complexity_bits as png_complexity_bits
from vae_jax.evaluation.probe import linear_probe as linear_probe
from vae_jax.evaluation.reconstruction import denoising_report as denoising_report
from vae_jax.evaluation.reconstruction import per_image_bce as per_image_bce
from vae_jax.evaluation.reconstruction import per_image_mse as per_image_mse
from vae_jax.evaluation.reconstruction import psnr as psnr
from vae_jax.evaluation.reconstruction import ssim as ssim
from vae_jax.evaluation.sap import sap as sap
from vae_jax.evaluation.sharpness import frechet_distance as frechet_distance
from vae_jax.evaluation.sharpness import gradient_magnitude as gradient_magnitude
from vae_jax.evaluation.sharpness import laplacian_variance as laplacian_variance
from vae_jax.evaluation.sharpness import relative_sharpness as relative_sharpness
from vae_jax.evaluation.model_reconstruction import reconstruction_scores as reconstruction_scores
from vae_jax.evaluation.fine_tuning import balanced_subset as balanced_subset
from vae_jax.evaluation.fine_tuning import fine_tuned_accuracy as fine_tuned_accuracy
from vae_jax.evaluation.interpolation import different_class_pairs as different_class_pairs
from vae_jax.evaluation.interpolation import norm_profile as norm_profile
from vae_jax.evaluation.attribute_edits import attribute_edits as attribute_edits
from vae_jax.evaluation.attribute_edits import pick_sources as pick_sources
from vae_jax.evaluation.attribute_edits import train_judge as train_judge
