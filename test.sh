#!/usr/bin/env bash
# Runs the test suites: the F# library tests (Expecto + FsCheck) and the C# facade tests (xunit).
#   ./test.sh          the default suite (fast; what CI runs), including the README's C# and F# snippets' compilation
#   ./test.sh examples every example (F# scripts, C# apps) on generated data and a few steps (CI runs it too)
#   ./test.sh long     the long training checks: real MNIST and Fashion-MNIST, about 30 minutes of training
#   ./test.sh long --filter-test-case cls-mlp    one of them (Expecto's options pass through)
#   ./test.sh fuzz     the readers' fuzz properties with 10,000 mutated inputs each (500 in the default suite)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
mode="${1:-default}"
if [ $# -gt 0 ]; then shift; fi
case "$mode" in
  default)
    dotnet build Generative.sln -c Release -nologo -clp:ErrorsOnly -v:q
    # The F# example scripts run against the CLI's Release build (examples/FSharp/Load.fsx): typecheck them against it.
    for script in examples/FSharp/*.fsx; do dotnet fsi --typecheck-only "$script"; done
    # The README's csharp and fsharp blocks must compile as written (a failure names the README line).
    .ci/snippets.sh
    dotnet run --project tests/Models.Tests -c Release --no-build -- --summary
    dotnet test tests/Api.Tests -c Release --no-build -nologo
    ;;
  examples)
    dotnet build Generative.sln -c Release -nologo -clp:ErrorsOnly -v:q
    .ci/examples.sh
    ;;
  long)
    dotnet build tests/Models.Tests -c Release -nologo -clp:ErrorsOnly -v:q
    dotnet run --project tests/Models.Tests -c Release --no-build -- --long --summary "$@"
    ;;
  fuzz)
    dotnet build tests/Models.Tests -c Release -nologo -clp:ErrorsOnly -v:q
    GENERATIVE_FUZZ_CASES="${GENERATIVE_FUZZ_CASES:-10000}" dotnet run --project tests/Models.Tests -c Release --no-build -- --summary --filter Fuzz "$@"
    ;;
  *) echo "usage: ./test.sh [examples|long|fuzz]" >&2; exit 2 ;;
esac
