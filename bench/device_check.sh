#!/usr/bin/env bash
# The GPU check of the fast training path, made to fit in 8 minutes of a GPU machine
# (its start excluded): the bench at the paper's configuration, linear-evaluation timing, a
# short real run (byol-np vs byol-lp on Fashion-MNIST), fp32 and --compile variants as time
# allows. See bench/device_check.py for the stages and docs/performance.md.
#
#   bash bench/device_check.sh [--fashion-mnist DIR] [--budget SECONDS] [--epochs N]
#
# Outputs go to $OUT (the device tool's folder) or runs/device-check; the summary is printed last.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-runs/device-check}"
PYTHON="${PYTHON:-python3}"
mkdir -p "$OUT"
export OUT PYTHONUNBUFFERED=1 PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
if command -v nvidia-smi >/dev/null; then  # read-only queries: the card as it was found
  nvidia-smi --query-gpu=name,driver_version,memory.total,memory.used,clocks.sm,clocks.mem,temperature.gpu,power.draw,power.limit \
    --format=csv >"$OUT/nvidia-smi.txt" 2>&1
  cat "$OUT/nvidia-smi.txt"
fi
"$PYTHON" bench/device_check.py --out "$OUT" "$@" 2>&1 | tee "$OUT/device_check.log"
