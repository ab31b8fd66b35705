#!/usr/bin/env bash
# Runs every example on tiny settings (issue #13): each examples/FSharp/*.fsx script with `dotnet fsi`, and each C#
# example app of examples/CSharp, with GENERATIVE_EXAMPLE_SMOKE=1, which gives them a small generated stand-in for MNIST
# and a short generated text (read in examples/FSharp/Load.fsx and examples/CSharp/Shared/ExampleData.cs only), so no
# example touches the network or reads a data set, and one epoch is a few steps. Fails naming the example that failed.
#     ./test.sh examples      (builds the solution first, then runs this; about 3 minutes on 2 cores)
# Every example runs in a fresh temporary folder (its current folder and TMPDIR), which is removed afterwards, so the
# pictures, models and run folders it writes never land in the repository.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export GENERATIVE_EXAMPLE_SMOKE=1
tmp=$(mktemp -d "${TMPDIR:-/tmp}/generative-examples.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
failed=()

# Runs "$@" in a new folder under $tmp, its output kept in a log and shown when it fails.
run() {
  local name=$1; shift
  local dir="$tmp/$name"
  mkdir -p "$dir/tmp"
  # The C# text example reads README.md from its current folder by default, as when run from the repository's root.
  cp "$repo/README.md" "$dir/"
  local started=$SECONDS
  if (cd "$dir" && TMPDIR="$dir/tmp" "$@") > "$dir.log" 2>&1; then
    echo "example ok: $name ($((SECONDS - started)) s)"
  else
    cat "$dir.log" >&2
    echo "example FAILED: $name (its output is above)" >&2
    failed+=("$name")
  fi
  rm -rf "$dir"
}

for script in "$repo"/examples/FSharp/*.fsx; do
  # Load.fsx is what the others load, not an example.
  [ "$(basename "$script")" = Load.fsx ] && continue
  run "examples/FSharp/$(basename "$script")" dotnet fsi "$script"
done
for project in "$repo"/examples/CSharp/*/*.csproj; do
  name=$(basename "$project" .csproj)
  run "examples/CSharp/$name" dotnet "$(dirname "$project")/bin/Release/net10.0/$name.dll"
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "examples: FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "examples: every example ran on generated data"
