namespace Generative

open System

/// Argument checks that fail early with an ArgumentException naming the parameter, what was expected and what was received.
[<RequireQualifiedAccess>]
module Errors =
    /// Throws ArgumentException(paramName) saying "expected {expected} but got {actual}".
    let invalidArg (paramName: string) (expected: string) (actual: obj) : 'a =
        raise (ArgumentException(sprintf "%s: expected %s but got %O." paramName expected actual, paramName))

    /// An exception's message as a sentence for people: an ArgumentException's message without the
    /// " (Parameter 'name')" that .NET appends (messages made by `invalidArg` already start with the name).
    let messageOf (e: exn) : string =
        match e with
        | :? ArgumentException as a when not (isNull a.ParamName) -> a.Message.Replace(sprintf " (Parameter '%s')" a.ParamName, "")
        | e -> e.Message
