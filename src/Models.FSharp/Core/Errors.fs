namespace Generative

open System

/// Argument checks that fail early with an ArgumentException naming the parameter, what was expected and what was received.
[<RequireQualifiedAccess>]
module Errors =
    /// Throws ArgumentException(paramName) saying "expected {expected} but got {actual}".
    let invalidArg (paramName: string) (expected: string) (actual: obj) : 'a =
        raise (ArgumentException(sprintf "%s: expected %s but got %O." paramName expected actual, paramName))
