#!/usr/bin/env bash
# The GPU checks of the capture and the statistics, in one command on a machine with CUDA:
#   bash benchmarks/device_check.sh OUT_DIR [DATA]
# DATA: the CIFAR-10 test archive (default data/cifar10/test.tar.gz: copy
# ../shared/datasets/cifar10/test.tar.gz there; data/ is ignored by git).
# Runs the CUDA tests of the capture and the batched statistics, then the full benchmark on
# CUDA, and leaves the log, the JSON results and the updated docs/benchmarks.md in OUT_DIR.
set -uo pipefail
out=${1:?usage: device_check.sh OUT_DIR [DATA]}
data=${2:-data/cifar10/test.tar.gz}
mkdir -p "$out"
export PYTHONUNBUFFERED=1 SENET_VIZ_TEST_DEVICE=cuda
python3 -m pytest -q -p no:cacheprovider tests/test_capture.py tests/test_batching.py 2>&1 | tee "$out/tests.log"
python3 benchmarks/run.py --device cuda --skip-app --data "$data" 2>&1 | tee "$out/bench.log"
cp benchmarks/results/*-cuda.json docs/benchmarks.md "$out/" 2>/dev/null
