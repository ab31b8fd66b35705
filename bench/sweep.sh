#!/usr/bin/env bash
# Every bench case at each thread count, alternating rounds, into one summary table (see README.md, "All cases").
#
#   bench/sweep.sh OUT_DIR [ROUNDS] [THREADS...]      e.g. bench/sweep.sh /tmp/sweep 3 1 2
#
# Synthetic data for the image models (speed does not depend on pixel values); the language models read
# tiny-shakespeare from $TEXT_DATA (a folder holding tinyshakespeare.txt; default the data cache's folder, filled by
# `./generative data fetch tiny-shakespeare`) and the Jargon File from the data cache (`./generative data fetch jargon`). Steps are chosen so each measurement times about 5 s at one thread,
# after a warm-up long enough for .NET's tiered JIT to settle (short runs otherwise time unoptimised code).
# Each case runs at every thread count before the next case starts, so a case's thread counts are measured minutes
# apart, not a whole sweep apart: the VM's speed drifts over tens of minutes, and scaling measured across that drift
# is not scaling. Each case's full report goes to OUT_DIR/<case>-t<threads>.md; OUT_DIR/summary.md collects one row
# per case and thread count; OUT_DIR/scaling.md gives each case's speed at every thread count over its speed at the
# first, ours and PyTorch's (medians); OUT_DIR/efficiency.md gives each case's matrix products in GFLOP/s (bench/Flops.fs
# counts them) as a share of the GEMM probe's at the same thread count, when the sweep includes the gemm case.
# SWEEP_CASES=REGEX runs only the cases whose names match it (e.g. SWEEP_CASES='-bf16$'). On a CPU without native
# bfloat16 the -bf16 cases are skipped unless SWEEP_CASES is given.
set -euo pipefail
out=${1:?usage: bench/sweep.sh OUT_DIR [ROUNDS] [THREADS...]}
rounds=${2:-3}
shift $(( $# >= 2 ? 2 : $# ))
threads=("$@")
[ ${#threads[@]} -gt 0 ] || threads=(1 2)
here=$(cd "$(dirname "$0")" && pwd)
bench="$here/bin/Release/net10.0/Bench.dll"
[ -f "$bench" ] || { echo "build the bench first: dotnet build bench -c Release" >&2; exit 1; }
text=${TEXT_DATA:-$HOME/.cache/generative/tiny-shakespeare}
mkdir -p "$out"

# case steps warm-up batch [extra flags]
cases=(
  "ae-linear 2500 400 128"
  "ae-deep 1500 300 128"
  "ae-3d 1500 300 128"
  "ae-denoise 2000 400 128"
  "ae-conv 500 100 128"
  "vae 600 100 128"
  "cls-mlp 4000 800 128"
  "cls-lenet 500 100 128"
  "cls-cnn 35 10 128"
  "cls-pyr 10000 2000 128"
  "gan-mlp 400 70 128"
  "lsgan 220 40 128"
  "dcgan 24 8 128"
  "dcgan-keras 9 4 128"
  "aae 60 10 128"
  "aae-s 60 10 128"
  "ae-linear-bf16 2500 400 128"
  "ae-conv-bf16 500 100 128"
  "vae-bf16 600 100 128"
  "cls-mlp-bf16 4000 800 128"
  "cls-lenet-bf16 500 100 128"
  "cls-cnn-bf16 35 10 128"
  "gan-mlp-bf16 400 70 128"
  "lsgan-bf16 220 40 128"
  "dcgan-bf16 24 8 128"
  "dcgan-keras-bf16 9 4 128"
  "aae-bf16 60 10 128"
  "char-lstm 18 6 64 --data $text"
  "char-lstm-bf16 18 6 64 --data $text"
  "word-lstm 12 5 64"
  "gemm 300 50 128"
  "gemm-bf16 1100 200 128"
  "adam-step 3000 300 128"
  "adam-step-torchsharp 3000 300 128"
)

summary="$out/summary.md"
{
  echo "Sweep of $(date -u +%Y-%m-%dT%H:%MZ), $rounds rounds, $(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
  echo
  echo "| case | threads | steps | ours steps/s (min–max) | PyTorch steps/s (min–max) | ratio | ours peak MB | PyTorch peak MB | GFLOP/s ours / PyTorch | load averages |"
  echo "|---|---|---|---|---|---|---|---|---|---|"
} > "$summary"
# Without native bfloat16 (AVX512-BF16 or AMX) libtorch emulates it, about 75 times slower than fp32 for matrix
# products: the -bf16 cases would take hours and measure nothing useful, so they are left out unless SWEEP_CASES asks.
native_bf16=false
grep -qwE 'avx512_bf16|amx_bf16' /proc/cpuinfo 2>/dev/null && native_bf16=true
[[ "$native_bf16" == false && -z "${SWEEP_CASES:-}" ]] &&
  echo "this CPU has no native bfloat16 (no avx512_bf16 or amx_bf16 flag): the -bf16 cases are left out" >&2
for spec in "${cases[@]}"; do
  read -r name steps warmup batch extra <<< "$spec"
  [[ "$name" =~ ${SWEEP_CASES:-.} ]] || continue
  [[ "$native_bf16" == false && -z "${SWEEP_CASES:-}" && "$name" == *-bf16 ]] && continue
  for t in "${threads[@]}"; do
    report="$out/$name-t$t.md"
    echo "== $name, $t thread(s) ($(cut -d' ' -f1-3 /proc/loadavg))" >&2
    # shellcheck disable=SC2086
    dotnet "$bench" "$name" --steps "$steps" --warmup "$warmup" --batch-size "$batch" --threads "$t" --rounds "$rounds" $extra > "$report"
    awk -F'|' -v name="$name" -v t="$t" -v steps="$steps" '
      /^\| Generative/ { ours = $6; oursMb = $7 }
      /^\| PyTorch/    { theirs = $6; theirsMb = $7 }
      /^Speed ratio/   { ratio = $0; sub(/.*: /, "", ratio) }
      /^Load average/  { loads = $0; sub(/.*in order: /, "", loads); sub(/ \(.*/, "", loads) }
      /^Matrix products/ { rate = $0; sub(/.*: ours /, "", rate); sub(/ GFLOP\/s, PyTorch /, " / ", rate); sub(/ GFLOP\/s \(.*/, "", rate) }
      END { gsub(/^ +| +$/, "", ours); gsub(/^ +| +$/, "", theirs); gsub(/ /, "", oursMb); gsub(/ /, "", theirsMb)
            if (rate == "") rate = "–"
            printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", name, t, steps, ours, theirs, ratio, oursMb, theirsMb, rate, loads }
    ' "$report" >> "$summary"
  done
done
# Scaling: each case's median speed at every thread count over its speed at the first thread count.
scaling="$out/scaling.md"
awk -F'|' -v first="${threads[0]}" '
  BEGIN { print "| case | threads | ours speed-up | PyTorch speed-up |"; print "|---|---|---|---|" }
  NR > 4 {
    name = $2; t = $3; gsub(/ /, "", name); gsub(/ /, "", t)
    ours = $5; theirs = $6; sub(/ *\(.*/, "", ours); sub(/ *\(.*/, "", theirs); gsub(/ /, "", ours); gsub(/ /, "", theirs)
    if (t == first) { base[name] = ours; baseTheirs[name] = theirs; next }
    o = (base[name] + 0 > 0) ? sprintf("%.2fx", ours / base[name]) : "-"
    p = (baseTheirs[name] + 0 > 0 && theirs + 0 > 0) ? sprintf("%.2fx", theirs / baseTheirs[name]) : "-"
    printf "| %s | %s | %s | %s |\n", name, t, o, p
  }' "$summary" > "$scaling"
# Efficiency: each case's matrix-product throughput over the GEMM probe's at the same thread count, when the sweep
# ran the probe (SWEEP_CASES including gemm); each side against its own probe.
efficiency="$out/efficiency.md"
awk -F'|' '
  NR > 4 {
    name = $2; t = $3; rate = $10; gsub(/ /, "", name); gsub(/ /, "", t)
    split(rate, r, "/"); o = r[1] + 0; p = r[2] + 0
    if (name == "gemm") { peak[t] = o; peakTheirs[t] = p }
    names[++n] = name; threads[n] = t; ours[n] = o; theirs[n] = p
  }
  END {
    print "| case | threads | ours GFLOP/s | of our GEMM probe | PyTorch GFLOP/s | of its GEMM probe |"
    print "|---|---|---|---|---|---|"
    for (i = 1; i <= n; i++) {
      if (names[i] == "gemm" || ours[i] == 0) continue
      t = threads[i]
      a = (peak[t] > 0) ? sprintf("%.0f%%", 100 * ours[i] / peak[t]) : "–"
      b = (peakTheirs[t] > 0 && theirs[i] > 0) ? sprintf("%.0f%%", 100 * theirs[i] / peakTheirs[t]) : "–"
      printf "| %s | %s | %.1f | %s | %.1f | %s |\n", names[i], t, ours[i], a, theirs[i], b
    }
  }' "$summary" > "$efficiency"
cat "$summary" "$scaling" "$efficiency"
