#!/usr/bin/env bash
# The same code on a GPU: what was run on the accelerator lent to a session, so anyone with one can rerun it.
#
#   bash scripts/gpu_check.sh probe          # ≈ 3 min: versions, the unit tests on the GPU, the quickstart run,
#                                            # evaluate (IS-NLL K=5000 × 10,000) on a trained run, a β-VAE timing
#   bash scripts/gpu_check.sh tests | quickstart | evaluate   # one part of probe
#   bash scripts/gpu_check.sh beta STEPS     # the β-VAE sprites comparison at Higgins et al.'s 64×64 MLP setup
#                                            # ($VARIANTS: which models, default all 7; $WORKERS threads)
#   bash scripts/gpu_check.sh bench          # benchmarks/run.py --quick (MLP at batch 128, conv β-VAE) on the GPU
#   bash scripts/gpu_check.sh study [STEPS]  # the disentanglement study (issue #17), size $STUDY_SIZE (default
#                                            # gpu_lease_tc: Locatello et al.'s 64×64 conv VAE, batch 64, β-TCVAE
#                                            # β ∈ {1, 6} as one sweep — at β = 1 it is the VAE — 5 seeds, 20,000
#                                            # updates; gpu_lease adds β-VAE β = 8 in a second sweep; gpu_lease_sbd
#                                            # is gpu_lease_tc with the spatial broadcast decoder;
#                                            # gpu_lease_higgins: Higgins et al.'s 64×64 MLP, β-VAE β ∈ {1, 4},
#                                            # β-TCVAE 6 (where β > 1 came closest to all four scores); `full`: every
#                                            # method's grid at 300,000). Two passes: the reference's sweep is trained,
#                                            # scored and packed first, then the size's other methods (skipped when it
#                                            # has none), so a cut call still returns a result; then, if time is
#                                            # left, experiments.factor_response on the trained sweeps (how each
#                                            # latent responds to position and scale) and experiments.metric_confusion
#                                            # (which factors the β-VAE metric's classifier confuses). $METHODS,
#                                            # $STUDY_TIMEOUT (540 s for all).
#                                            # Sizing, measured on the H200 (experiments/results/gpu/README.md, third
#                                            # lease): a 10-member conv sweep spent ≈ 100 s in its first chunk
#                                            # (compiling) and trained at 139 k images/s (≈ 90 s for 20,000 updates);
#                                            # its scoring did not finish in that 560 s call (the interventions at 256
#                                            # images per call: 31-44 s per model; now 4,096 per call and members in
#                                            # threads on a GPU, not yet timed there: `python -m
#                                            # benchmarks.study_startup`). The full grid at 300k updates is ≈ 4.8 h.
#   bash scripts/gpu_check.sh likelihood     # issue #18 part 1: the Fashion-MNIST likelihood study (VAE, IWAE k=5, 50;
#                                            # 784-500-20 and Burda's 784-200-200-50; 100 epochs, 3 seeds as sweeps;
#                                            # IS-NLL K=5000 on all 10,000 test images); $MODELS picks models,
#                                            # $LIKELIHOOD_TIMEOUT caps it (540 s), $LIKELIHOOD_TAG names the
#                                            # results fashion_likelihood_<tag>.json (default gpu)
#   bash scripts/gpu_check.sh sweep          # benchmarks/sweep.py: M = 64 sprites β-VAEs (Higgins MLP, conv) as one
#                                            # program vs one after another (issue #15's GPU target: ≥ 20× at
#                                            # M = 64); $SWEEP_CASES, $SWEEP_MEMBERS, $SWEEP_SCALE, $SWEEP_TIMEOUT
#
# Needs a Python with jax[cuda], flax, optax, orbax-checkpoint, chex, matplotlib, tqdm, pytest ($PYTHON, default
# python3); tensorflow-datasets is not needed. Fashion-MNIST is read from $VAE_JAX_DATA_DIR (IDX .gz files);
# the trained run for `probe` from $GPU_CHECK_RUN. Everything it writes goes to $OUT (default /tmp/gpu_check),
# packed into a few files.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
OUT=${OUT:-/tmp/gpu_check}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 JAX_PLATFORMS=${JAX_PLATFORMS:-cuda} XLA_FLAGS=${XLA_FLAGS:-}
export XLA_PYTHON_CLIENT_PREALLOCATE=false JAX_COMPILATION_CACHE_DIR=${JAX_COMPILATION_CACHE_DIR:-/tmp/jax_cache}
stage=${1:-probe}
t0=$(date +%s)
stamp() { echo "[gpu_check $(($(date +%s) - t0)) s] $*"; }

