/// Expecto's ordering checks hold when the value checked is NaN: `Expect.isLessThan nan 1e-5` passes, as it fails
/// only when `actual >= bound`, which is false for NaN (so is `isLessThanOrEqual`'s `actual > bound`). A test of a
/// difference or an error that came out NaN would pass. These shadow them (opened with `Generative.Tests`, after
/// `Expecto`) and fail on NaN first; Expecto's other checks are reached as before.
[<AutoOpen>]
module Generative.Tests.SafeExpect

open System
open Expecto

/// Expecto's `Expect`, with NaN refused by the ordering checks.
[<RequireQualifiedAccess>]
module Expect =
    let private isNaN (value: obj) =
        match value with
        | :? float as x -> Double.IsNaN x
        | :? float32 as x -> Single.IsNaN x
        | _ -> false

    /// `check` after failing when either value is NaN.
    let private refusingNaN (check: 'a -> 'a -> string -> unit) (actual: 'a) (bound: 'a) (message: string) =
        if isNaN (box actual) || isNaN (box bound) then
            failtestf "%s. NaN cannot be ordered: the value was %A, the bound %A." message actual bound
        check actual bound message

    /// Expecto's `Expect.isLessThan`, failing when either value is NaN.
    let isLessThan (actual: 'a) (bound: 'a) (message: string) = refusingNaN Expecto.Expect.isLessThan actual bound message

    /// Expecto's `Expect.isLessThanOrEqual`, failing when either value is NaN.
    let isLessThanOrEqual (actual: 'a) (bound: 'a) (message: string) =
        refusingNaN Expecto.Expect.isLessThanOrEqual actual bound message

    /// Expecto's `Expect.isGreaterThan`, failing when either value is NaN (as Expecto's already does).
    let isGreaterThan (actual: 'a) (bound: 'a) (message: string) = refusingNaN Expecto.Expect.isGreaterThan actual bound message

    /// Expecto's `Expect.isGreaterThanOrEqual`, failing when either value is NaN (as Expecto's already does).
    let isGreaterThanOrEqual (actual: 'a) (bound: 'a) (message: string) =
        refusingNaN Expecto.Expect.isGreaterThanOrEqual actual bound message
