#!/usr/bin/env bash
# Proves the packages work for someone outside the repository (issue #13). It packs Generative, Generative.CSharp and
# Generative.Runtime.Cpu into a temporary folder, then, in a temporary directory outside the repository (so none of the
# repository's Directory.Build.* files, lock files or settings apply):
#   1. creates a C# console app with `dotnet new` that references Generative.CSharp only, and checks that its build
#      stops with GENERATIVE001 naming Generative.Runtime.Cpu;
#      Built past that check (GenerativeSkipRuntimeCheck=true), it must fail at run time with an error that names it;
#   2. adds Generative.Runtime.Cpu, builds and runs it (tests/Outside/CSharp/Program.cs: train a tiny VAE on generated
#      images, sample, save, load, compare), then publishes it and runs the published copy;
#   3. creates an F# console app referencing Generative and Generative.Runtime.Cpu and runs the same check through the
#      F# API (tests/Outside/FSharp/Program.fs);
#   4. checks that TorchSharp's native bridge in the NuGet cache was left unchanged.
# Restores use the local folder plus the machine's default NuGet configuration: the temporary nuget.config only adds
# the folder. The packages get a version of their own (<prefix>-outside.<time>.<pid>), so the NuGet cache never serves a stale
# copy from an earlier run; those cache entries are removed at the end.
#     .ci/outside.sh                            (CI runs it after ./test.sh; about 3 minutes on 2 cores)
#     GENERATIVE_OUTSIDE_KEEP=1 .ci/outside.sh  keeps the temporary folder (apps, logs, packages) to look into
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

tmp=$(mktemp -d "${TMPDIR:-/tmp}/generative-outside.XXXXXX")
case "$tmp/" in "$repo"/*) echo "outside.sh: the temporary folder $tmp is inside the repository" >&2; exit 1 ;; esac
# The FSharp.Core version the library is built with (central package management), which F# consumers reference.
fsharp_core=$(sed -n 's:.*<PackageVersion Include="FSharp.Core" Version="\(.*\)" />.*:\1:p' "$repo/Directory.Packages.props")
prefix=$(sed -n 's:.*<VersionPrefix>\(.*\)</VersionPrefix>.*:\1:p' "$repo/build/Package.props")
version="$prefix-outside.$(date -u +%Y%m%d%H%M%S).$$"
cache=$(dotnet nuget locals global-packages --list | sed 's/^global-packages: *//')
cleanup() {
  if [ "${GENERATIVE_OUTSIDE_KEEP:-}" = 1 ]; then echo "outside.sh: kept $tmp and the $version packages in the NuGet cache"
  else
    rm -rf "$tmp"
    for id in generative generative.csharp generative.runtime.cpu; do
      rm -rf "${cache%/}/$id/$version"
      rmdir "${cache%/}/$id" 2>/dev/null || true
    done
  fi
}
trap cleanup EXIT
fail() { echo "outside.sh: FAILED: $*" >&2; exit 1; }
step() { echo "== outside: $*"; }
[ -n "$prefix" ] && [ -n "$fsharp_core" ] || fail "could not read VersionPrefix (build/Package.props) or FSharp.Core's version (Directory.Packages.props)"
# Runs a command with its output in a log, shown (its errors first) only when the command fails. The consumer builds
# treat warnings as errors: a new user following the README should see none (restore's NU1605/NU1603 included).
quiet() {
  local log; log=$(mktemp "$tmp/log.XXXXXX")
  "$@" > "$log" 2>&1 || { grep -E " error " "$log" >&2 || cat "$log" >&2; fail "$*"; }
}

# The consumer must see no MSBuild or NuGet file of the repository's (they are looked up the folder tree).
d="$tmp"
while [ "$d" != "/" ]; do
  for f in Directory.Build.props Directory.Build.targets Directory.Packages.props global.json; do
    if [ -e "$d/$f" ]; then fail "$d/$f would apply to the consumer apps; set TMPDIR to a folder outside any project"; fi
  done
  d=$(dirname "$d")
done

step "pack $version"
quiet dotnet pack "$repo/Generative.sln" -c Release -nologo -v:q -o "$tmp/feed" -p:PackageVersion="$version"
for id in Generative Generative.CSharp Generative.Runtime.Cpu; do
  [ -f "$tmp/feed/$id.$version.nupkg" ] || fail "dotnet pack did not make $id.$version.nupkg"
done
[ "$(ls "$tmp/feed" | wc -l)" -eq 3 ] || fail "expected exactly 3 packages, got: $(ls "$tmp/feed" | tr '\n' ' ')"

