#!/usr/bin/env bash
# Compiles the README's ```csharp and ```fsharp blocks, so they cannot drift from the library (issue #13). Fails, naming
# the README line, when one does not compile.
#     .ci/snippets.sh [MARKDOWN...]        (default README.md; ./test.sh runs it after building the solution)
# C#: .ci/extract-snippets.py puts every block into one method of a throwaway console project, made in a temporary
# folder outside the repository (as a reader's new project: the SDK's implicit usings, no repository build settings),
# that references src/Api.CSharp. Blocks are compiled, not run. A block may use the ambient variables ctx, mnist,
# progress and cancellationToken without declaring them (the list and their types are in extract-snippets.py).
# F#: every block is typechecked as a script in the repository's root (`dotnet fsi --typecheck-only`), as a reader
# runs it there: `#load "examples/FSharp/Load.fsx"` loads the CLI's Release build, which must be built first.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
[ $# -gt 0 ] || set -- README.md
tmp=$(mktemp -d "${TMPDIR:-/tmp}/generative-snippets.XXXXXX")
trap 'rm -rf "$tmp" "$repo"/.snippet-$$-*.fsx' EXIT
failed=0

for markdown in "$@"; do
  out="$tmp/$(echo "$markdown" | tr '/' '_')"
  .ci/extract-snippets.py "$markdown" "$out" > "$out.list"
  sed 's/^/snippet: /' "$out.list"

  if grep -q '^csharp ' "$out.list"; then
    cat > "$out/csharp/Snippets.csproj" <<EOF
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup>
    <OutputType>Exe</OutputType>
    <TargetFramework>net10.0</TargetFramework>
    <ImplicitUsings>enable</ImplicitUsings>
    <Nullable>enable</Nullable>
  </PropertyGroup>
  <ItemGroup>
    <ProjectReference Include="$repo/src/Api.CSharp/Api.CSharp.csproj" />
  </ItemGroup>
</Project>
EOF
    # The #line directives make the compiler name the Markdown file's lines.
    if ! (dotnet build "$out/csharp/Snippets.csproj" -c Release -nologo -v:q -clp:NoSummary \
            -p:BuildProjectReferences=false > "$out/csharp.log" 2>&1); then
      grep -E "(error|warning) [A-Z]+[0-9]+" "$out/csharp.log" | sed -e "s#^$repo/##" -e 's# \[[^]]*\]$##' | sort -u >&2 || cat "$out/csharp.log" >&2
      echo "snippets: FAILED: a \`\`\`csharp block of $markdown does not compile (the lines above name it)" >&2
      failed=1
    fi
  fi

  while read -r lang where; do
    [ "$lang" = fsharp ] || continue
    line=${where##*:}
    # In the repository's root, beside README.md, so relative #load paths resolve as for a reader.
    script="$repo/.snippet-$$-$line.fsx"
    cp "$out/fsharp/snippet-$line.fsx" "$script"
    if ! dotnet fsi --typecheck-only "$script" > "$out/fsharp-$line.log" 2>&1; then
      sed "s#^$repo/##" "$out/fsharp-$line.log" >&2
      echo "snippets: FAILED: the \`\`\`fsharp block at $where does not typecheck" >&2
      failed=1
    fi
    rm -f "$script"
  done < "$out.list"
done

[ "$failed" = 0 ] || exit 1
echo "snippets: every csharp and fsharp block compiles"