run_tests() {
  nvidia-smi -L || true
  $PY -c "import jax, flax, optax, orbax.checkpoint as o, chex; print('jax', jax.__version__, 'flax', flax.__version__,
'optax', optax.__version__, 'orbax', o.__version__, 'chex', chex.__version__); print(jax.devices())"
  stamp "unit tests on the GPU (default matmul precision)"
  tests="tests/test_losses.py tests/test_noise.py tests/test_methods.py tests/test_methods_dip_vae.py
         tests/test_methods_factor_vae.py tests/test_ppca.py tests/test_models.py
         tests/test_eval_likelihood.py tests/test_eval_reconstruction.py tests/test_eval_disentanglement.py
         tests/test_steps.py tests/test_train.py tests/test_stacked.py tests/test_latent.py"
  timeout -s INT 110 $PY -m pytest -q -o cache_dir=/tmp/pytest_cache -m "not slow" $tests \
    --junitxml="$OUT/tests_default.xml" 2>&1 | tail -40
  stamp "failures rerun at float32 matmul precision"
  JAX_DEFAULT_MATMUL_PRECISION=highest timeout -s INT 40 $PY -m pytest -q -o cache_dir=/tmp/pytest_cache \
    --lf --lfnf=none -m "not slow" $tests --junitxml="$OUT/tests_highest.xml" 2>&1 | tail -15
}
run_quickstart() {
  stamp "quickstart (Flax example MLP VAE, Fashion-MNIST, 936 steps)"
  timeout 70 $PY -m experiments.main --config experiments/configs/quickstart.py --workdir /tmp/qs \
    --config.progress=false --config.tensorboard=false 2>&1 | tail -8
  cp /tmp/qs/results.json "$OUT/quickstart_results.json" 2>/dev/null
}
run_evaluate() {
  if [ -n "${GPU_CHECK_RUN:-}" ]; then
    for prec in default highest; do
      stamp "evaluate $GPU_CHECK_RUN: IS-NLL K=5000 × 10,000 images, matmul precision $prec"
      ( [ $prec = highest ] && export JAX_DEFAULT_MATMUL_PRECISION=highest; timeout 100 \
        $PY -m experiments.evaluate --workdir "$GPU_CHECK_RUN" --num-samples 5000 --num-images 10000 \
        --out "/tmp/eval_$prec" 2>&1 | grep -v "IS-NLL (K" | tail -4 )
      cp "/tmp/eval_$prec/evaluation.json" "$OUT/evaluate_$prec.json" 2>/dev/null
    done
  fi
}

case "$stage" in
tests) run_tests ;;
quickstart) run_quickstart ;;
evaluate) run_evaluate ;;
probe)
  run_tests; run_quickstart; run_evaluate
  stamp "β-VAE timing: Higgins MLP at 64×64, 1000 updates, β=1 and β=4, 2 worker threads"
  timeout 90 $PY -m experiments.beta_vae_sprites --size higgins --steps 1000 --variants beta1 beta4 --seeds 1 \
    --workers 2 --runs-root /tmp/probe_runs --results-dir /tmp/probe 2>&1 | grep -E "seed|wrote" | tail -8
  ;;
beta)
  steps=${2:?give the number of updates}
  variants=${VARIANTS:-beta1 beta2 beta4 beta8 beta16 annealed tcvae}
  stamp "β-VAE sprites, Higgins setup, $steps updates, models: $variants, 3 seeds, ${WORKERS:-7} worker threads"
  timeout "${BETA_TIMEOUT:-3000}" $PY -m experiments.beta_vae_sprites --size higgins --steps "$steps" \
    --variants $variants --workers "${WORKERS:-7}" --runs-root /tmp/beta_runs --results-dir /tmp/beta_res 2>&1 \
    | grep -v "^\s*$" | tail -60
  tar czf "$OUT/beta_higgins.tgz" -C /tmp beta_res
  ;;
bench)
  stamp "benchmarks/run.py --quick on the GPU"
  timeout 280 $PY -m benchmarks.run --quick --only mlp128 conv --repeats 3 --name "gpu-quick-$(date +%H%M%S)" --out-dir /tmp/bench \
    2>&1 | tail -40
  tar czf "$OUT/bench.tgz" -C /tmp bench
  ;;
