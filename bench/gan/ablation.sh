#!/usr/bin/env bash
# The GAN ablation (bench/gan/README.md): DCGAN-A trained with each technique beyond the sources added alone and in
# combinations, for a few seeds, then one table of sample quality and speed from the runs' metrics.json.
#
#   bench/gan/ablation.sh [--epochs E] [--seeds "1 2"] [--model dcgan] [--batch-size 128] [--threads 2]
#                         [--out bench/gan/runs] [--only NAME] [--table]
#
# Each configuration is a line "name|--set k=v --set k=v" of bench/gan/configurations.txt (the rows of the README's
# tables; override with GAN_ABLATION_CONFIGS, one per line).
# A finished run (its metrics.json says completed) is not trained again, so an interrupted ablation continues where it
# stopped; --table only prints the table of what has run. Needs MNIST in the cache and the MNIST feature network
# (`generative data fetch mnist`, `generative features train --dataset mnist`).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

epochs=5
seeds="1 2"
model=dcgan
batch=128
threads=2
out=bench/gan/runs
only=""
table_only=false
while [[ $# -gt 0 ]]; do
    case "$1" in
        --epochs) epochs="$2"; shift 2 ;;
        --seeds) seeds="$2"; shift 2 ;;
        --model) model="$2"; shift 2 ;;
        --batch-size) batch="$2"; shift 2 ;;
        --threads) threads="$2"; shift 2 ;;
        --out) out="$2"; shift 2 ;;
        --only) only="$2"; shift 2 ;;
        --table) table_only=true; shift ;;
        *) echo "unknown argument: $1 (see the header of $0)" >&2; exit 2 ;;
    esac
done

configs="${GAN_ABLATION_CONFIGS:-$(cat bench/gan/configurations.txt)}"

cli=src/Cli/bin/Release/net10.0/Generative.Cli.dll
if [[ ! -f "$cli" ]]; then dotnet build src/Cli -c Release -nologo -v:q; fi
mkdir -p "$out"

if [[ "$table_only" == false ]]; then
    echo "load before: $(uptime)"
    while IFS='|' read -r name sets; do
        [[ -z "$name" ]] && continue
        [[ -n "$only" && "$name" != "$only" ]] && continue
        for seed in $seeds; do
            folder="$out/$model-$name-seed$seed-e$epochs"
            if [[ -f "$folder/metrics.json" ]] && jq -e '.status == "completed"' "$folder/metrics.json" >/dev/null; then
                echo "done already: $folder"
                continue
            fi
            rm -rf "$folder"
            echo "training $folder ($sets)"
            # shellcheck disable=SC2086
            dotnet "$cli" --threads "$threads" train "$model" --epochs "$epochs" --batch-size "$batch" --seed "$seed" \
                $sets --run-folder "$folder" > "$folder.log" 2>&1 || { echo "failed: see $folder.log" >&2; exit 1; }
        done
    done <<< "$configs"
    echo "load after: $(uptime)"
fi

# One row per configuration and seed: the end-of-run metrics on 10,000 generated images, steps per second of training
# (metrics.json's steps over the epochs' time, which leaves out the evaluation and the per-epoch test metrics).
echo
echo "| configuration | seed | epochs | Frechet distance | inception score | largest class share | steps/s |"
echo "|---|---|---|---|---|---|---|"
while IFS='|' read -r name _; do
    [[ -z "$name" ]] && continue
    for seed in $seeds; do
        file="$out/$model-$name-seed$seed-e$epochs/metrics.json"
        [[ -f "$file" ]] || continue
        jq -r --arg name "$name" --arg seed "$seed" '
            def metric(n): (.metrics[] | select(.name == n) | .value);
            "| \($name) | \($seed) | \(.epochsTrained) | \(metric("Frechet distance") * 10 | round / 10) | \(metric("inception score") * 100 | round / 100) | \(metric("largest predicted-class share") * 1000 | round / 1000) | \(.steps / .trainingSeconds * 10 | round / 10) |"' "$file"
    done
done <<< "$configs"
