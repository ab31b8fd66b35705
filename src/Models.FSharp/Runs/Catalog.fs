namespace Generative

open System

/// The models runs can be made of.
[<RequireQualifiedAccess>]
module Catalog =
    /// Drops settings written as "auto": the first version of run.json and model files wrote "auto" for GAN-MLP
    /// settings that take their variant's value, which is what leaving them out means now.
    let withoutLegacyAuto (settings: (string * string) list) =
        settings |> List.filter (fun (_, v) -> not (String.Equals(v.Trim(), "auto", StringComparison.OrdinalIgnoreCase)))

    /// Every model, by id.
    let all : CatalogEntry list =
        AutoencoderEntries.all @ AdversarialAutoencoderEntries.all @ ClassifierEntries.all @ GanEntries.all @ LanguageModelEntries.all

    /// The entry for an id; the error lists the ids there are.
    let find (id: string) : CatalogEntry =
        match all |> List.tryFind (fun e -> String.Equals(e.Id, id, StringComparison.OrdinalIgnoreCase)) with
        | Some e -> e
        | None -> Errors.invalidArg "model" (sprintf "one of %s" (all |> List.map (fun e -> e.Id) |> String.concat ", ")) id
