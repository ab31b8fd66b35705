namespace Generative

open System
open System.Globalization
open TorchSharp

/// An optimiser as a value: what to build over a set of parameters.
type OptimizerSpec =
    /// Adam (Kingma & Ba, 2015) with L2 weight decay added to the gradient, as in torch.optim.Adam.
    | Adam of lr: float * beta1: float * beta2: float * weightDecay: float
    /// Stochastic gradient descent with momentum, optional Nesterov momentum and weight decay.
    | Sgd of lr: float * momentum: float * nesterov: bool * weightDecay: float
    /// RMSprop (Tieleman & Hinton, 2012) as torch.optim.RMSprop: a running mean of squared gradients with smoothing
    /// `alpha`, optional momentum and weight decay.
    | RmsProp of lr: float * alpha: float * momentum: float * weightDecay: float

/// Creating, validating and naming optimisers.
[<RequireQualifiedAccess>]
module Optim =
    /// Adam with PyTorch's default betas (0.9, 0.999) and no weight decay.
    let adam (lr: float) = Adam(lr, 0.9, 0.999, 0.0)

    /// Plain SGD with momentum.
    let sgd (lr: float) (momentum: float) = Sgd(lr, momentum, false, 0.0)

    /// RMSprop with PyTorch's default smoothing 0.99, no momentum and no weight decay.
    let rmsProp (lr: float) = RmsProp(lr, 0.99, 0.0, 0.0)

    /// Throws ArgumentException naming the bad field when the spec cannot train.
    let validate (spec: OptimizerSpec) =
        let positive name v = if not (v > 0.0) || Double.IsInfinity v then Errors.invalidArg name "a positive finite number" v
        let inUnit name v = if v < 0.0 || v >= 1.0 then Errors.invalidArg name "a value in [0, 1)" v
        let nonNegative name v = if v < 0.0 || Double.IsNaN v then Errors.invalidArg name "a non-negative number" v
        match spec with
        | Adam (lr, b1, b2, wd) -> positive "lr" lr; inUnit "beta1" b1; inUnit "beta2" b2; nonNegative "weightDecay" wd
        | Sgd (lr, m, nesterov, wd) ->
            positive "lr" lr; inUnit "momentum" m; nonNegative "weightDecay" wd
            if nesterov && m = 0.0 then Errors.invalidArg "momentum" "a positive momentum when Nesterov is on" m
        | RmsProp (lr, alpha, m, wd) -> positive "lr" lr; inUnit "alpha" alpha; inUnit "momentum" m; nonNegative "weightDecay" wd

    /// Builds the optimiser over `parameters`. Adam and SGD keep gradients and state in flat buffers
    /// (`FlatOptimizers.Adam` and `.SGD`: TorchSharp's arithmetic and checkpoint format, a few operations over all
    /// parameters and one per parameter in each step, where TorchSharp's run ~10 per parameter); RMSprop is TorchSharp's.
    let create (spec: OptimizerSpec) (parameters: seq<Modules.Parameter>) : Modules.OptimizerHelper =
        validate spec
        let parameters = Seq.toArray parameters
        match spec with
        | Adam (lr, b1, b2, wd) -> new FlatOptimizers.Adam(parameters, lr, b1, b2, wd) :> _
        | Sgd (lr, m, nesterov, wd) -> new FlatOptimizers.SGD(parameters, lr, m, nesterov, wd) :> _
        | RmsProp (lr, alpha, m, wd) -> torch.optim.RMSProp(parameters, lr, alpha, weight_decay = wd, momentum = m) :> _

    let private num (v: float) = v.ToString("R", CultureInfo.InvariantCulture)

    /// A short text form: "adam:lr=0.001,beta1=0.9,beta2=0.999,wd=0", "sgd:lr=0.01,momentum=0.9,nesterov=true,wd=0" or
    /// "rmsprop:lr=0.001,alpha=0.99,momentum=0,wd=0".
    let describe (spec: OptimizerSpec) =
        match spec with
        | Adam (lr, b1, b2, wd) -> sprintf "adam:lr=%s,beta1=%s,beta2=%s,wd=%s" (num lr) (num b1) (num b2) (num wd)
        | Sgd (lr, m, n, wd) -> sprintf "sgd:lr=%s,momentum=%s,nesterov=%b,wd=%s" (num lr) (num m) n (num wd)
        | RmsProp (lr, alpha, m, wd) -> sprintf "rmsprop:lr=%s,alpha=%s,momentum=%s,wd=%s" (num lr) (num alpha) (num m) (num wd)

    /// Parses `describe`'s form; missing fields take the defaults of `adam`/`sgd`/`rmsProp`.
    let parse (text: string) : OptimizerSpec =
        let kind, rest =
            match text.Trim().ToLowerInvariant().Split(':', 2) with
            | [| k |] -> k, ""
            | a -> a.[0], a.[1]
        let fields =
            rest.Split(',', StringSplitOptions.RemoveEmptyEntries)
            |> Array.map (fun kv ->
                match kv.Split('=') with
                | [| k; v |] -> k.Trim(), v.Trim()
                | _ -> Errors.invalidArg "optimizer" "fields written key=value" kv)
            |> Map.ofArray
        let get key dflt =
            match fields.TryFind key with
            | None -> dflt
            | Some v ->
                match Double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture) with
                | true, x -> x
                | _ -> Errors.invalidArg "optimizer" (sprintf "a number for %s" key) v
        let spec =
            match kind with
            | "adam" -> Adam(get "lr" 1e-3, get "beta1" 0.9, get "beta2" 0.999, get "wd" 0.0)
            | "sgd" ->
                let nesterov = fields.TryFind "nesterov" |> Option.map (fun v -> v = "true") |> Option.defaultValue false
                Sgd(get "lr" 1e-2, get "momentum" 0.0, nesterov, get "wd" 0.0)
            | "rmsprop" -> RmsProp(get "lr" 1e-2, get "alpha" 0.99, get "momentum" 0.0, get "wd" 0.0)
            | other -> Errors.invalidArg "optimizer" "adam:..., sgd:... or rmsprop:..." other
        validate spec
        spec

    /// A setting holding an optimiser, written as `describe` writes it ("adam:lr=0.001,..." or "sgd:lr=0.01,...").
    let setting (key: string) (doc: string) get set : Setting<'Config> =
        Setting.create key (doc + ", e.g. adam:lr=0.001,beta1=0.9,beta2=0.999,wd=0 , sgd:lr=0.01,momentum=0.9,nesterov=true,wd=0 or rmsprop:lr=0.01,alpha=0.99,momentum=0,wd=0")
            describe parse get set
