namespace Generative

open System

/// Argument checks that fail early with an ArgumentException naming the parameter, what was expected and what was received.
[<RequireQualifiedAccess>]
module Errors =
    /// Throws ArgumentException(paramName) saying "expected {expected} but got {actual}".
    let invalidArg (paramName: string) (expected: string) (actual: obj) : 'a =
        raise (ArgumentException(sprintf "%s: expected %s but got %O." paramName expected actual, paramName))

    /// libtorch's message without the native backtrace it appends ("Exception raised from ...", "frame #0: ...") and
    /// without the "[enforce fail at file:line] condition." prefix of its internal checks.
    let nativeMessage (message: string) : string =
        let lines =
            message.Split('\n')
            |> Array.takeWhile (fun line -> not (line.StartsWith "Exception raised from" || line.StartsWith "frame #"))
        let text = String.Join(" ", lines).Trim()
        match text.IndexOf "] " with
        | i when text.StartsWith "[enforce fail at" && i > 0 ->
            let rest = text.Substring(i + 2)
            // "[enforce fail at alloc_cpu.cpp:127] err == 0. DefaultCPUAllocator: ..." keeps what follows the condition.
            match rest.IndexOf ". " with
            | j when j >= 0 -> rest.Substring(j + 2)
            | _ -> rest
        | _ -> text

    /// True when a libtorch error says an allocation failed (CPU or GPU memory).
    let isOutOfMemory (e: exn) : bool =
        match e with
        | :? Runtime.InteropServices.ExternalException as x ->
            x.Message.Contains "DefaultCPUAllocator" || x.Message.Contains "out of memory"
        | :? OutOfMemoryException -> true
        | _ -> false

    /// An exception's message as a sentence for people: an ArgumentException's message without the
    /// " (Parameter 'name')" that .NET appends (messages made by `invalidArg` already start with the name); libtorch's
    /// without its native backtrace, and an allocation failure with what to change.
    let messageOf (e: exn) : string =
        match e with
        | :? ArgumentException as a when not (isNull a.ParamName) -> a.Message.Replace(sprintf " (Parameter '%s')" a.ParamName, "")
        | e when isOutOfMemory e ->
            sprintf "%s Lower the batch size (--batch-size) or the model's sizes, or free memory." (nativeMessage e.Message)
        | :? Runtime.InteropServices.ExternalException as x -> "libtorch: " + nativeMessage x.Message
        | e -> e.Message
