#!/usr/bin/env bash
# The cost per step of each GAN technique (bench/gan/README.md): the bench's worker for DCGAN-A on synthetic data, with
# each configuration of bench/gan/configurations.txt, in alternating rounds; a table of steps/s (median, min–max) and
# the ratio to the source configuration's median, with the load average before each run.
#
#   bench/gan/cost.sh [--steps 150] [--warmup 15] [--rounds 3] [--threads 2] [--case dcgan]
#
# Speeds are results only on a quiet machine: the load average before each run should be near the thread count.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

steps=150
warmup=15
rounds=3
threads=2
case_name=dcgan
while [[ $# -gt 0 ]]; do
    case "$1" in
        --steps) steps="$2"; shift 2 ;;
        --warmup) warmup="$2"; shift 2 ;;
        --rounds) rounds="$2"; shift 2 ;;
        --threads) threads="$2"; shift 2 ;;
        --case) case_name="$2"; shift 2 ;;
        *) echo "unknown argument: $1 (see the header of $0)" >&2; exit 2 ;;
    esac
done

bench=bench/bin/Release/net10.0/Bench.dll
[[ -f "$bench" ]] || dotnet build bench -c Release -nologo -v:q
configs="${GAN_ABLATION_CONFIGS:-$(cat bench/gan/configurations.txt)}"
declare -A speeds loads
names=()
while IFS='|' read -r name _; do [[ -n "$name" ]] && names+=("$name"); done <<< "$configs"

for round in $(seq 1 "$rounds"); do
    while IFS='|' read -r name sets; do
        [[ -z "$name" ]] && continue
        load=$(cut -d' ' -f1 /proc/loadavg)
        # shellcheck disable=SC2086
        speed=$(dotnet "$bench" --worker "$case_name" --steps "$steps" --warmup "$warmup" --threads "$threads" $sets |
            jq -r '.steps_per_second')
        echo "round $round/$rounds: $name $speed steps/s (load before $load)" >&2
        speeds[$name]="${speeds[$name]:-} $speed"
        loads[$name]="${loads[$name]:-} $load"
    done <<< "$configs"
done

# Median of a list of numbers (the middle one; the lower middle for an even count).
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
source_median=$(echo "${speeds[${names[0]}]}" | median)
echo "$case_name, $steps steps ($warmup warm-up), batch 128, $threads threads, $rounds alternating rounds, $(date -u +%Y-%m-%dT%H:%MZ)"
echo
echo "| configuration | steps/s, median (min–max) | cost per step against ${names[0]} | load averages before each run |"
echo "|---|---|---|---|"
for name in "${names[@]}"; do
    list="${speeds[$name]}"
    m=$(echo "$list" | median)
    lo=$(echo "$list" | tr ' ' '\n' | grep -v '^$' | sort -g | head -1)
    hi=$(echo "$list" | tr ' ' '\n' | grep -v '^$' | sort -g | tail -1)
    printf "| %s | %.2f (%.2f–%.2f) | %.2fx | %s |\n" "$name" "$m" "$lo" "$hi" "$(echo "$source_median / $m" | bc -l)" "$(echo ${loads[$name]} | sed 's/ /, /g')"
done
