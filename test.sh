#!/usr/bin/env bash
# Runs the test suites: the F# library tests (Expecto + FsCheck) and the C# facade tests (xunit).
#   ./test.sh          the default suite (fast; what CI runs)
#   ./test.sh long     the long training checks: real MNIST and Fashion-MNIST, about 30 minutes of training
#   ./test.sh long --filter-test-case cls-mlp    one of them (Expecto's options pass through)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
mode="${1:-default}"
if [ $# -gt 0 ]; then shift; fi
case "$mode" in
  default)
    dotnet build Generative.sln -c Release -nologo -clp:ErrorsOnly -v:q
    # The F# example scripts run against the CLI's Release build (examples/FSharp/Load.fsx): typecheck them against it.
    for script in examples/FSharp/*.fsx; do dotnet fsi --typecheck-only "$script"; done
    dotnet run --project tests/Models.Tests -c Release --no-build -- --summary
    dotnet test tests/Api.Tests -c Release --no-build -nologo
    ;;
  long)
    dotnet build tests/Models.Tests -c Release -nologo -clp:ErrorsOnly -v:q
    dotnet run --project tests/Models.Tests -c Release --no-build -- --long --summary "$@"
    ;;
  *) echo "usage: ./test.sh [long]" >&2; exit 2 ;;
esac