# Adds the local folder to whatever sources the machine's NuGet configuration already has.
cat > "$tmp/nuget.config" <<EOF
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <add key="generative-outside" value="$tmp/feed" />
  </packageSources>
</configuration>
EOF

bridge="${cache%/}/torchsharp/0.107.0/runtimes/linux-x64/native/libLibTorchSharp.so"
[ -f "$bridge" ] && cached_before=$(sha256sum "$bridge" | cut -d' ' -f1) || cached_before=""

step "C# console app without a runtime package: the build must name the package to add"
cd "$tmp"
quiet dotnet new console -lang "C#" -n Consumer -o cs --no-update-check
cp "$repo/tests/Outside/CSharp/Program.cs" cs/Program.cs
quiet dotnet add cs package Generative.CSharp --version "$version" --no-restore
if dotnet build cs -c Release -nologo -v:q > "$tmp/no-runtime.log" 2>&1; then
  fail "the build without a runtime package succeeded; expected error GENERATIVE001"
fi
grep -q "error GENERATIVE001" "$tmp/no-runtime.log" && grep -q 'Include="Generative.Runtime.Cpu" Version="'"$version"'"' "$tmp/no-runtime.log" \
  || { cat "$tmp/no-runtime.log" >&2; fail "the build failed, but not with GENERATIVE001 naming Generative.Runtime.Cpu $version"; }
echo "ok: the build stops with GENERATIVE001 and names Generative.Runtime.Cpu $version"

step "the same app built past that check: at run time, the error must name the package to add"
quiet dotnet build cs -c Release -nologo -v:q -p:GenerativeSkipRuntimeCheck=true
if dotnet run --project cs -c Release --no-build -- "$tmp/cs-no-runtime" > "$tmp/no-runtime-run.log" 2>&1; then
  fail "the app without a runtime package ran; expected libtorch's load to fail"
fi
grep -q 'libtorch could not be loaded. An app using the Generative packages needs one native runtime package: <PackageReference Include="Generative.Runtime.Cpu"' "$tmp/no-runtime-run.log" \
  || { cat "$tmp/no-runtime-run.log" >&2; fail "the app without a runtime failed, but its error does not name Generative.Runtime.Cpu"; }
echo "ok: GenerativeContext's error names Generative.Runtime.Cpu"

step "C# console app with Generative.Runtime.Cpu: build and run"
quiet dotnet add cs package Generative.Runtime.Cpu --version "$version" --no-restore
quiet dotnet build cs -c Release -nologo -v:q -p:TreatWarningsAsErrors=true
if [ -d cs/bin/Release/net10.0/cpu ]; then fail "TorchSharp's unpatched fallback folder cpu/ is in the build output"; fi
dotnet run --project cs -c Release --no-build -- "$tmp/cs-run"

step "C# console app: publish and run the published copy"
quiet dotnet publish cs -c Release -nologo -v:q -o "$tmp/cs-publish"
if [ -d "$tmp/cs-publish/cpu" ]; then fail "TorchSharp's unpatched fallback folder cpu/ is in the publish output"; fi
dotnet "$tmp/cs-publish/Consumer.dll" "$tmp/cs-publish-run"

step "F# console app with Generative and Generative.Runtime.Cpu: build and run"
quiet dotnet new console -lang "F#" -n FsConsumer -o fs --no-update-check
cp "$repo/tests/Outside/FSharp/Program.fs" fs/Program.fs
quiet dotnet add fs package Generative --version "$version" --no-restore
quiet dotnet add fs package Generative.Runtime.Cpu --version "$version" --no-restore
# As the README says: an F# project raises the SDK's implicit FSharp.Core to the version Generative was built with
# (`dotnet add package FSharp.Core` refuses, the reference being the SDK's); without it, restore warns NU1605.
sed -i 's#^\(\s*\)\(<PackageReference Include="Generative" .*\)$#\1\2\n\1<PackageReference Update="FSharp.Core" Version="'"$fsharp_core"'" />#' fs/FsConsumer.fsproj
grep -q 'Update="FSharp.Core"' fs/FsConsumer.fsproj || fail "could not add the FSharp.Core version to fs/FsConsumer.fsproj"
quiet dotnet build fs -c Release -nologo -v:q -p:TreatWarningsAsErrors=true
dotnet run --project fs -c Release --no-build -- "$tmp/fs-run"

step "the NuGet cache's copy of TorchSharp's native bridge is unchanged"
if [ -n "$cached_before" ]; then
  [ "$(sha256sum "$bridge" | cut -d' ' -f1)" = "$cached_before" ] || fail "$bridge changed during the check"
  echo "ok: $bridge unchanged"
fi
step "all checks passed"
