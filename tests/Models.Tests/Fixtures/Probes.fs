/// What the compatibility fixtures (Fixtures/v1) are made of and measured with. The generator
/// (make-fixtures.fsx, which `#load`s this file) and the tests (Runs/CompatibilityTests.fs) must compute exactly
/// the same inputs and measurements, so both use this one definition.
/// Everything here is built from closed formulas, never from a random generator, so an expectation recorded today
/// does not depend on how a later libtorch draws random numbers.
module Generative.Tests.Fixtures.Probes

open System
open System.IO
open System.Text.Json
open TorchSharp
open Generative

/// The expectation the generator records beside each fixture (`<fixture>.expected.json`) from the trained model
/// still in memory (not from a reload), so a test that reloads the fixture checks the loader against it.
type Expectation =
    { /// Catalog id of the model.
      Model: string
      /// The RunModel operations applied to the probe input, in order ("reconstruct", "encode", "decode",
      /// "classify"): those the model offered when the fixture was written.
      Operations: string[]
      /// Width of the formula latent batch fed to "decode" when the model has no "encode" (GANs); 0 otherwise.
      LatentSize: int
      /// Number of values the operations produced, all flattened and concatenated.
      Count: int
      /// Mean of all of them (so most changes to any value move it).
      Mean: float
      /// Mean square of all of them (moved also by changes that keep the mean).
      MeanSquare: float
      /// Every `Stride`-th value, from the first.
      Stride: int
      Values: float[]
      /// Number, sum and sum of absolute values of every weight and buffer of the trainer's modules: independent of
      /// tensor names and order, and covering networks the operations never run (a GAN's discriminator).
      WeightCount: int64
      WeightSum: float
      WeightAbsSum: float
      /// Epochs the fixture run was trained (0 for a model file).
      Epochs: int }

/// Images of the fixtures' data [n, 1, 28, 28] in [0, 1], and their labels [n] (0-9): image k (counting from
/// `first`) has label k mod 10 and a bright 3-row bar at a row set by its label, over a faint fixed texture.
let images (first: int) (n: int) : torch.Tensor * torch.Tensor =
    let pixels = Array.zeroCreate<float32> (n * 784)
    let labels = Array.init n (fun i -> int64 ((first + i) % 10))
    for i in 0 .. n - 1 do
        let k = first + i
        let bar = 2 + 2 * int labels.[i]
        for r in 0 .. 27 do
            for c in 0 .. 27 do
                let texture = float32 ((k * 7 + r * 3 + c * 5) % 11) / 100.0f
                pixels.[i * 784 + r * 28 + c] <- if r >= bar && r < bar + 3 then 1.0f - texture else texture
    torch.tensor(pixels).reshape(int64 n, 1L, 28L, 28L), torch.tensor(labels)

/// The normalisation a catalog model trains on by default (what its fixture run used).
let normalizationOf (modelId: string) : Normalization =
    Experiment.parseNormalization (Catalog.find modelId).Normalization

/// A split of `n` formula images from `first`, normalised for `modelId`.
let split (modelId: string) (first: int) (n: int) : Split =
    let x, y = images first n
    use _ = x
    { Images = Transforms.normalize (normalizationOf modelId) x; Labels = y }

/// The fixtures' tiny data set: 24 training and 16 test images, normalised for `modelId`.
let dataset (modelId: string) : ImageDataset =
    { Name = "fixture bars"; Train = split modelId 0 24; Test = split modelId 100 16
      Normalization = normalizationOf modelId; Classes = [ for d in 0 .. 9 -> string d ]; Files = [] }

/// The probe batch: 4 formula images not in the data set, normalised for `modelId`.
let probeImages (modelId: string) : torch.Tensor = (split modelId 1000 4).Images

/// A formula latent batch [4, size] in [-1, 1] for models that decode from noise.
let probeLatent (size: int) : torch.Tensor =
    torch.tensor(Array.init (4 * size) (fun i -> float32 (((i * 37) % 41) - 20) / 20.0f)).reshape(4L, int64 size)

/// The operations the probe applies to a model: those it offers, in a fixed order.
let operationsOf (model: RunModel) : string[] =
    [| if model.Reconstruct.IsSome then "reconstruct"
       if model.Encode.IsSome then "encode"
       if model.Decode.IsSome then "decode"
       if model.Classify.IsSome then "classify" |]

let private required name (f: (torch.Tensor -> torch.Tensor) option) =
    match f with
    | Some f -> f
    | None -> failwithf "the model no longer offers '%s', which its fixture was measured with" name

/// Applies `operations` to the probe batch (decode takes the codes "encode" gives, or `probeLatent latentSize`
/// when the model has no encoder), in evaluation mode without gradients; all outputs flattened and concatenated.
let outputs (modelId: string) (operations: string[]) (latentSize: int) (model: RunModel) : float[] =
    Trainer.eval model.Trainer
    use _ = torch.no_grad()
    use _ = torch.NewDisposeScope()
    let x = probeImages modelId
    let parts =
        [ for op in operations ->
            match op with
            | "reconstruct" -> (required op model.Reconstruct) x
            | "encode" -> (required op model.Encode) x
            | "decode" ->
                let z = if Array.contains "encode" operations then (required "encode" model.Encode) x else probeLatent latentSize
                (required op model.Decode) z
            | "classify" -> (required op model.Classify) x
            | other -> failwithf "unknown probe operation '%s'" other ]
    parts
    |> List.collect (fun t -> t.detach().cpu().to_type(torch.float64).flatten().data<float>().ToArray() |> List.ofArray)
    |> Array.ofList

/// (count, sum, sum of absolute values) of every weight and buffer of the trainer's modules, in float64.
let weightTotals (trainer: Trainer) : int64 * float * float =
    use _ = torch.no_grad()
    use _ = torch.NewDisposeScope()
    let mutable count, sum, abs = 0L, 0.0, 0.0
    for (_, m) in trainer.Modules do
        for KeyValue (_, t) in m.state_dict() do
            if t.is_floating_point() then
                let d = t.detach().cpu().to_type(torch.float64)
                count <- count + d.numel()
                sum <- sum + d.sum().ToDouble()
                abs <- abs + d.abs().sum().ToDouble()
    count, sum, abs

/// Measures a model as its expectation records it.
let measure (modelId: string) (operations: string[]) (latentSize: int) (epochs: int) (model: RunModel) : Expectation =
    let values = outputs modelId operations latentSize model
    let stride = max 1 (values.Length / 40)
    let count, sum, abs = weightTotals model.Trainer
    { Model = modelId; Operations = operations; LatentSize = latentSize; Count = values.Length
      Mean = Array.average values; MeanSquare = values |> Array.averageBy (fun v -> v * v)
      Stride = stride; Values = [| for i in 0 .. stride .. values.Length - 1 -> values.[i] |]
      WeightCount = count; WeightSum = sum; WeightAbsSum = abs; Epochs = epochs }

/// Writes an expectation as indented JSON.
let save (path: string) (e: Expectation) =
    File.WriteAllText(path, JsonSerializer.Serialize(e, JsonSerializerOptions(WriteIndented = true)))

/// Reads what `save` wrote.
let load (path: string) : Expectation = JsonSerializer.Deserialize<Expectation>(File.ReadAllText path)
