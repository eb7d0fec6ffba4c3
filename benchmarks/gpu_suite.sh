#!/usr/bin/env bash
# The GPU measurements of benchmarks/RESULTS.md, in the parts one device call can hold.
#
#   COURSE_DATA=/path/to/images OUT=/some/folder bash benchmarks/gpu_suite.sh sr [MINUTES]
#   COURSE_DATA=/path/to/images OUT=/some/folder bash benchmarks/gpu_suite.sh bench
#
# sr:    trains the super-resolution models of notebook 5 side by side on the one GPU for
#        MINUTES (default 6) each, stopping them with SIGTERM (which saves a checkpoint), then
#        scores every checkpoint with eval-sr --perceptual (PSNR/SSIM, the relu2_2 and relu3_3
#        distances of the paper's VGG-16 and the sharpness ratio) on the benchmark sets of
#        COURSE_DATA (Set5, Set14, BSD100, BSD68). Checkpoints go to
#        runs/gpu/<name>/; logs and scores to $OUT. To repeat a run exactly, rerun its
#        command with --steps set to the step its checkpoint reached. The ℓ_feat models use
#        the paper's VGG-16; the GPU machine reaches no registry, so carry a COURSE_CACHE
#        that already holds it (run `python -m course_lib info` with that cache here first).
# bench: the training-step benchmark (course against the fast_neural_style step, and the
#        course with each speed setting switched off), GPU utilisation during the course's
#        run, Table 1, and peak memory of stylising large images whole and in tiles.
#
# SMOKE=1 runs 'bench' at tiny sizes (and 'sr' is as short as MINUTES makes it, at least 1 on a
# CPU), on whatever COURSE_DEVICE says: test the suite on the CPU with it before the GPU call,
# whose time is short:  SMOKE=1 COURSE_DEVICE=cpu COURSE_DATA=... OUT=/tmp/smoke bash benchmarks/gpu_suite.sh bench
set -uo pipefail
cd "$(dirname "$0")/.."
: "${COURSE_DATA:?set COURSE_DATA to the course images}" "${OUT:?set OUT to a folder for the results}"
export COURSE_DEVICE=${COURSE_DEVICE:-cuda} PYTHONUNBUFFERED=1 COURSE_PROGRESS=text
python=${PYTHON:-python3}
mkdir -p "$OUT"

sr() {
  local minutes=${1:-6} common=(--data "$COURSE_DATA/train" --steps 1000000 --batch-size 16 --image-size 288
                               --workers 2 --cache-images --checkpoint-every 2000 --sample-every 1000000)
  declare -A jobs=(
    [sr4-pixel]="--scale 4 --loss pixel"            [sr8-pixel]="--scale 8 --loss pixel"
    [sr4-pixel-paper]="--scale 4 --loss pixel --paper"  [sr8-pixel-paper]="--scale 8 --loss pixel --paper"
    [srcnn4]="--scale 4 --loss pixel --arch srcnn"  [srcnn8]="--scale 8 --loss pixel --arch srcnn"
    [sr4-feat]="--scale 4 --loss feat --vgg-weights caffe --blur 1.0"
    [sr8-feat]="--scale 8 --loss feat --vgg-weights caffe --blur 1.0")
  for name in "${!jobs[@]}"; do
    # shellcheck disable=SC2086
    timeout -s TERM "${minutes}m" "$python" -m course_lib train-sr ${jobs[$name]} "${common[@]}" \
      --out "runs/gpu/$name" > "$OUT/$name.log" 2>&1 &
  done
  wait
  for name in "${!jobs[@]}"; do
    scale=${name:2:1}; [ "${name:0:5}" = srcnn ] && scale=${name:5:1}
    if [ ! -f "runs/gpu/$name/checkpoint.pt" ]; then  # SIGTERM came before training began (MINUTES too short)
      echo "error: runs/gpu/$name/checkpoint.pt: no checkpoint, $name was stopped before its first step;" \
           "give it more than $minutes minutes (see $OUT/$name.log)" | tee -a "$OUT/$name.log" >&2
      continue
    fi
    "$python" -m course_lib eval-sr --model "runs/gpu/$name/checkpoint.pt" --scale "$scale" --perceptual \
      > "$OUT/$name.eval.json" 2>> "$OUT/$name.log" &
  done
  for scale in 4 8; do
    "$python" -m course_lib eval-sr --model bicubic --scale "$scale" --perceptual > "$OUT/bicubic$scale.eval.json" 2>/dev/null &
  done
  wait
}

bench() {
  local step=(benchmarks/train_step.py --size 256 --batch 4 --steps 40 --warmup 10 --runs 3)
  local table=(--gatys-steps 20) memory=(--sizes 1024 2048 4096 --tile 1024) smi=""
  if [ "${SMOKE:-0}" = 1 ]; then
    step=(benchmarks/train_step.py --size 64 --batch 4 --steps 2 --warmup 1 --runs 1)
    table=(--sizes 64 128 --gatys-steps 2 --min-run-time 0.2) memory=(--sizes 300 700 --tile 512)
  fi
  if command -v nvidia-smi > /dev/null; then
    nvidia-smi --query-gpu=timestamp,utilization.gpu,memory.used --format=csv,noheader,nounits -lms 100 \
      > "$OUT/gpu_util.csv" &
    smi=$!
  fi
  "$python" "${step[@]}" --baseline > "$OUT/step_default.json"
  [ -n "$smi" ] && kill "$smi"
  "$python" "${step[@]}" --amp off > "$OUT/step_amp_off.json"
  "$python" "${step[@]}" --no-channels-last > "$OUT/step_no_channels_last.json"
  "$python" "${step[@]}" --no-cudnn-benchmark > "$OUT/step_no_cudnn_benchmark.json"
  "$python" "${step[@]}" --compile > "$OUT/step_compile.json"
  "$python" "${step[@]}" --data "$COURSE_DATA/train" --workers 8 > "$OUT/step_real_data.json"
  "$python" benchmarks/speed_table.py "${table[@]}" --markdown > "$OUT/table1.txt"
  "$python" benchmarks/stylize_memory.py "${memory[@]}" > "$OUT/memory.json"
}

"$@"
