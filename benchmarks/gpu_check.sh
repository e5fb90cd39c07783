#!/usr/bin/env bash
# The GPU checks recorded in docs/results.md, as run on a lent GPU machine (no network there).
# Needs: a copy of solo-learn's `solo/` package and wheels of hydra-core, omegaconf and
# antlr4-python3-runtime in $DEVRUN (default .devrun, git-ignored), torch + lightning installed.
# Writes logs and JSON into $OUT (default ./gpu-out).
set -uo pipefail
DEVRUN=${DEVRUN:-.devrun}
OUT=${OUT:-gpu-out}
mkdir -p "$OUT"
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site "$DEVRUN"/whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD:$PWD/$DEVRUN PYTHONUNBUFFERED=1 PYTHONWARNINGS=ignore
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/gpu.txt"
python3 -c "import torch, lightning, solo.methods; print('torch', torch.__version__, 'lightning', lightning.__version__)" | tee -a "$OUT/gpu.txt"
[ -n "${SKIP_KMEANS:-}" ] || {
# 1) k-means on CUDA: CIFAR-100-LT, ImageNet-LT and ImageNet sizes (torch backend)
python3 benchmarks/kmeans_backends.py --device cuda --skip-sklearn \
    --sizes 10847:100 116000:1000 1200000:1000 --json "$OUT/kmeans_cuda.json" 2>&1 | tee "$OUT/kmeans_cuda.log"
}
# 2) training steps on CUDA, CIFAR-shaped synthetic crops, about a minute of steps per method
python3 benchmarks/step_cost.py --config-dir scripts/pretrain/cifar100-lt --device cuda \
    --batch-size 256 --seconds 60 --rounds 2 --methods ${METHODS:-simclr tase} \
    --json "$OUT/steps_cuda.json" 2>&1 | grep -v -i "warn" | tee "$OUT/steps_cuda.log"
