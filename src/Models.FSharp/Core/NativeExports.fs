namespace Generative

open System.Runtime.InteropServices

/// Finding functions in native libraries the process can load (the C library's loader, libtorch's C++ methods).
[<RequireQualifiedAccess>]
module NativeExports =
    /// The addresses of `exports`, in order, from the first of `libraries` (names the loader resolves, e.g.
    /// "libc.so.6") that loads and exports them all; None when none does.
    let tryFind (libraries: string list) (exports: string list) : nativeint list option =
        libraries
        |> List.tryPick (fun name ->
            match NativeLibrary.TryLoad name with
            | true, library ->
                let found = exports |> List.choose (fun e -> match NativeLibrary.TryGetExport(library, e) with | true, p -> Some p | _ -> None)
                if found.Length = exports.Length then Some found else None
            | _ -> None)
