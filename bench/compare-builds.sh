#!/usr/bin/env bash
# Compares two builds of the library on the same cases, alternating, in fresh processes: what a change bought.
#     bench/compare-builds.sh BEFORE_BENCH_DLL AFTER_BENCH_DLL THREADS ROUNDS "case steps warmup" ...
# e.g. build the old commit's bench in a worktree, then
#     bench/compare-builds.sh ../old/bench/bin/Release/net10.0/Bench.dll bench/bin/Release/net10.0/Bench.dll 1 3 \
#         "ae-linear 2500 400" "ae-deep 1500 300"
# BATCH_SIZE (default 128) and EXTRA_FLAGS (e.g. "--data FOLDER") go to every worker.
# Prints a Markdown table of the median steps/s of each build (min-max) and after/before, with the load average
# before each measurement. Quote it only when the load stays near THREADS (the machine is shared).
set -euo pipefail
before=${1:?usage: see the header}; after=${2:?}; threads=${3:?}; rounds=${4:?}; shift 4
speed() { # dll case steps warmup -> steps/s
  # The harness's worker setting (bench/Harness.fs, workerEnvironment): methods reach their final code in the warm-up.
  DOTNET_TC_AggressiveTiering=1 dotnet "$1" --worker "$2" --steps "$3" --warmup "$4" --batch-size "${BATCH_SIZE:-128}" --threads "$threads" ${EXTRA_FLAGS:-} | jq -r '.steps_per_second'
}
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "| case | threads | before steps/s (min-max) | after steps/s (min-max) | after/before | load averages |"
echo "|---|---|---|---|---|---|"
for spec in "$@"; do
  read -r name steps warmup <<< "$spec"
  b=(); a=(); loads=()
  for _ in $(seq "$rounds"); do
    loads+=("$(cut -d' ' -f1 /proc/loadavg)")
    b+=("$(speed "$before" "$name" "$steps" "$warmup")")
    loads+=("$(cut -d' ' -f1 /proc/loadavg)")
    a+=("$(speed "$after" "$name" "$steps" "$warmup")")
  done
  bm=$(printf '%s\n' "${b[@]}" | median); am=$(printf '%s\n' "${a[@]}" | median)
  range() { printf '%s\n' "$@" | sort -g | sed -n '1p;$p' | paste -sd- | awk -F- '{printf "%.2f-%.2f", $1, $2}'; }
  printf "| %s | %s | %.2f (%s) | %.2f (%s) | %.2fx | %s |\n" "$name" "$threads" "$bm" "$(range "${b[@]}")" "$am" \
    "$(range "${a[@]}")" "$(echo "$am / $bm" | bc -l)" "${loads[*]}"
done
