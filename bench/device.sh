#!/usr/bin/env bash
# The WebGPU benchmark on a machine with a real GPU, as one prepared script: the LeNet
# training step (images/s at batch 500) and the per-kernel table (ms, GFLOP/s, GB/s).
# NOT YET RUN ON A GPU: no session so far was lent one. Written for the workplace's
# `device` tool, whose machines reach no network (so Deno travels compressed: ~31 MB).
#
# Here, once:
#   echo /.device/ >> .git/info/exclude; mkdir -p .device
#   xz -T2 -c "$(readlink -f "$(command -v deno)")" > .device/deno.xz
#   # plus the Vulkan loader debs into .gl/ as the device tool's README says
# There (run with carry [".device", ".gl"]; OUT is where results go):
#   bash bench/device.sh
set -u
OUT=${OUT:-./out}
mkdir -p "$OUT"
if [ -d .gl ]; then
  for f in .gl/*.deb; do dpkg -x "$f" /; done
  ldconfig
fi
xz -dc .device/deno.xz > /tmp/deno && chmod +x /tmp/deno
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-$(mktemp -d)}
nvidia-smi > "$OUT/nvidia-smi.txt" 2>&1
/tmp/deno run -A bench/train_step.ts --backends webgpu --steps 20 --json > "$OUT/train_step.json" 2> "$OUT/train_step.err"
/tmp/deno run -A bench/train_step.ts --backends webgpu --steps 20 --batch 2000 --json > "$OUT/train_step_b2000.json" 2>> "$OUT/train_step.err"
/tmp/deno run -A bench/gflops.ts --reps 10 > "$OUT/gflops.txt" 2> "$OUT/gflops.err"
cat "$OUT/train_step.json" "$OUT/gflops.txt"
