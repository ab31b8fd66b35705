namespace Generative

open System
open System.IO
open TorchSharp
open TorchSharp.PyBridge

/// PyTorch `state_dict` files (`torch.save(model.state_dict(), "model.pth")`, the zip format of PyTorch 1.6 and
/// later), read through TorchSharp.PyBridge. Reading only: the library writes safetensors (`SafeTensors`), which
/// PyTorch reads with the lines in docs/pytorch.md.
[<RequireQualifiedAccess>]
module PyTorchWeights =
    /// How to write a file this module reads, for error messages.
    let saveRecipe = "torch.save(model.state_dict(), 'model.pth')"

    /// Whether the file at `path` is a PyTorch state dict by its content: a zip archive (the first four bytes are
    /// `PK\x03\x04`), where a safetensors file starts with its header's length. False for a missing or shorter file.
    let isStateDictFile (path: string) =
        File.Exists path
        && (use stream = File.OpenRead path
            let head = Array.zeroCreate<byte> 4
            stream.ReadAtLeast(head.AsSpan(), 4, false) = 4 && head = [| 0x50uy; 0x4Buy; 0x03uy; 0x04uy |])

    /// Reads a PyTorch state dict (TorchSharp.PyBridge's `PyTorchUnpickler`): its tensors by name (sorted), on the
    /// CPU, with the file's dtypes and shapes. FileNotFoundException when there is no file; InvalidDataException
    /// naming the file when it is not a dictionary of tensors PyBridge reads (a whole pickled model, the pre-1.6
    /// format, a training checkpoint holding more than tensors, a damaged file). The caller disposes the tensors.
    let read (path: string) : (string * Tensor) list =
        if not (File.Exists path) then raise (FileNotFoundException(sprintf "%s: PyTorch weights file not found" path, path))
        if not (isStateDictFile path) then
            raise (InvalidDataException(
                sprintf "%s: not a PyTorch state dict (not a zip archive: a file of PyTorch before 1.6, or saved with _use_new_zipfile_serialization=False, or not PyTorch's at all); save it with %s" path saveRecipe))
        let table =
            try
                use stream = File.OpenRead path
                PyTorchUnpickler.UnpickleStateDict(stream, false, false)
            with e ->
                // libtorch's messages go on with a native stack trace: the first line says what went wrong.
                let firstLine = e.Message.Split('\n').[0].Trim()
                raise (InvalidDataException(
                    sprintf "%s: not a PyTorch state dict this library reads (%s: %s); it needs a dictionary of whole tensors (no views of a larger tensor: save {k: v.clone() for k, v in sd.items()} then), saved with %s" path (e.GetType().Name) firstLine saveRecipe, e))
        let entries = [ for k in table.Keys -> k, table.[k] ]
        let dispose () = for (_, v) in entries do match v with :? Tensor as t -> t.Dispose() | _ -> ()
        match entries |> List.tryFind (fun (k, v) -> not (k :? string) || not (v :? Tensor)) with
        | Some (k, v) ->
            dispose ()
            raise (InvalidDataException(
                sprintf "%s: entry '%O' is a %s, not a tensor: is this a training checkpoint? Save only the model's weights with %s" path k (if isNull v then "None" else v.GetType().Name) saveRecipe))
        | None -> entries |> List.map (fun (k, v) -> (k :?> string), (v :?> Tensor)) |> List.sortBy fst

    /// A weights file's tensors by name: a PyTorch state dict when its content is one (`isStateDictFile`, whatever
    /// its extension), a safetensors file otherwise. The caller disposes the tensors.
    let readAny (path: string) : (string * Tensor) list =
        if isStateDictFile path then read path else SafeTensors.load path

    /// `saved` renamed by the first matching prefix rule (from, to) of `prefixes` (a name no rule matches is kept).
    /// Two entries given one name is an InvalidDataException naming the file and the name.
    let rename (source: string) (prefixes: (string * string) list) (saved: (string * Tensor) list) : (string * Tensor) list =
        let renamed =
            saved
            |> List.map (fun (name, t) ->
                match prefixes |> List.tryFind (fun (from, _) -> name.StartsWith(from, StringComparison.Ordinal)) with
                | Some (from, into) -> into + name.Substring from.Length, t
                | None -> name, t)
        match renamed |> List.countBy fst |> List.tryFind (fun (_, n) -> n > 1) with
        | Some (name, _) -> raise (InvalidDataException(sprintf "%s: two tensors are named '%s' after renaming" source name))
        | None -> renamed
