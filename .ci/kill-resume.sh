#!/usr/bin/env bash
# A long, manual check (not run by CI; a few minutes): a run killed with SIGKILL at a random time and resumed ends with
# exactly the weights, optimiser state and metrics of an uninterrupted run, and the kill loses at most one checkpoint
# interval of training.
#   .ci/kill-resume.sh [model] [epochs] [checkpoint-minutes]      default: vae 3 0.1
# Needs MNIST in the cache (./generative data fetch mnist) and a Release build of the CLI.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
model="${1:-vae}" epochs="${2:-3}" minutes="${3:-0.1}"
cli="dotnet src/Cli/bin/Release/net10.0/Generative.Cli.dll"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
settings=(--epochs "$epochs" --checkpoint-minutes "$minutes" --seed 7 --threads 1)

start=$(date +%s.%N)
$cli train "$model" "${settings[@]}" --run-folder "$work/whole" > "$work/whole.log" 2>&1
whole_seconds=$(echo "$(date +%s.%N) - $start" | bc)
echo "uninterrupted: ${whole_seconds} s"

# Kill somewhere in the middle 80% of the training (the epochs' durations the log gives, after a start-up of about 3 s),
# not in the evaluation that follows it.
training_seconds=$(tr '\r' '\n' < "$work/whole.log" | grep -oE '^epoch [0-9]+/[0-9]+  .*\(([0-9.]+) s\)$' | grep -oE '[0-9.]+ s\)$' | tr -d ' s)' | paste -sd+ | bc)
echo "training: ${training_seconds} s of it"
kill_at=$(python3 -c "import random; print(round(3 + random.uniform(0.1, 0.9) * $training_seconds, 1))")
# Started directly (not in a function or subshell), so $! is the training process itself.
$cli train "$model" "${settings[@]}" --run-folder "$work/killed" > "$work/killed.log" 2>&1 &
pid=$!
sleep "$kill_at"
kill -9 "$pid"
killed_utc=$(date -u +%s.%N)
wait "$pid" 2>/dev/null || true
# The last step the killed run reported (progress lines are rewritten in place), and the newest checkpoint it left.
reached=$(tr '\r' '\n' < "$work/killed.log" | grep -oE 'epoch [0-9]+/[0-9]+  step [0-9]+/[0-9]+' | tail -1 || true)
latest=$(cat "$work/killed/checkpoints/latest" 2>/dev/null || echo none)
echo "killed after ${kill_at} s; last progress line: ${reached:-none}; newest checkpoint: $latest"
if [ -n "$reached" ]; then
    python3 - "$reached" "$latest" <<'PY'
import re, sys
epoch, _, step, per_epoch = map(int, re.findall(r"\d+", sys.argv[1]))
reached = (epoch - 1) * per_epoch + step
saved = int(sys.argv[2].split("-")[1]) if sys.argv[2] != "none" else 0
print(f"steps reached at least {reached} (progress is printed every few seconds), saved {saved}")
PY
fi
if [ "$latest" != none ]; then
    python3 - "$work/killed/checkpoints/$latest/manifest.json" "$killed_utc" "$minutes" <<'PY'
import json, sys, datetime
created = datetime.datetime.fromisoformat(json.load(open(sys.argv[1]))["createdUtc"].replace("Z", "+00:00").split(".")[0] + "+00:00")
lost = float(sys.argv[2]) - created.timestamp()
print(f"the newest checkpoint was written about {lost:.0f} s before the kill (interval {float(sys.argv[3]) * 60:.0f} s, plus epoch ends)")
PY
fi

$cli train --resume "$work/killed" --threads 1 > "$work/resumed.log" 2>&1
grep -m1 "resumed from" "$work/resumed.log" || true

final() { cat "$1/checkpoints/latest"; }
a="$work/whole/checkpoints/$(final "$work/whole")"
b="$work/killed/checkpoints/$(final "$work/killed")"
status=0
for f in weights.safetensors rng.safetensors $(cd "$a" && ls optimizer-*.bin); do
    if cmp -s "$a/$f" "$b/$f"; then echo "identical: $f"; else echo "DIFFERENT: $f"; status=1; fi
done
# metrics.csv: every column but the epoch durations (column 4).
if diff <(cut -d, -f1-3,5- "$work/whole/metrics.csv") <(cut -d, -f1-3,5- "$work/killed/metrics.csv") > /dev/null; then
    echo "identical: metrics.csv (every step's and epoch's terms; durations aside)"
else echo "DIFFERENT: metrics.csv"; status=1; fi
exit $status
