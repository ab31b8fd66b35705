module Generative.Tests.Models.AutoencoderFamilyTests

open System
open System.IO
open Expecto
open FsCheck
open TorchSharp
open Generative
open Generative.Tests

/// The autoencoder family's catalog ids with their code sizes.
let private codeSizes = [ "ae-deep", 9; "ae-3d", 3; "ae-conv", 32; "ae-denoise", 128; "vae", 20 ]

/// A catalog model built with its default settings on the CPU, after seeding.
let private build (id: string) (seed: int64) : RunModel =
    Device.seed seed
    let entry = Catalog.find id
    (entry.Configure []).Build torch.CPU

/// Structured images (bars) in the normalisation the model expects by default.
let private barsFor (id: string) (n: int) (seed: int64) : Tensor =
    let bars = TestData.bars n seed
    let norm = Experiment.parseNormalization (Catalog.find id).Normalization
    use labels = bars.Labels
    use images = bars.Images
    Transforms.normalize norm images

let private fast = { FsCheckConfig.defaultConfig with maxTest = 12 }

let private shapeTests =
    [ for id, codeSize in codeSizes ->
        let model = lazy (build id 1L)
        testPropertyWithConfig fast (sprintf "%s: output shapes for any batch size" id) (fun (size: PositiveInt) ->
            let n = 1 + size.Get % 17
            let m = model.Force()
            Trainer.eval m.Trainer
            use _ = torch.no_grad()
            use x = torch.rand([| int64 n; 1L; 28L; 28L |])
            use r = m.Reconstruct.Value x
            use z = m.Encode.Value x
            use d = m.Decode.Value z
            Expect.equal r.shape [| int64 n; 1L; 28L; 28L |] "reconstruction shape"
            Expect.equal z.shape [| int64 n; int64 codeSize |] "code shape"
            Expect.equal d.shape [| int64 n; 1L; 28L; 28L |] "decoded shape"
            match m.Sample with
            | Some draw ->
                use g = new torch.Generator(5UL)
                use s = draw g n
                Expect.equal s.shape [| int64 n; 1L; 28L; 28L |] "sample shape"
            | None -> ()) ]

let private learningTests =
    [ for id, _ in codeSizes ->
        test (sprintf "%s: learns within seconds (loss below half its start on bars)" id) {
            let m = build id 2L
            use x = barsFor id 64 3L
            use labels = torch.zeros([| 64L |], dtype = torch.int64)
            let batch : Batch = { Inputs = x; Targets = labels }
            Trainer.train m.Trainer
            let lossAt () =
                use _ = torch.NewDisposeScope()
                (m.Trainer.Step batch).["loss"]
            let first = lossAt ()
            let mutable last = first
            let mutable steps = 1
            while last >= first / 2.0 && steps < 400 do
                last <- lossAt ()
                steps <- steps + 1
            Expect.isLessThan last (first / 2.0) (sprintf "loss fell from %g to %g in %d steps" first last steps)
        } ]

let private saveLoadTests =
    [ for id, _ in codeSizes ->
        test (sprintf "%s: save then load gives identical outputs" id) {
            let m = build id 4L
            use x = barsFor id 16 5L
            use labels = torch.zeros([| 16L |], dtype = torch.int64)
            Trainer.train m.Trainer
            for _ in 1 .. 3 do
                use _ = torch.NewDisposeScope()
                m.Trainer.Step ({ Inputs = x; Targets = labels } : Batch) |> ignore
            Trainer.eval m.Trainer
            let path = Path.Combine(Path.GetTempPath(), sprintf "%s-%s.safetensors" id (Guid.NewGuid().ToString("N")))
            let entry = Catalog.find id
            Experiment.saveModel path id (entry.Configure []).Settings entry.Normalization m
            // A different seed: the loaded weights must come from the file, not from the initialisation.
            Device.seed 99L
            let loadedId, settings, normalization, loaded = Experiment.loadModel path Cpu
            File.Delete path
            Expect.equal loadedId id "model id"
            Expect.equal settings (entry.Configure []).Settings "settings"
            Expect.equal normalization entry.Normalization "normalisation"
            use _ = torch.no_grad()
            use a = m.Reconstruct.Value x
            use b = loaded.Reconstruct.Value x
            Expect.isTrue (a.Equals b) "identical reconstructions"
            use za = m.Encode.Value x
            use zb = loaded.Encode.Value x
            Expect.isTrue (za.Equals zb) "identical codes"
        } ]

let private throwsWithParam (paramName: string) (f: unit -> unit) =
    let e = Expect.throwsC f (fun e -> e)
    match e with
    | :? ArgumentException as a -> Expect.equal a.ParamName paramName (sprintf "ParamName of: %s" a.Message)
    | other -> failtestf "expected an ArgumentException but got %s" (other.GetType().Name)