study)
  size=${STUDY_SIZE:-gpu_lease_tc} steps=${2:-} end=$((t0 + ${STUDY_TIMEOUT:-540}))
  args="--size $size ${steps:+--steps $steps} --runs-root /tmp/study_runs"
  # What a pass wrote into the checkout (a committed size's results, members' scores and figures) and the runs'
  # logs and score caches (not their checkpoints), so a cut second pass still returns the first's result.
  pack() {
    tar czf "$OUT/study_$1.tgz" experiments/results/disentanglement_study_"$size"*.json \
      experiments/results/disentanglement_study/"$size"*_members.json experiments/figures/disentanglement_study_"$size"* \
      experiments/results/factor_response_"$size".json experiments/figures/factor_response_"$size".png \
      experiments/results/metric_confusion_"$size".json 2>/dev/null
    tar czf "$OUT/study_runs_$1.tgz" --exclude=checkpoints -C /tmp study_runs 2>/dev/null
  }
  read -r ref sweeps < <($PY -c "from experiments.configs import disentanglement_study as s; c = s.get_config('$size')
print(c.reference[0], len(s.sweeps(c)))")
  stamp "disentanglement study, size $size${steps:+, $steps updates}: pass 1, the reference's sweep ($ref)"
  timeout -s INT $((end - $(date +%s))) $PY -m experiments.disentanglement_study $args --methods "$ref" 2>&1 \
    | grep -v "^\s*$" | tee "$OUT/study_1.log" | tail -25
  pack 1
  if [ "${sweeps:-2}" -gt 1 ] && [ $((end - $(date +%s))) -gt 60 ]; then
    stamp "pass 2: the size's other methods${METHODS:+ ($METHODS)}"
    timeout -s INT $((end - $(date +%s))) $PY -m experiments.disentanglement_study $args ${METHODS:+--methods $METHODS} \
      2>&1 | grep -v "^\s*$" | tee "$OUT/study_2.log" | tail -30
    pack 2
  fi
  if [ -z "$steps" ] && [ $((end - $(date +%s))) -gt 30 ]; then  # how the trained models encode each factor (s)
    stamp "factor responses of the trained sweeps (experiments.factor_response)"
    timeout -s INT $((end - $(date +%s))) $PY -m experiments.factor_response --size "$size" --runs-root /tmp/study_runs \
      2>&1 | tee "$OUT/study_response.log" | tail -12
    pack 3
  fi
  if [ -z "$steps" ] && [ $((end - $(date +%s))) -gt 30 ]; then  # at 64×64, does a latent carry shape or angle?
    stamp "the β-VAE metric's confusion between the factors (experiments.metric_confusion)"
    timeout -s INT $((end - $(date +%s))) $PY -m experiments.metric_confusion --size "$size" --runs-root /tmp/study_runs \
      2>&1 | tee "$OUT/study_confusion.log" | tail -12
    pack 4
  fi
  ;;
likelihood)
  models=${MODELS:-vae_h500 iwae5_h500 iwae50_h500 vae_burda iwae5_burda iwae50_burda}
  size=${LIKELIHOOD_SIZE:-full} tag=${LIKELIHOOD_TAG:-gpu}  # results: fashion_likelihood_<tag>.json
  stamp "Fashion-MNIST likelihood study, size $size, models: $models, float32 matmuls (the CPU's arithmetic, not
  TF32), needs \$VAE_JAX_DATA_DIR"
  JAX_DEFAULT_MATMUL_PRECISION=highest timeout -s INT "${LIKELIHOOD_TIMEOUT:-540}" \
    $PY -m experiments.fashion_likelihood --size "$size" --models $models --tag "$tag" \
    --runs-root /tmp/likelihood_runs --results-dir "$OUT/likelihood_res" 2>&1 | grep -v "^\s*$" \
    | tee "$OUT/likelihood.log" | tail -40
  # A model cut off by the timeout: its trained members (parameters, cached scores), to finish the estimates elsewhere.
  for m in $models; do
    $PY -c "import json, sys; t = json.load(open(sys.argv[1]))['tables']; sys.exit(all(r[0] != sys.argv[2] for r in
      next(iter(t.values()))['rows']))" "$OUT/likelihood_res/fashion_likelihood_$tag.json" "$m" 2>/dev/null \
      && continue
    d=/tmp/likelihood_runs/fashion_likelihood/$size/$m
    [ -d "$d/members" ] && tar czf - -C "$(dirname "$d")" --exclude="$m/checkpoints" "$m" \
      | split -b 15m - "$OUT/unfinished_$m.tgz."
  done
  ;;
sweep)
  # The CPU-sized runs last milliseconds here: --steps-scale gives each timed chunk seconds of updates.
  tag=gpu-$(date -u +%Y%m%d-%H%M)  # a new results file per run (benchmarks/results/sweep_<tag>.json)
  stamp "benchmarks/sweep.py on the GPU: ${SWEEP_CASES:=higgins_sprites,conv_sprites}, M = ${SWEEP_MEMBERS:=64}"
  timeout "${SWEEP_TIMEOUT:-420}" $PY -m benchmarks.sweep --only "$SWEEP_CASES" --members "$SWEEP_MEMBERS" \
    --contenders loop --repeats "${SWEEP_REPEATS:-1}" --steps-scale "${SWEEP_SCALE:-100}" --no-memory --tag "$tag" \
    --timeout 200 2>&1 | tee "$OUT/sweep.log" | tail -40
  cp benchmarks/results/sweep_"$tag".* "$OUT/" 2>/dev/null
  ;;
*)
  echo "unknown stage $stage (probe | tests | quickstart | evaluate | beta STEPS | bench | study [STEPS] | likelihood | sweep)" >&2; exit 2 ;;
esac
stamp "done"
