#!/usr/bin/env bash
# Train the tiny generator further on a lent GPU (tools/gpu_train_takes.py: nb 11's stage 12, stage 9's settings with stage 10's triples).
#   here:   tools/gpu_train.sh prepare   -> .whl2/ (py3.12 wheels: fastcore, espeak, librosa + deps), .gpu2/ (the release to
#           start from (env INIT), stage 9's checkpoint config, the take worlds' face rigs: ~30 MB; needs runs/ from nb 11)
#   device: tools/gpu_train.sh run       (carry .whl2 and .gpu2; env HEADWS, STEPS, STOP, B, P3, ROOM, BUDGET seconds) -> $OUT/hw*/generator_tiny.*, logs
# Session 9 (nb 11's stage 12): the 7,200-clip worlds took 512 s on the H100 machine's 16 cores (13 clips/s, no faster than
# 2 cores here: the world's workers now get a share of the cores' threads each, nb 07, unmeasured there). They stay in /tmp/w
# while the machine is warm, so a second call within its idle time starts training at once (1,750 updates of batch 32, two
# head weights side by side, in 195 s).
set -u
source "$(dirname "$0")/device_wheels.sh"
case "${1:-}" in
prepare)
  mkdir -p .gpu2/w/wide .gpu2/w/more
  device_wheels_download .whl2 fastcore==1.14.5 espeakng-loader==0.2.4 librosa==0.11.0 audioread==3.1.0 \
    soxr==1.1.0 pooch==1.9.0 platformdirs==4.14.8 soundfile==0.14.0 cffi==2.1.1 pycparser==3.12 decorator==5.3.1
  cp runs/generator_tiny_s9/checkpoints/step_00002500/config.json .gpu2/     # the architecture the init_from check reads
  cp ${INIT:-data_samples/checkpoints/generator_tiny}.safetensors .gpu2/init.safetensors   # start here (nb 11 stage 12: INIT=runs/release_s9/generator_tiny)
  cp -r runs/world_wide_take/speakers .gpu2/w/wide/ && cp -r runs/world_more_take/speakers .gpu2/w/more/
  du -sh .whl2 .gpu2 ;;
run)
  device_wheels_install .whl2 || exit 1
  export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1 OUT=${OUT:-/tmp/out}; mkdir -p $OUT
  python3 tools/gpu_train_takes.py > $OUT/train.log 2>&1; rc=$?
  grep -v 'W0000\|world clips\|world takes\|absl' $OUT/train.log | tail -80; exit $rc ;;
*) echo "usage: tools/gpu_train.sh prepare|run"; exit 2 ;;
esac
