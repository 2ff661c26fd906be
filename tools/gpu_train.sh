#!/usr/bin/env bash
# Train the tiny generator further on a lent GPU (tools/gpu_train_takes.py: nb 11's stage 12, stage 9's settings with stage 10's triples).
#   here:   tools/gpu_train.sh prepare   -> .whl2/ (py3.12 wheels: fastcore, espeak, librosa + deps), .gpu2/ (the release to
#           start from (env INIT), its config, the take worlds' face rigs (env TAKES, default runs/w14): ~34 MB; with NX=n the
#           rigs of n more people too, 47 KB each. The 64 MiB limit counts the tracked tree (18 MB) with the carry, so
#           .whl2 (12 MB) and .gpu2 fill it already: NX=300 was refused in session 16: NX has no room unless the take worlds' rigs go)
#   device: tools/gpu_train.sh run       (carry .whl2 and .gpu2; env ARMS or HEADWS, STEPS, STOP, B, P3, ROOM, SWAY, TIME_SAMPLER, LOGIT_MEAN,
#           BUDGET seconds) -> $OUT/<arm>/generator_tiny.*, $OUT/logs.tar (each arm's log.csv)
# Session 9 (nb 11's stage 12): the 7,200-clip worlds took 512 s on the H100 machine's 16 cores (13 clips/s). Since the world's
# workers get a share of the cores' threads each (nb 07), they take 47-50 s there (session 13, stage 16: 145 clips/s). They stay in
# /tmp/w while the machine is warm, so a second call within its idle time starts training at once. Stage 16's two calls:
#   TIME_SAMPLER=logit_normal ROOM=1 B=32 LR_SCALE=0.5 STEPS=2500 BUDGET=430 ARMS='a:LOGIT_MEAN=-0.8;b:LOGIT_MEAN=-0.8,SWAY=1;c:LOGIT_MEAN=-1.2'
#     (2,250 updates each in 380 s, three sharing the GPU: 0.163 s an update), then from c, INIT=runs/gpu16/c/generator_tiny prepare and
#   TIME_SAMPLER=logit_normal LOGIT_MEAN=-1.2 ROOM=1 LR_SCALE=0.5 STEPS=1600 BUDGET=280 ARMS='d:B=32;e:B=64'
# Stage 17 (session 14, on the CPU, no GPU lent): NX=1000 more people, 2,700 updates of 8 from stage 16 (nb 11). The same on a GPU:
#   NX=350 tools/gpu_train.sh prepare, then NX=350 TIME_SAMPLER=logit_normal LOGIT_MEAN=-1.2 ROOM=1 ... tools/gpu_train.sh run
set -u
source "$(dirname "$0")/device_wheels.sh"
case "${1:-}" in
prepare)
  mkdir -p .gpu2/w/wide .gpu2/w/more
  device_wheels_download .whl2 fastcore==1.14.5 espeakng-loader==0.2.4 librosa==0.11.0 audioread==3.1.0 \
    soxr==1.1.0 pooch==1.9.0 platformdirs==4.14.8 soundfile==0.14.0 cffi==2.1.1 pycparser==3.12 decorator==5.3.1
  INIT=${INIT:-data_samples/checkpoints/generator_tiny}                     # start here (nb 11 stage 12: INIT=runs/release_s9/generator_tiny)
  cp $INIT.safetensors .gpu2/init.safetensors
  python3 -c "import json, sys; json.dump({'model': json.load(open(sys.argv[1]))}, open('.gpu2/config.json', 'w'))" $INIT.json   # the architecture init_from checks
  TAKES=${TAKES:-runs/w14}                                                  # the take worlds made here (nb 11: wide/ and more/)
  cp -r $TAKES/wide/speakers .gpu2/w/wide/ && cp -r $TAKES/more/speakers .gpu2/w/more/
  if [ -n "${NX:-}" ]; then                                                 # NX more people (nb 11 stage 17): their rigs, made here first
    W=$TAKES NX=$NX WORKERS=2 WORLDS_ONLY=1 .venv/bin/python tools/gpu_train_takes.py | grep -v 'W0000\|world clips\|world takes\|absl'   # the tool's own world (resumed if made)
    mkdir -p .gpu2/w/extra$NX && cp -r $TAKES/extra$NX/speakers .gpu2/w/extra$NX/
  fi
  du -sh .whl2 .gpu2 ;;
run)
  device_wheels_install .whl2 || exit 1
  export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1 OUT=${OUT:-/tmp/out}; mkdir -p $OUT
  python3 tools/gpu_train_takes.py > $OUT/train.log 2>&1; rc=$?
  (cd $OUT && tar cf logs.tar */log.csv && rm */log.csv)                      # one file for the arms' logs (8 files come back)
  grep -v 'W0000\|world clips\|world takes\|absl' $OUT/train.log | tail -80; exit $rc ;;
*) echo "usage: tools/gpu_train.sh prepare|run"; exit 2 ;;
esac
