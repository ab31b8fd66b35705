#!/usr/bin/env bash
# Sets everything up and runs the main job: builds the `generative` command, fetches and verifies MNIST,
# trains AE-LIN for one epoch and writes its run folder (report.html, samples/, checkpoints/, metrics.csv).
# Extra arguments go to `generative train`, e.g. ./run.sh --epochs 5
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
command -v dotnet >/dev/null || { echo "The .NET 10 SDK is needed: https://dotnet.microsoft.com/download" >&2; exit 1; }
./generative data fetch mnist
./generative train ae-linear --dataset mnist --epochs 1 "$@"
