module Generative.Tests.Models.GanEmaTests

open System
open System.IO
open System.Threading
open Expecto
open TorchSharp
open Generative
open Generative.Tests

// The exponential moving average of a GAN generator's weights (`GanConfig.EmaDecay`, setting "ema"): built as a copy
// of G, moved towards G after every G update, used for sampling and evaluation, and saved with the run.

/// A small GAN-MLP-B (z 4, one hidden layer of 8) with the moving average's decay.
let private tiny (decay: float) = { Gan.mlpB with LatentSize = 4; HiddenWidth = 8; EmaDecay = decay }

/// Every parameter and buffer of a network as float arrays, by name.
let private stateOf (net: Net) =
    [ for KeyValue (n, t) in net.state_dict() -> n, t.detach().cpu().to_type(torch.float32).data<float32>().ToArray() ]

let private batchOf (data: Split) : Batch = { Inputs = data.Images * 2.0f - 1.0f; Targets = data.Labels }

let private quiet = { OnStep = ignore; Log = ignore; OnWork = ignore }

/// The weights of the moving average in a trainer's modules (`generator-ema.*`).
let private emaWeights (t: Trainer) =
    TestData.weightsOf t |> List.filter (fun (n, _) -> n.StartsWith(Gan.emaModuleName + "."))

