namespace Generative

/// Element-wise non-linearities, as a closed choice that configs can name and serialise.
type Activation =
    | Relu
    | LeakyRelu of slope: float
    | Sigmoid
    | Tanh
    | Identity

/// Turning an `Activation` into a layer, and naming it in settings.
[<RequireQualifiedAccess>]
module Activation =
    /// The layer for an activation (`Identity` gives an empty chain).
    let layer (a: Activation) : Net =
        match a with
        | Relu -> Layers.relu ()
        | LeakyRelu s -> Layers.leakyRelu s
        | Sigmoid -> Layers.sigmoid ()
        | Tanh -> Layers.tanh ()
        | Identity -> Layers.sequence []

    /// "relu", "leaky-relu:0.2", "sigmoid", "tanh", "identity".
    let name (a: Activation) =
        match a with
        | Relu -> "relu"
        | LeakyRelu s -> sprintf "leaky-relu:%g" s
        | Sigmoid -> "sigmoid"
        | Tanh -> "tanh"
        | Identity -> "identity"

    /// Inverse of `name`.
    let parse (text: string) : Activation =
        match text.Trim().ToLowerInvariant() with
        | "relu" -> Relu
        | "sigmoid" -> Sigmoid
        | "tanh" -> Tanh
        | "identity" | "none" -> Identity
        | t when t.StartsWith "leaky-relu:" ->
            match System.Double.TryParse(t.Substring 11, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture) with
            | true, s -> LeakyRelu s
            | _ -> Errors.invalidArg "activation" "leaky-relu:<slope>" text
        | _ -> Errors.invalidArg "activation" "one of relu, leaky-relu:<slope>, sigmoid, tanh, identity" text

    /// A setting holding an activation, written as `name` writes it.
    let setting (key: string) (doc: string) get set : Setting<'Config> =
        Setting.create key (doc + ": relu, leaky-relu:<slope>, sigmoid, tanh or identity") name parse get set
