#!/usr/bin/env bash
# One command for a lent GPU machine (the `device` tool): the first CUDA run of every GPU path,
# then the throughput benchmarks; each step's stdout (the benchmarks' JSON) goes to $OUT/NAME.out
# (or ./gpu-check). Each step has a time limit, 9 minutes in all; it has never run on a GPU, so the
# limits are guesses. The machine's image has torch and torchvision but not PyAV, filterpy or
# pycocotools: carry them as wheels in .whl (see the device tool's README); they are installed first.
#   device run --carry .whl --timeout 590 "bash benchmarks/gpu_check.sh"
set -uo pipefail
out=${OUT:-gpu-check}
mkdir -p "$out"
if compgen -G ".whl/*.whl" >/dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 2
    export PYTHONPATH=/tmp/site:$PWD
else
    export PYTHONPATH=$PWD
fi
export PYTHONUNBUFFERED=1
python3 -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 'no CUDA device here')" || exit 2
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv >"$out/gpu.csv" 2>&1
step() {  # name, seconds, command...: run with a limit, keep its output, go on if it fails
    local name=$1 limit=$2; shift 2
    echo "== $name"
    timeout "$limit" "$@" >"$out/$name.out" 2>"$out/$name.log"; echo "rc=$? $name" | tee -a "$out/steps.txt"
}
step cuda_tests 150 python3 -m pytest -q -p no:cacheprovider -k "cuda or gpu or CUDA" tests
step pipeline_throughput 150 python3 benchmarks/pipeline_throughput.py --device cuda --frames 60
step pose_forward 60 python3 benchmarks/pose_forward.py --device cuda --quick
step bottomup 60 python3 benchmarks/bottomup.py --device cuda --models higherhrnet-w32-512 --width 512 --height 512 --precision fp16
step train_throughput 60 python3 benchmarks/train_throughput.py --device cuda --quick
step many_videos 60 python3 benchmarks/many_videos.py --device cuda --gpus-per-worker 0.25 --workers 1 2 4
cat "$out/steps.txt"
