#!/usr/bin/env bash
# Rebuilds the committed libgenerative_mkl_vendor_gate.so (x86-64 Linux) from mkl_vendor_gate.c. Needs gcc or cc.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out="$here/linux-x64/libgenerative_mkl_vendor_gate.so"
mkdir -p "$(dirname "$out")"
"${CC:-cc}" -O2 -shared -fPIC -s -Wl,--build-id=none -o "$out" "$here/mkl_vendor_gate.c"
nm -D --defined-only "$out" | grep -q ' T mkl_serv_intel_cpu_true$' || { echo "the built library does not export mkl_serv_intel_cpu_true" >&2; exit 1; }
echo "built $out ($(stat -c %s "$out") bytes)"
