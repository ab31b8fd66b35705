// An F# consumer of the packages, built outside the repository by .ci/outside.sh: it references only Generative and
// Generative.Runtime.Cpu and uses the library's F# API directly. It trains a tiny VAE for a few steps on images made in
// memory (no network), samples, saves, loads into a freshly initialised model, and checks that the loaded model gives
// exactly the outputs of the saved one. Exit code 0 means all held.
//     dotnet run -c Release -- <work folder>
open System
open System.IO
open System.Threading
open TorchSharp
open Generative

let check (condition: bool) (what: string) =
    if not condition then
        eprintfn "FAILED: %s" what
        exit 1
    printfn "ok: %s" what

/// `n` images [n,1,28,28] in [-1,1] (a bar whose row depends on the label, on a -1 background) and their labels.
let bars (n: int) (seed: int) : Split =
    let random = Random seed
    let labels = Array.init n (fun _ -> int64 (random.Next 10))
    let pixels = Array.create (n * 784) -1.0f
    for i in 0 .. n - 1 do
        let row = 2 + int labels.[i] * 2
        for r in row .. row + 2 do
            for c in 4 .. 23 do
                pixels.[i * 784 + r * 28 + c] <- 1.0f
    { Images = torch.tensor(pixels).reshape(int64 n, 1L, 28L, 28L); Labels = torch.tensor labels }

[<EntryPoint>]
let main argv =
    let work = if argv.Length > 0 then argv.[0] else Path.Combine(Path.GetTempPath(), "generative-outside-fs-" + Guid.NewGuid().ToString "N")
    Directory.CreateDirectory work |> ignore
    // Loads libtorch first, so a missing runtime package is reported by name rather than by TorchSharp's message.
    Device.ensureNativeLoaded ()
    // On an AMD processor the runtime package's MKL vendor gate must be found beside the app and opened.
    match MklVendorGate.ensureOpened () with
    | MklVendorGateStatus.NotNeeded reason -> printfn "MKL vendor gate not needed: %s" reason
    | status -> check (status.IsOpened) (sprintf "the MKL vendor gate opened from the runtime package (got %A)" status)
    torch.set_num_threads 1
    use train = bars 128 1
    use test = bars 16 2

    let config = { Vae.source with HiddenWidth = 32; LatentDim = 4 }
    Device.seed 7L
    let vae = Vae.create config
    let trainer = Vae.trainer vae
    let losses = ResizeArray<float>()
    let hooks = { Loop.noHooks with OnStep = fun p -> losses.Add p.Terms.["loss"] }
    let options = { Loop.defaults with Epochs = 2; BatchSize = 32; Seed = 1L }
    Loop.fit options hooks CancellationToken.None trainer train (Loop.start, History.empty) |> ignore
    printfn "trained %d steps: loss %.1f -> %.1f" losses.Count losses.[0] losses.[losses.Count - 1]
    check (losses.Count = 8) (sprintf "8 steps (2 epochs of 4 batches), got %d" losses.Count)
    check (losses |> Seq.forall Double.IsFinite) "finite losses"
    check (losses.[losses.Count - 1] < losses.[0]) "the loss went down"

    let sampleAndReconstruct (model: Vae) (trainer: Trainer) =
        Trainer.eval trainer
        use _ = torch.no_grad ()
        use generator = new torch.Generator(3UL)
        Vae.sampleWith generator model 8, Vae.reconstruct model test.Images
    let samples, reconstructions = sampleAndReconstruct vae trainer
    Images.saveGrid (Path.Combine(work, "samples.png")) 8 (Transforms.denormalize MinusOneToOne samples)
    check (File.Exists(Path.Combine(work, "samples.png"))) "samples.png written"

    let path = Path.Combine(work, "vae.safetensors")
    ModelFile.save path "vae" [] "minus-one-one" [] trainer
    // A model initialised from another seed, so only the loaded weights can make its outputs equal.
    Device.seed 99L
    let loaded = Vae.create config
    let loadedTrainer = Vae.trainer loaded
    ModelFile.loadWeights (ModelFile.read path) loadedTrainer
    let samples2, reconstructions2 = sampleAndReconstruct loaded loadedTrainer
    check (samples.Equals samples2) "the loaded model samples exactly what the saved one did"
    check (reconstructions.Equals reconstructions2) "the loaded model reconstructs exactly as the saved one did"
    printfn "F# consumer: all checks passed"
    0
