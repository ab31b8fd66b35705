namespace Generative

open System
open System.Globalization

/// Parsing of model settings given as text (`--set key=value`, run.json, model-file metadata): invariant culture,
/// surrounding spaces ignored, and an ArgumentException naming the key when a value does not parse.
[<RequireQualifiedAccess>]
module Settings =
    /// An integer setting.
    let int (key: string) (text: string) : int =
        match Int32.TryParse(text.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture) with
        | true, x -> x
        | _ -> Errors.invalidArg key "an integer" text

    /// A floating-point setting.
    let float (key: string) (text: string) : float =
        match Double.TryParse(text.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture) with
        | true, x -> x
        | _ -> Errors.invalidArg key "a number" text

    /// Comma-separated integers, e.g. "128,64,9".
    let ints (key: string) (text: string) : int list =
        text.Split(',', StringSplitOptions.RemoveEmptyEntries)
        |> Array.map (fun s ->
            match Int32.TryParse(s.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture) with
            | true, x -> x
            | _ -> Errors.invalidArg key "comma-separated integers" text)
        |> List.ofArray
