#!/usr/bin/env bash
# Prints every bench case's final training loss at a fixed seed (synthetic data, 1 thread): a refactoring that
# must not change behaviour gives the same table before and after.
#   bench/same-losses.sh [steps] [case ...]     defaults: 120 steps (20 warm-up), every case, batch 64
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
steps="${1:-120}"
if [ $# -gt 0 ]; then shift; fi
cases=("$@")
dotnet build bench -c Release -nologo -clp:ErrorsOnly -v:q >/dev/null
if [ ${#cases[@]} -eq 0 ]; then
  cases=(ae-linear ae-deep ae-3d ae-conv ae-denoise vae cls-mlp cls-lenet cls-cnn cls-pyr gan-mlp lsgan dcgan dcgan-keras aae aae-s)
fi
printf '| case | steps | final loss (mean of the last 50 steps) |\n|---|---|---|\n'
for c in "${cases[@]}"; do
  json=$(dotnet bench/bin/Release/net10.0/Bench.dll --worker "$c" --steps "$steps" --warmup 20 --batch-size 64 --threads 1)
  loss=$(printf '%s' "$json" | sed -n 's/.*"final_loss":\([^,}]*\).*/\1/p')
  printf '| %s | %s | %s |\n' "$c" "$steps" "$loss"
done
