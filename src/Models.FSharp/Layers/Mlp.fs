namespace Generative

/// Multi-layer perceptrons from a list of widths.
[<RequireQualifiedAccess>]
module Mlp =
    /// Linear layers through `widths` (e.g. [784; 128; 64]) with `hidden` after every layer but the last and
    /// `output` after the last.
    let create (widths: int list) (hidden: Activation) (output: Activation) : Net =
        if List.length widths < 2 then Errors.invalidArg "widths" "at least two widths (input and output)" (List.length widths)
        let pairs = List.pairwise widths
        let last = List.length pairs - 1
        pairs
        |> List.mapi (fun i (a, b) -> [ Layers.linear a b; Activation.layer (if i = last then output else hidden) ])
        |> List.concat
        |> Layers.sequence
