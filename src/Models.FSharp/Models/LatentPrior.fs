namespace Generative

open System
open System.Globalization
open TorchSharp

/// A distribution over codes that an adversarial autoencoder matches its encoder's codes to: samples of it are what
/// the discriminator learns as "real", and decoding them generates new images.
type LatentPrior =
    /// N(0, std² I) in every code dimension (the AAE source: std 5).
    | IsotropicGaussian of std: float
    /// Makhzani et al.'s mixture of `components` 2-D Gaussians with equal weights: component k is centred at
    /// `radius`·(cos θk, sin θk), θk = 2πk / components, with std `radialStd` along the radius and `tangentialStd`
    /// across it. A code of 2m dimensions holds m independent 2-D draws of the same component.
    | GaussianMixture of components: int * radius: float * radialStd: float * tangentialStd: float

/// Latent priors: sampling, their moments, and their settings text.
[<RequireQualifiedAccess>]
module LatentPrior =
    /// The AAE source's prior, N(0, 5² I).
    let source = IsotropicGaussian 5.0

    /// The mixture of the paper's figures: 10 components on a circle of radius 1.4, stds 0.5 (radial) and 0.05.
    let paperMixture = GaussianMixture(10, 1.4, 0.5, 0.05)

    /// The number of components (1 for a Gaussian).
    let components (prior: LatentPrior) =
        match prior with
        | IsotropicGaussian _ -> 1
        | GaussianMixture (k, _, _, _) -> k

    /// Throws ArgumentException (ParamName "prior", or `codeKey` for a code size the prior cannot have).
    let validate (codeKey: string) (codeSize: int) (prior: LatentPrior) =
        let positive what (v: float) =
            if not (v > 0.0) || Double.IsInfinity v then Errors.invalidArg "prior" (sprintf "a positive finite %s" what) v
        match prior with
        | IsotropicGaussian std -> positive "std" std
        | GaussianMixture (k, radius, radial, tangential) ->
            if k < 1 then Errors.invalidArg "prior" "a mixture of at least one component" k
            if not (radius >= 0.0) || Double.IsInfinity radius then Errors.invalidArg "prior" "a finite radius >= 0" radius
            positive "radial std" radial
            positive "tangential std" tangential
            if codeSize % 2 <> 0 then
                Errors.invalidArg codeKey "an even code size for a mixture of 2-D Gaussians (each pair of dimensions is one 2-D draw)" codeSize

    /// The angle of each component's centre, [k] float32.
    let private angles (k: int) (device: torch.Device) =
        torch.arange(int64 k, dtype = torch.float32, device = device) * float32 (2.0 * Math.PI / float k)

    /// Draws `count` codes [count, codeSize] on `device` with `generator` (null: libtorch's global generator, which
    /// checkpoints save). For a mixture, `components` [count] (int64) chooses each draw's component (e.g. its label);
    /// None draws them uniformly.
    let sample (generator: torch.Generator) (prior: LatentPrior) (codeSize: int) (device: torch.Device)
               (components: Tensor option) (count: int64) : Tensor =
        if count < 0L then Errors.invalidArg "count" "a count >= 0" count
        use _ = torch.NewDisposeScope()
        let drawn =
            match prior with
            | IsotropicGaussian std ->
                torch.randn([| count; int64 codeSize |], device = device, generator = generator) * float32 std
            | GaussianMixture (k, radius, radial, tangential) ->
                let pairs = int64 (codeSize / 2)
                let which =
                    match components with
                    | Some c ->
                        if c.shape <> [| count |] then
                            Errors.invalidArg "components" (sprintf "a [%d] tensor of component indices" count) (sprintf "%A" c.shape)
                        c.``to``(device).to_type(torch.int64)
                    | None -> torch.randint(0L, int64 k, [| count |], device = device, generator = generator)
                // Along the radius (x) and across it (y) before rotating by the component's angle.
                let x = torch.randn([| count; pairs |], device = device, generator = generator) * float32 radial + float32 radius
                let y = torch.randn([| count; pairs |], device = device, generator = generator) * float32 tangential
                let theta = (angles k device).index_select(0L, which).unsqueeze(1L)
                let cos, sin = theta.cos(), theta.sin()
                // [count, pairs, 2] -> [count, 2 pairs]: dimensions (2i, 2i+1) hold pair i.
                torch.stack([| x * cos - y * sin; x * sin + y * cos |], 2L).reshape(count, 2L * pairs)
        drawn.MoveToOuterDisposeScope()

    /// The mean of each component [components, codeSize] (float64, CPU): zeros for the Gaussian.
    let componentMeans (prior: LatentPrior) (codeSize: int) : Tensor =
        match prior with
        | IsotropicGaussian _ -> torch.zeros([| 1L; int64 codeSize |], dtype = torch.float64)
        | GaussianMixture (k, radius, _, _) ->
            use _ = torch.NewDisposeScope()
            let theta = (angles k torch.CPU).to_type(torch.float64)
            let pair = torch.stack([| theta.cos() * radius; theta.sin() * radius |], 1L)
            pair.repeat(1L, int64 (codeSize / 2)).MoveToOuterDisposeScope()

    /// The prior's mean [codeSize] (float64, CPU).
    let mean (prior: LatentPrior) (codeSize: int) : Tensor =
        use means = componentMeans prior codeSize
        means.mean([| 0L |])

    /// The prior's covariance [codeSize, codeSize] (float64, CPU), exact: the mean of the components' covariances
    /// plus the covariance of their means (equal weights).
    let covariance (prior: LatentPrior) (codeSize: int) : Tensor =
        use _ = torch.NewDisposeScope()
        let d = int64 codeSize
        let result =
            match prior with
            | IsotropicGaussian std -> torch.eye(d, dtype = torch.float64) * (std * std)
            | GaussianMixture (k, _, radial, tangential) ->
                let means = componentMeans prior codeSize
                let centred = means - means.mean([| 0L |], true)
                let between = centred.t().matmul(centred) / float k
                // Within component j, each 2-D pair has R diag(radial², tangential²) Rᵀ; pairs are independent.
                let within =
                    [ for j in 0 .. k - 1 ->
                        let t = 2.0 * Math.PI * float j / float k
                        let c, s = Math.Cos t, Math.Sin t
                        let a, b = radial * radial, tangential * tangential
                        let block = torch.tensor([| c * c * a + s * s * b; c * s * (a - b); c * s * (a - b); s * s * a + c * c * b |], dtype = torch.float64).reshape(2L, 2L)
                        torch.block_diag(Array.create (codeSize / 2) block) ]
                    |> List.reduce (+)
                between + within / float k
        result.MoveToOuterDisposeScope()

    /// How far from its centre a traversal of one code dimension goes: two standard deviations of the prior's
    /// marginal in that dimension (a component's own spread for a mixture, whose traversals start at a component's
    /// centre).
    let traversalHalfWidth (prior: LatentPrior) (dimension: int) : float =
        match prior with
        | IsotropicGaussian std -> 2.0 * std
        | GaussianMixture (_, _, radial, tangential) -> 2.0 * (if dimension % 2 = 0 then radial else max radial tangential)

    let private num (v: float) = v.ToString("R", CultureInfo.InvariantCulture)

    /// The settings text: "gaussian:std=5" or "mixture:components=10,radius=1.4,radial-std=0.5,tangential-std=0.05".
    let describe (prior: LatentPrior) =
        match prior with
        | IsotropicGaussian std -> sprintf "gaussian:std=%s" (num std)
        | GaussianMixture (k, r, a, b) ->
            sprintf "mixture:components=%d,radius=%s,radial-std=%s,tangential-std=%s" k (num r) (num a) (num b)

    /// Inverse of `describe`; omitted fields take the values of `source` (Gaussian) or `paperMixture` (mixture).
    let parse (text: string) : LatentPrior =
        let kind, rest =
            match (if isNull text then "" else text.Trim()).Split(':', 2) with
            | [| k |] -> k.Trim().ToLowerInvariant(), ""
            | a -> a.[0].Trim().ToLowerInvariant(), a.[1]
        let fields =
            rest.Split(',', StringSplitOptions.RemoveEmptyEntries)
            |> Array.map (fun kv ->
                match kv.Split('=') with
                | [| k; v |] -> k.Trim().ToLowerInvariant(), v.Trim()
                | _ -> Errors.invalidArg "prior" "fields written key=value" kv)
        let known =
            match kind with
            | "gaussian" -> [ "std" ]
            | "mixture" -> [ "components"; "radius"; "radial-std"; "tangential-std" ]
            | other -> Errors.invalidArg "prior" "gaussian[:std=S] or mixture[:components=K,radius=R,radial-std=A,tangential-std=B]" other
        for (k, _) in fields do
            if not (List.contains k known) then
                Errors.invalidArg "prior" (sprintf "one of the %s prior's fields: %s" kind (String.concat ", " known)) k
        let get key (dflt: float) =
            match fields |> Array.tryFind (fun (k, _) -> k = key) with
            | None -> dflt
            | Some (_, v) ->
                match Double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture) with
                | true, x -> x
                | _ -> Errors.invalidArg "prior" (sprintf "a number for %s" key) v
        match kind with
        | "gaussian" -> IsotropicGaussian(get "std" 5.0)
        | _ ->
            let components = get "components" 10.0
            if components <> Math.Round components || components > 1e6 then
                Errors.invalidArg "prior" "a whole number of components (at most 1,000,000)" components
            GaussianMixture(int components, get "radius" 1.4, get "radial-std" 0.5, get "tangential-std" 0.05)