[<Tests>]
let tests =
    testList "Models.GanEma" [
        test "without ema there is no moving average, and the trainer's modules are G and D as before" {
            Device.seed 1L
            let m = Gan.create (tiny 0.0)
            Expect.isNone m.Ema "no moving average"
            Expect.equal ((Gan.trainer m).Modules |> List.map fst) [ "generator"; "discriminator" ] "the modules of earlier versions"
            Expect.isTrue (obj.ReferenceEquals(Gan.samplingNetwork m, m.Generator)) "sampling uses G"
        }

        test "the decay is read from --set ema and must be in [0, 1), naming ema" {
            let c = SettingsTable.read Gan.settings Gan.mlpA [ "ema", "0.999" ]
            Expect.equal c.EmaDecay 0.999 "--set ema=0.999"
            Expect.contains (SettingsTable.print Gan.settings c) ("ema", "0.999") "printed back"
            for bad in [ 1.0; -0.1; nan; 1.5 ] do
                let e = TestData.raises<ArgumentException> (fun () -> Gan.validate { Gan.mlpA with EmaDecay = bad })
                Expect.equal e.ParamName "ema" (sprintf "decay %g" bad)
        }

        test "the moving average starts as a copy of G, frozen, and turning it on changes nothing else the seed determines" {
            Device.seed 2L
            let plain = Gan.create (tiny 0.0)
            use afterPlain = torch.rand(3L)
            Device.seed 2L
            let m = Gan.create (tiny 0.9)
            use afterEma = torch.rand(3L)
            let ema = Expect.wantSome m.Ema "a moving average"
            Expect.equal (stateOf ema) (stateOf m.Generator) "a copy of G's parameters and buffers"
            Expect.all (ema.parameters()) (fun p -> not p.requires_grad) "no gradients for the average"
            Expect.equal (stateOf m.Generator) (stateOf plain.Generator) "the same G as without the average"
            Expect.equal (stateOf m.Discriminator) (stateOf plain.Discriminator) "the same D"
            Expect.isTrue (m.FixedNoise.Equals plain.FixedNoise) "the same fixed noise"
            Expect.isTrue (afterEma.Equals afterPlain) "the global generator is where it would be without the average"
            let t = Gan.trainer m
            Expect.equal (t.Modules |> List.map fst) [ "generator"; "discriminator"; Gan.emaModuleName ] "the average is a module of the trainer"
            Expect.equal (t.Optimizers |> List.map fst) [ "generator"; "discriminator" ] "no optimiser of its own"
        }

        test "the average follows the closed form decay^k·init + Σ (1 - decay)·decay^(k-i)·g_i" {
            Device.seed 3L
            let decay = 0.8
            let m = Gan.create (tiny decay)
            let ema = m.Ema.Value
            let initial = stateOf ema
            // G's parameters are set to known values before each update, as an optimiser would move them.
            let values = [ 0.5; -1.25; 2.0; 0.75 ]
            for v in values do
                use _ = torch.no_grad()
                for p in m.Generator.parameters() do p.fill_(v) |> ignore
                Gan.updateEma m
            let k = values.Length
            let expectedOf (init: float32) =
                Math.Pow(decay, float k) * float init
                + (values |> List.mapi (fun i v -> (1.0 - decay) * Math.Pow(decay, float (k - 1 - i)) * v) |> List.sum)
            for (name, before), (name', after) in List.zip initial (stateOf ema) do
                Expect.equal name' name "same entries"
                for i in 0 .. before.Length - 1 do
                    let expected = expectedOf before.[i]
                    if abs (float after.[i] - expected) > 1e-5 * (1.0 + abs expected) then
                        failtestf "%s[%d]: %g, expected %g" name i after.[i] expected
        }

        test "batch norm's buffers of the average are G's after an update" {
            Device.seed 4L
            let m = Gan.create { Gan.dcganA with EmaDecay = 0.99 }
            // A training-mode forward pass moves G's running statistics and counters.
            do
                use _ = torch.no_grad()
                use z = Gan.noise m.Config torch.CPU 8L
                m.Generator.train()
                m.Generator.forward(z).Dispose()
            let buffers (net: Net) = [ for struct (n, b) in net.named_buffers() -> n, b.detach().to_type(torch.float64).data<float>().ToArray() ]
            Expect.notEqual (buffers m.Ema.Value) (buffers m.Generator) "G's statistics moved"
            Gan.updateEma m
            Expect.isNonEmpty (buffers m.Generator) "DCGAN-A's G has batch-norm buffers"
            Expect.equal (buffers m.Ema.Value) (buffers m.Generator) "copied, not averaged"
        }

        test "with ema on, a train step moves the average, and sampling, the fixed grid and decoding use it, not G" {
            Device.seed 5L
            let m = Gan.create (tiny 0.5)
            let t = Gan.trainer m
            let data = TestData.bars 16 1L
            let ema0 = stateOf m.Ema.Value
            t.Step (batchOf data) |> ignore
            let ema = m.Ema.Value
            Expect.notEqual (stateOf ema) ema0 "the step updated the average"
            Expect.notEqual (stateOf ema) (stateOf m.Generator) "the average is not G"
            Trainer.eval t
            use _ = torch.no_grad()
            use z = (use g = new torch.Generator(21UL) in Gan.noiseWith g m.Config torch.CPU 6L)
            use byEma = ema.forward(z)
            use byG = m.Generator.forward(z)
            Expect.isFalse (torch.allclose(byEma, byG)) "G and the average draw different images"
            use sampled = (use g = new torch.Generator(21UL) in Gan.sampleWith g m 6)
            Expect.isTrue (sampled.Equals byEma) "sampleWith draws with the average"
            use raw = (use g = new torch.Generator(21UL) in Gan.sampleRawWith g m 6)
            Expect.isTrue (raw.Equals byG) "sampleRawWith draws with G"
            use grid = Gan.fixedSamples m
            use gridByEma = ema.forward(m.FixedNoise)
            Expect.isTrue (grid.Equals gridByEma) "the fixed-noise grid is the average's"
            use generated = Gan.generateSamples m z
            Expect.isTrue (generated.Equals byEma) "decoding given noise uses the average"
            use trained = Gan.generate m z
            Expect.isTrue (trained.Equals byG) "generate stays G's (what training uses)"
        }

        test "a catalog GAN with ema samples and decodes with the average" {
            Device.seed 6L
            let entry = Catalog.find "gan-mlp"
            let settings = [ "variant", "b"; "hidden-width", "8"; "latent-size", "4"; "ema", "0.5" ]
            let model = (entry.Configure settings).Build torch.CPU
            let data = TestData.bars 16 2L
            model.Trainer.Step (batchOf data) |> ignore
            Trainer.eval model.Trainer
            let emaOf (name: string) = model.Trainer.Modules |> List.find (fst >> (=) name) |> snd
            Expect.equal (model.Trainer.Modules |> List.map fst) [ "generator"; "discriminator"; Gan.emaModuleName ] "modules"
            use _ = torch.no_grad()
            use z = (use g = new torch.Generator(3UL) in Gan.noiseWith g (tiny 0.5) torch.CPU 5L)
            use byEma = (emaOf Gan.emaModuleName :?> Net).forward(z)
            use sampled = (use g = new torch.Generator(3UL) in model.Sample.Value g 5)
            Expect.isTrue (sampled.Equals byEma) "the run model's sampler is the average"
            use decoded = model.Decode.Value z
            Expect.isTrue (decoded.Equals byEma) "the run model's decoder is the average"
            use byG = (emaOf "generator" :?> Net).forward(z)
            Expect.isFalse (torch.allclose(byEma, byG)) "which is not G"
        }

        test "the per-epoch test measures the average's and the raw G's Frechet distances on the same reference and noise" {
            Device.seed 10L
            let m = Gan.create (tiny 0.5)
            let t = Gan.trainer m
            t.Step (batchOf (TestData.bars 16 5L)) |> ignore
            Trainer.eval t
            let net = TestData.tinyFeatureNetwork ()
            let mutable chosen = 0
            let source : FeatureSource = fun _ -> chosen <- chosen + 1; Ok (net, "bars", fun x -> x)
            use part = TestData.bars 40 3L
            let terms = GanEntries.ganEpochTest source m part
            Expect.equal chosen 1 "the feature network is chosen once for both"
            Expect.equal (terms.Keys |> List.ofSeq) [ "Frechet distance"; GanEntries.rawFrechetDistance ] "the average's and the raw G's"
            let single (sample: torch.Generator -> int -> Tensor) = (GanEntries.epochFrechetDistance source id sample part).["Frechet distance"]
            Expect.floatClose Accuracy.medium terms.["Frechet distance"] (single (fun g n -> Gan.sampleWith g m n)) "the average's distance"
            Expect.floatClose Accuracy.medium terms.[GanEntries.rawFrechetDistance] (single (fun g n -> m.Generator.forward(Gan.noiseWith g m.Config torch.CPU (int64 n)))) "G's distance"
            Expect.notEqual terms.["Frechet distance"] terms.[GanEntries.rawFrechetDistance] "two networks, two distances"
            Expect.equal (RunModel.epochTestTerm GanEntries.rawFrechetDistance) "test Frechet distance (raw G)" "its epoch term"
            let without = GanEntries.ganEpochTest source { m with Ema = None } part
            Expect.equal (without.Keys |> List.ofSeq) [ "Frechet distance" ] "without the average, only G's"
            Expect.equal chosen 4 "one network and reference for both distances (and one for each single measure)"
        }

        test "a checkpoint and a model file hold the average's weights" {
            let folder = TestData.tempFolder "ema-checkpoint"
            try
                let entry = Catalog.find "gan-mlp"
                let settings = [ "variant", "b"; "hidden-width", "8"; "latent-size", "4"; "ema", "0.9" ]
                Device.seed 7L
                let model = (entry.Configure settings).Build torch.CPU
                let data = TestData.bars 16 4L
                for _ in 1 .. 3 do model.Trainer.Step (batchOf data) |> ignore
                let saved = emaWeights model.Trainer
                Expect.isNonEmpty saved "the trainer's weights include the average"
                let info = { ModelId = "gan-mlp"; Settings = settings; Position = { Epoch = 1; StepInEpoch = 3; Step = 3L }; CreatedUtc = DateTime.UtcNow }
                let ck = Checkpoint.save (Path.Combine(folder, "checkpoints")) 1 model.Trainer History.empty info
                Device.seed 8L
                let other = (entry.Configure settings).Build torch.CPU
                Expect.notEqual (emaWeights other.Trainer) saved "another seed, another average"
                Checkpoint.restore ck false other.Trainer |> ignore
                Expect.equal (emaWeights other.Trainer) saved "the checkpoint restores the average"
                Expect.equal (TestData.weightsOf other.Trainer) (TestData.weightsOf model.Trainer) "and everything else"
                // A model file: saved and loaded back, it samples with the same average.
                let path = Path.Combine(folder, "gan.safetensors")
                Experiment.saveModel path "gan-mlp" (entry.Configure settings).Settings "minus-one-one" model
                Device.seed 9L
                let _, loadedSettings, _, loaded = Experiment.loadModel path Cpu
                Expect.contains loadedSettings ("ema", "0.9") "the file's settings turn the average on"
                Expect.equal (emaWeights loaded.Trainer) saved "the file holds the average"
                Trainer.eval model.Trainer
                let draw (m: RunModel) = (use g = new torch.Generator(12UL) in m.Sample.Value g 8)
                use a = draw model
                use b = draw loaded
                Expect.isTrue (a.Equals b) "the same samples"
            finally Directory.Delete(folder, true)
        }

        test "a run with ema stopped mid-epoch and resumed ends bit-exact with an uninterrupted one, average included" {
            TestData.withEmptyCache (fun () ->
                let folder = TestData.tempFolder "ema-resume"
                try
                    let settings run =
                        { Experiment.defaults "gan-mlp" with
                            Epochs = 2; BatchSize = 16; Device = Cpu; RunFolder = Some (Path.Combine(folder, run)); PictureCount = 4
                            EpochTestImages = 0; ModelSettings = [ "variant", "b"; "hidden-width", "8"; "latent-size", "4"; "ema", "0.9" ] }
                    use data = TestData.barsData 64 16
                    let straightModel = Experiment.buildModel (settings "straight")
                    let straight = Experiment.fitModel (settings "straight") straightModel data quiet CancellationToken.None
                    Expect.equal straight.Outcome Completed "the uninterrupted run completes"
                    // 4 steps an epoch: stopped after step 6, in the middle of epoch 2 (its checkpoint is saved then).
                    use cts = new CancellationTokenSource()
                    let s = settings "resumed"
                    let stopped = Experiment.fitModel s (Experiment.buildModel s) data { quiet with OnStep = fun p -> if p.Step = 6L then cts.Cancel() } cts.Token
                    Expect.equal stopped.Outcome Cancelled "stopped mid-epoch"
                    let resumedModel = Experiment.buildModel s
                    let resumed = Experiment.resumeModel (Path.Combine(folder, "resumed")) None Cpu resumedModel data quiet CancellationToken.None
                    Expect.equal resumed.Outcome Completed "the resumed run completes"
                    let termsOf (r: RunResult) = r.History.Steps |> List.map (fun st -> st.Terms)
                    Expect.equal (termsOf resumed) (termsOf straight) "the same loss terms at every step"
                    Expect.isNonEmpty (emaWeights resumedModel.Trainer) "the average is among the weights"
                    Expect.equal (emaWeights resumedModel.Trainer) (emaWeights straightModel.Trainer) "the same average"
                    Expect.equal (TestData.weightsOf resumedModel.Trainer) (TestData.weightsOf straightModel.Trainer) "the same weights"
                    Trainer.eval straightModel.Trainer
                    Trainer.eval resumedModel.Trainer
                    let draw (m: RunModel) = (use g = new torch.Generator(4UL) in m.Sample.Value g 8)
                    use a = draw straightModel
                    use b = draw resumedModel
                    Expect.isTrue (a.Equals b) "the same samples"
                finally Directory.Delete(folder, true))
        }
    ]