let private validationTests =
    [ test "configs reject bad fields naming them" {
        throwsWithParam "hidden-channels" (fun () -> ConvAutoencoder.validate { ConvAutoencoder.source with HiddenChannels = 0 })
        throwsWithParam "code-channels" (fun () -> ConvAutoencoder.validate { ConvAutoencoder.source with CodeChannels = -1 })
        throwsWithParam "lr" (fun () -> ConvAutoencoder.validate { ConvAutoencoder.source with Optimizer = Optim.adam 0.0 })
        throwsWithParam "encoder-widths" (fun () -> Autoencoder.validate { Autoencoder.deep with EncoderWidths = [ 128; 0 ] })
        throwsWithParam "std" (fun () -> DenoisingAutoencoder.validate { DenoisingAutoencoder.defaults with Corruption = GaussianNoise -0.1 })
        throwsWithParam "probability" (fun () -> DenoisingAutoencoder.validate { DenoisingAutoencoder.defaults with Corruption = MaskingNoise 1.0 })
        throwsWithParam "noise" (fun () -> Corruption.parse "salt:0.1" |> ignore)
        throwsWithParam "network" (fun () -> SettingsTable.read DenoisingAutoencoder.settings DenoisingAutoencoder.defaults [ "network", "rnn" ] |> ignore)
        throwsWithParam "latent-dim" (fun () -> Vae.validate { Vae.source with LatentDim = 0 })
        throwsWithParam "beta" (fun () -> Vae.validate { Vae.source with Beta = -1.0 })
        throwsWithParam "iwae-samples" (fun () -> Vae.validate { Vae.source with IwaeSamples = 0 })
        throwsWithParam "likelihood" (fun () -> SettingsTable.read Vae.settings Vae.source [ "likelihood", "poisson" ] |> ignore)
      }

      test "the conv autoencoder names the image size it needs" {
          let m = ConvAutoencoder.create ConvAutoencoder.source
          use x = torch.zeros([| 2L; 1L; 32L; 32L |])
          throwsWithParam "images" (fun () -> EncoderDecoder.reconstruct m.Network x |> ignore)
      }

      test "the Bernoulli VAE rejects images outside [0,1] and says which normalisation to use" {
          let m = Vae.create { Vae.source with Likelihood = Likelihood.bernoulli; HiddenWidth = 16; LatentDim = 2 }
          use x = torch.rand([| 4L; 1L; 28L; 28L |]) * 2.0f - 1.0f
          let e = Expect.throwsC (fun () -> Vae.loss m x |> ignore) id
          Expect.stringContains e.Message "zero-one" "names the fix"
      }

      test "settings round-trip through their tables" {
          let roundTrip table baseline config = SettingsTable.read table baseline (SettingsTable.print table config)
          let conv = { ConvAutoencoder.source with HiddenChannels = 12; Optimizer = Optim.adam 5e-4 }
          Expect.equal (roundTrip ConvAutoencoder.settings ConvAutoencoder.source conv) conv "conv"
          let vae = { Vae.source with Likelihood = Likelihood.bernoulli; Beta = 4.0; LatentDim = 8; IwaeSamples = 7 }
          Expect.equal (roundTrip Vae.settings Vae.source vae) vae "vae"
          let dae = { Network = Convolutional ConvAutoencoder.source; Corruption = MaskingNoise 0.25 }
          Expect.equal (roundTrip DenoisingAutoencoder.settings DenoisingAutoencoder.defaults dae) dae "denoising"
          Expect.equal (roundTrip Autoencoder.settings Autoencoder.linear Autoencoder.threeD) Autoencoder.threeD "3-d"
      }

      test "sampling from a run model leaves libtorch's global generator where it was" {
          for id in [ "vae"; "gan-mlp" ] do
              let m = build id 1L
              torch.manual_seed 7L |> ignore
              use expected = torch.rand(3L)
              torch.manual_seed 7L |> ignore
              use generator = new torch.Generator(2UL)
              use samples = m.Sample.Value generator 4
              use after = torch.rand(3L)
              Expect.isTrue (after.Equals expected) (sprintf "%s: the global generator's next numbers are unchanged" id)
      }

      test "the AE-DEEP source optimiser stays selectable from settings" {
          let c = SettingsTable.read Autoencoder.settings Autoencoder.deep [ "optimizer", "adam:lr=0.1,wd=1e-6" ]
          Expect.equal c.Optimizer Autoencoder.deepSourceOptimizer "Adam lr 0.1, weight decay 1e-6"
      } ]

let private corruptionTests =
    [ test "zero noise leaves images unchanged; masking zeroes about the asked share" {
        use x = torch.rand([| 8L; 1L; 28L; 28L |]) + 0.1f
        use g = Corruption.apply GlobalGenerator (GaussianNoise 0.0) x
        Expect.isTrue (g.Equals x) "Gaussian std 0"
        use m0 = Corruption.apply GlobalGenerator (MaskingNoise 0.0) x
        Expect.isTrue (m0.Equals x) "masking probability 0"
        Device.seed 3L
        use m = Corruption.apply GlobalGenerator (MaskingNoise 0.3) x
        let zeroed = m.eq(torch.tensor(0.0f)).to_type(torch.float32).mean().ToDouble()
        Expect.floatClose { absolute = 0.02; relative = 0.0 } zeroed 0.3 "share of zeroed pixels"
        use n = Corruption.apply GlobalGenerator (GaussianNoise 0.5) x
        let std = (n - x).std().ToDouble()
        Expect.floatClose { absolute = 0.02; relative = 0.0 } std 0.5 "noise std"
      } ]

[<Tests>]
let tests =
    testList "Models.AutoencoderFamily" [
        testList "shapes" shapeTests
        testList "learns" learningTests
        testList "save and load" saveLoadTests
        testList "validation" validationTests
        testList "corruption" corruptionTests ]
