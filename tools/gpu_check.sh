#!/usr/bin/env bash
# GPU checks for a lent device machine (see ../shared/ENVIRONMENT.md and the device tool's README).
#   here:   tools/gpu_check.sh prepare   -> .whl/ (py3.12 wheels the device image lacks), .gpu/ref.pkl (a prepared reference)
#   device: tools/gpu_check.sh run       (carry .whl and .gpu) -> the gpu-flagged notebook cells, then the benchmarks
# Session 8 (2026-11-26, one H100): about 2 min of machine time, 1-2 min more to start it; results in nbs 05/10/11/12.
# Session 16 (2026-11-27, one H100): 143 s of command, 177 s held with the start; both cards' figures in nbs 05/10/11/12.
# The device image has Python 3.12, torch, numpy 2, pandas, opencv, scipy, matplotlib, but no nbdev/librosa/ffmpeg,
# and no mediapipe (too big to carry), hence the reference is prepared here and pickled (dev tool only, never the library).
set -u
source "$(dirname "$0")/device_wheels.sh"
WHEELS="fastcore==1.14.5 nbdev==2.4.14 execnb==0.1.18 ghapi==2.0.3 astunparse==1.6.3 asttokens==3.0.2 watchdog==7.1.0
 ipython==9.18.1 ipython_pygments_lexers==1.1.1 traitlets==5.16.1 parso==0.8.7 prompt_toolkit==3.0.53 pexpect==4.9.0
 ptyprocess==0.7.0 decorator==5.3.1 matplotlib-inline==0.2.2 stack-data==0.6.3 executing==2.3.0 pure_eval==0.2.4
 wcwidth==0.9.4 librosa==0.11.0 audioread==3.1.0 soxr==1.1.0 pooch==1.9.0 platformdirs==4.14.8 soundfile==0.14.0
 cffi==2.1.1 pycparser==3.12 imageio-ffmpeg==0.7.0 mediapy==1.2.7"
case "${1:-}" in
prepare)
  mkdir -p .gpu
  device_wheels_download .whl $WHEELS
  python3 -c "
import pickle; from omnitalker.generate import prepare_reference, DEFAULT_REFERENCE
pickle.dump(prepare_reference(DEFAULT_REFERENCE), open('.gpu/ref.pkl', 'wb'))"
  du -sh .whl .gpu ;;
run)
  device_wheels_install .whl || exit 1
  export PYTHONPATH=/tmp/site:$PWD PATH=/tmp/site/bin:$PATH PYTHONUNBUFFERED=1 OUT=${OUT:-/tmp/out}
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
  python3 -c "import torch, numpy; print('torch', torch.__version__, 'numpy', numpy.__version__, torch.cuda.get_device_name())"
  cli() { python3 -c "import sys; from omnitalker.cli import main; sys.exit(main(sys.argv[1:]))" "$@"; }
  python3 tools/test_nbs.py --flags gpu --timeout 240 nbs/02_text.ipynb nbs/03_audio.ipynb nbs/11_train.ipynb   # the notebooks with gpu cells
  cli bench train --device cuda --seconds 10 2>&1 | tee $OUT/bench_train.txt
  cli bench dit --device cuda --seconds 10 2>&1 | tee $OUT/bench_dit.txt
  cli bench render --device cuda 2>&1 | tee $OUT/bench_render.txt
  python3 -c "
import pickle; from omnitalker.generate import bench_generate
print(bench_generate(ref=pickle.load(open('.gpu/ref.pkl', 'rb')), steps=(4, 8, 16, 32), repeats=2, device='cuda').to_string())" 2>&1 | tee $OUT/bench_generate.txt ;;
*) echo "usage: tools/gpu_check.sh prepare|run"; exit 2 ;;
esac
