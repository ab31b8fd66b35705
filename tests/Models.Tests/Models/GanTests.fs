module Generative.Tests.Models.GanTests

open System
open System.IO
open System.Threading
open Expecto
open TorchSharp
open Generative
open Generative.Tests

let private presets =
    [ "GAN-MLP-A", Gan.mlpA; "GAN-MLP-B", Gan.mlpB; "GAN-MLP-C", Gan.mlpC; "LSGAN", Gan.lsgan
      "DCGAN-A", Gan.dcganA; "DCGAN-B", Gan.dcganB ]

let private parameters (net: Net) = net.parameters() |> Seq.sumBy (fun p -> p.numel())

/// Every parameter of a network as float arrays, by name.
let private snapshot (net: Net) =
    [ for struct (n, p) in net.named_parameters() -> n, p.detach().clone().data<float32>().ToArray() ]

let private changed before after =
    List.zip before after |> List.filter (fun ((_, a), (_, b)) -> a <> b) |> List.map (fst >> fst)

let private config = { FsCheckConfig.defaultConfig with maxTest = 12 }

// Networks are created once (DCGAN-B alone has 10M parameters); properties then vary the batch size.
let private created = lazy (Device.seed 11L; presets |> List.map (fun (name, c) -> name, Gan.create c))

let private paramOf (f: unit -> unit) = (TestData.raises<ArgumentException> f).ParamName

[<Tests>]
let tests =
    testList "Models.Gan" [
        testPropertyWithConfig config "G maps any batch of noise to [N,1,28,28] in [-1,1] and D maps images to [N,1]" <| fun (n0: FsCheck.PositiveInt) ->
            // Batch norm needs two samples per batch in training mode; one works in evaluation mode.
            let n = 1 + n0.Get % 9
            for name, m in created.Force() do
                use _ = torch.NewDisposeScope()
                if n = 1 then m.Generator.eval() else m.Generator.train()
                let images = Gan.generate m (Gan.noise m.Config torch.CPU (int64 n))
                Expect.equal images.shape [| int64 n; 1L; 28L; 28L |] (sprintf "%s: G output shape" name)
                Expect.isTrue (images.min().ToSingle() >= -1.0f && images.max().ToSingle() <= 1.0f) (sprintf "%s: tanh range" name)
                let d = Gan.discriminate m images
                Expect.equal d.shape [| int64 n; 1L |] (sprintf "%s: D output shape" name)
                if Gan.discriminatorOutput m.Config.Architecture = Probability then
                    Expect.isTrue (d.min().ToSingle() >= 0.0f && d.max().ToSingle() <= 1.0f) (sprintf "%s: probabilities" name)
                m.Generator.train()

        test "the networks have the sources' sizes" {
            let count name = created.Force() |> List.find (fst >> (=) name) |> snd
            let g name = parameters (count name).Generator
            let d name = parameters (count name).Discriminator
            // GAN-MLP-A: 64·256+256 + 256·512+512 + 512·784+784; D 784·256+256 + 256·128+128 + 128+1.
            Expect.equal (g "GAN-MLP-A") 550416L "GAN-MLP-A generator"
            Expect.equal (d "GAN-MLP-A") 233985L "GAN-MLP-A discriminator"
            // GAN-MLP-C: 96·1024+1024 + 1024·1024+1024 + 1024·784+784; D 784·256+256 + 256·256+256 + 256+1.
            Expect.equal (g "GAN-MLP-C") 1952528L "GAN-MLP-C generator"
            Expect.equal (d "GAN-MLP-C") 267009L "GAN-MLP-C discriminator"
            // DCGAN-B: the cookbook's 6.75M-parameter generator (6,751,233 with batch norm's scale and shift).
            Expect.equal (g "DCGAN-B") 6751233L "DCGAN-B generator"
            Expect.equal (d "DCGAN-B") 3485441L "DCGAN-B discriminator"
            // DCGAN-A: D conv 1·32·25+32, conv 32·64·25+64, FC 1024·1024+1024, 1024+1.
            Expect.equal (d "DCGAN-A") 1102721L "DCGAN-A discriminator"
        }

        test "a discriminator step changes only D, and a generator step changes only G with D frozen" {
            Device.seed 3L
            let m = Gan.create Gan.mlpA
            let gOpt = Optim.create m.Config.GeneratorOptimizer (m.Generator.parameters())
            let dOpt = Optim.create m.Config.DiscriminatorOptimizer (m.Discriminator.parameters())
            use real = (TestData.bars 16 1L).Images * 2.0f - 1.0f
            use z = Gan.noise m.Config torch.CPU 16L
            use fake = Gan.generate m z
            let g0, d0 = snapshot m.Generator, snapshot m.Discriminator
            let dTerms = Gan.discriminatorStep m dOpt real fake
            let g1, d1 = snapshot m.Generator, snapshot m.Discriminator
            Expect.isEmpty (changed g0 g1) "the D step leaves G alone"
            Expect.equal (changed d0 d1).Length d0.Length "the D step updates every D parameter"
            // G's optimiser gives G zero gradients when it is built (they live in its flat buffer).
            let noGradient (p: Modules.Parameter) = use g = p.grad in isNull g || (use m = g.abs().max() in m.ToDouble() = 0.0)
            Expect.all (m.Generator.parameters()) noGradient "fakes are detached: no gradient reaches G"
            Expect.equal (dTerms.Keys |> Set.ofSeq) (set [ "d_loss"; "d_real"; "d_fake" ]) "D terms"
            let gTerms = Gan.generatorStep m gOpt fake
            let g2, d2 = snapshot m.Generator, snapshot m.Discriminator
            Expect.isEmpty (changed d1 d2) "the G step leaves D alone"
            Expect.equal (changed g1 g2).Length g1.Length "the G step updates every G parameter"
            Expect.all (m.Discriminator.parameters()) (fun p -> p.requires_grad) "D is unfrozen after the G step"
            Expect.equal (gTerms.Keys |> List.ofSeq) [ "g_loss" ] "G term"
        }

        test "with k discriminator steps per generator step, G trains on every k-th trainer step only" {
            Device.seed 4L
            let m = Gan.create { Gan.mlpC with DiscriminatorSteps = 2 }
            let trainer = Gan.trainer m
            let data = TestData.bars 32 2L
            let batch : Batch = { Inputs = data.Images * 2.0f - 1.0f; Targets = data.Labels }
            let g0 = snapshot m.Generator
            let first = trainer.Step batch
            Expect.isEmpty (changed g0 (snapshot m.Generator)) "step 1: D only"
            Expect.isFalse (first.ContainsKey "g_loss") "step 1 reports no G loss"
            let second = trainer.Step batch
            Expect.isNonEmpty (changed g0 (snapshot m.Generator)) "step 2: G too"
            Expect.isTrue (second.ContainsKey "g_loss") "step 2 reports the G loss"
        }

        test "WGAN-GP adds a gradient-penalty term to the D loss" {
            Device.seed 5L
            let m = Gan.create { Gan.mlpC with Loss = GanLoss.wassersteinGp }
            let trainer = Gan.trainer m
            let data = TestData.bars 16 3L
            let terms = trainer.Step { Inputs = data.Images * 2.0f - 1.0f; Targets = data.Labels }
            Expect.isTrue (terms.ContainsKey "d_penalty") "penalty reported"
            Expect.isGreaterThanOrEqual terms.["d_penalty"] 0.0 "penalty >= 0"
            Expect.floatClose Accuracy.medium terms.["d_loss"] (terms.["d_fake"] - terms.["d_real"] + terms.["d_penalty"]) "d_loss = mean D(G(z)) - mean D(x) + penalty"
        }

        test "R1 adds d_r1 = γ/2 E‖∇D(x)‖² of what D outputs on the real batch to d_loss (probabilities for a sigmoid D)" {
            for name, c in [ "GAN-MLP-C (logits)", Gan.mlpC; "GAN-MLP-A (probabilities)", Gan.mlpA; "WGAN-GP", { Gan.mlpC with Loss = GanLoss.wassersteinGp } ] do
                Device.seed 12L
                let m = Gan.create { c with R1Weight = 10.0 }
                let plain = { m with Config = { m.Config with R1Weight = 0.0 } }
                use real = (TestData.bars 16 6L).Images * 2.0f - 1.0f
                use z = Gan.noise m.Config torch.CPU 16L
                use fake = Gan.generate m z
                let number (terms: Map<string, Tensor>) key = terms.[key].ToDouble()
                // Seeded alike: WGAN-GP's penalty draws its interpolation from the global generator.
                Device.seed 13L
                let withR1 = Gan.discriminatorLoss m real fake
                Device.seed 13L
                let without = Gan.discriminatorLoss plain real fake
                Expect.isFalse (without.ContainsKey "d_r1") (name + ": no d_r1 when off")
                Expect.isTrue (withR1.ContainsKey "d_r1") (name + ": d_r1 reported")
                use expected = GanLoss.r1Penalty 10.0 (Gan.discriminate m) real
                Expect.floatClose Accuracy.high (number withR1 "d_r1") (expected.ToDouble()) (name + ": d_r1 is the R1 penalty of D's output")
                Expect.isGreaterThan (number withR1 "d_r1") 0.0 (name + ": and not zero")
                Expect.floatClose Accuracy.high (number withR1 "d_loss") (number without "d_loss" + number withR1 "d_r1") (name + ": d_loss includes it")
                // The R1 term reaches D's parameters (its gradient is not detached).
                for p in m.Discriminator.parameters() do p.grad <- null
                withR1.["d_r1"].backward()
                Expect.isTrue (m.Discriminator.parameters() |> Seq.exists (fun p -> not (isNull p.grad) && p.grad.abs().sum().ToDouble() > 0.0)) (name + ": R1 has a gradient in D")
        }

        test "spectral-norm normalises every linear and convolution layer of every architecture's D, and a step updates v" {
            for name, c, layers in [ "GAN-MLP-A", Gan.mlpA, 3; "GAN-MLP-B", Gan.mlpB, 2; "GAN-MLP-C", Gan.mlpC, 3; "DCGAN-A", Gan.dcganA, 4; "DCGAN-B", Gan.dcganB, 4 ] do
                use _ = torch.NewDisposeScope()
                Device.seed 14L
                let plain = Gan.create c
                Device.seed 14L
                let m = Gan.create { c with SpectralNorm = true }
                let modules = [ for struct (_, x) in m.Discriminator.named_modules() -> x ]
                Expect.equal (modules |> List.filter SpectralNorm.supports).Length 0 (name + ": no raw Linear or Conv2d left in D")
                Expect.equal (modules |> List.filter (fun x -> x :? SpectralNormalized)).Length layers (name + ": every one normalised")
                let keys = m.Discriminator.state_dict().Keys |> List.ofSeq
                let plainKeys = plain.Discriminator.state_dict().Keys |> List.ofSeq
                let weights = plainKeys |> List.filter (fun k -> k.EndsWith ".weight")
                Expect.equal weights.Length layers (name + ": the plain D's weights keep their names")
                for k in weights do
                    let prefix = k.Substring(0, k.Length - "weight".Length)
                    for suffix in [ "weight_orig"; "weight_u"; "weight_v"; "bias" ] do
                        Expect.contains keys (prefix + suffix) (sprintf "%s: %s%s in D's state dict" name prefix suffix)
                    // The raw weights are drawn (and re-initialised, DCGAN-B) as without spectral norm; u and v after.
                    Expect.isTrue (m.Discriminator.state_dict().[prefix + "weight_orig"].Equals(plain.Discriminator.state_dict().[k])) (sprintf "%s: %s as without" name k)
                Expect.equal (Set.ofList (List.filter (fun (k: string) -> not (k.EndsWith "_u" || k.EndsWith "_v")) keys))
                    (Set.ofList (plainKeys |> List.map (fun k -> if k.EndsWith ".weight" then k + "_orig" else k))) (name + ": nothing else changes")
                Expect.equal (m.Generator.state_dict().Keys |> List.ofSeq) (plain.Generator.state_dict().Keys |> List.ofSeq) (name + ": G is untouched")
                // v, not u: a layer with one output has u = ±1 whatever the iteration.
                let v0 = [ for KeyValue (k, t) in m.Discriminator.state_dict() do if k.EndsWith "weight_v" then k, t.clone() ]
                let data = TestData.bars 8 7L
                let terms = (Gan.trainer m).Step { Inputs = data.Images * 2.0f - 1.0f; Targets = data.Labels }
                Expect.all (terms |> Map.toList) (fun (_, v) -> Double.IsFinite v) (name + ": finite terms")
                for k, before in v0 do
                    Expect.isFalse (m.Discriminator.state_dict().[k].Equals before) (sprintf "%s: %s moved by the step's power iterations" name k)
        }

        test "minibatch-stddev gives every architecture's D output layer one more input, fed by the whole batch" {
            for name, c in presets do
                use _ = torch.NewDisposeScope()
                Device.seed 15L
                let plain = Gan.create c
                Device.seed 15L
                // DCGAN-A also with spectral norm, as dcgan-plus could combine them: the normalised output layer must
                // take the extra input too (spectral norm adds buffers, not parameters, so the count stays plain + 1).
                let m = Gan.create { c with MinibatchStddev = true; SpectralNorm = (name = "DCGAN-A") }
                let plainSize = parameters plain.Discriminator
                Expect.equal (parameters m.Discriminator) (plainSize + 1L) (name + ": one more weight, in the output layer")
                m.Discriminator.eval()
                use _ = torch.no_grad()
                let data = TestData.bars 6 7L
                let images = data.Images * 2.0f - 1.0f
                let d = Gan.discriminate m images
                Expect.equal d.shape [| 6L; 1L |] (name + ": D still maps images to [N,1]")
                // The first image's output changes when only the other images of its batch do: D sees the batch.
                let others = torch.cat([| images.narrow(0L, 0L, 1L); images.narrow(0L, 1L, 5L).flip(3L) |], 0L)
                let first (x: Tensor) = (Gan.discriminate m x).[0L, 0L].ToDouble()
                Expect.notEqual (first others) (first images) (name + ": D(x) depends on the rest of the batch")
                let firstPlain (x: Tensor) = (Gan.discriminate plain x).[0L, 0L].ToDouble()
                plain.Discriminator.eval()
                Expect.equal (firstPlain others) (firstPlain images) (name + ": without it, it does not")
        }

        testTheory "with spectral norm, R1 and the minibatch standard deviation, a run stopped mid-epoch and resumed from its checkpoint ends bit-exact with an uninterrupted one"
                   [ "fp32"; "bf16" ] <| fun precision ->
            let straightFolder, partFolder = TestData.tempFolder "gan-sn-straight", TestData.tempFolder "gan-sn-resumed"
            try
                use data = TestData.barsData 48 8
                let settings folder =
                    { Experiment.defaults "gan-mlp" with
                        ModelSettings = [ "variant", "c"; "spectral-norm", "true"; "r1", "10"; "minibatch-stddev", "true"; "precision", precision ]
                        Epochs = 2; BatchSize = 16; Device = Cpu; RunFolder = Some folder; PictureCount = 4; EpochTestImages = 0 }
                let quiet = { OnStep = ignore; Log = ignore; OnWork = ignore }
                let straightModel = Experiment.buildModel (settings straightFolder)
                let straight = Experiment.fitModel (settings straightFolder) straightModel data quiet CancellationToken.None
                Expect.equal straight.Outcome Completed "the uninterrupted run"
                use cts = new CancellationTokenSource()
                // 3 steps per epoch: stopped after step 4, in the middle of epoch 2 (its checkpoint is saved then).
                let stopped =
                    Experiment.fitModel (settings partFolder) (Experiment.buildModel (settings partFolder)) data
                        { quiet with OnStep = fun p -> if p.Step = 4L then cts.Cancel() } cts.Token
                Expect.equal stopped.Outcome Cancelled "stopped"
                // A fresh model drawn from another seed: everything must come from the checkpoint.
                Device.seed 99L
                let resumedModel = (Catalog.find "gan-mlp").Configure((settings partFolder).ModelSettings).Build torch.CPU
                let resumed = Experiment.resumeModel partFolder None Cpu resumedModel data quiet CancellationToken.None
                Expect.equal resumed.Outcome Completed "resumed to the end"
                let final = TestData.weightsOf resumedModel.Trainer
                Expect.contains (List.map fst final) "discriminator.1.weight_u" "the checkpointed state holds u"
                Expect.equal final (TestData.weightsOf straightModel.Trainer) "bit-exact weights, u and v included"
                let steps folder =
                    let path = RunFolder.metricsPath folder
                    (History.ofCsv path (File.ReadAllText path)).Steps |> List.map (fun s -> s.Step, s.Terms)
                Expect.equal (steps partFolder) (steps straightFolder) "the same terms at every step"
                Expect.isTrue (steps straightFolder |> List.forall (fun (_, t) -> t.ContainsKey "d_r1")) "d_r1 recorded at every step"
            finally
                Directory.Delete(straightFolder, true)
                Directory.Delete(partFolder, true)

        test "a GAN learns the data's mean image within seconds" {
            // GAN training oscillates around its equilibrium, so one snapshot of G can be far off while the
            // average over training is close (the time average of the dynamics): the test reads the average.
            Device.seed 6L
            let m = Gan.create { Gan.mlpA with FlipProbability = 0.0 }
            let trainer = Gan.trainer m
            let data = TestData.bars 256 4L
            use real = data.Images * 2.0f - 1.0f
            use target = real.mean([| 0L |])
            let meanImage () =
                use _ = torch.no_grad()
                use s = Gan.sample m 256
                s.mean([| 0L |])
            let distance (image: Tensor) = (image - target).square().mean().ToDouble()
            let before = distance (meanImage ())
            use average = torch.zeros_like(target)
            let mutable snapshots = 0
            for i in 0 .. 299 do
                use _ = torch.NewDisposeScope()
                let idx = torch.arange(int64 ((i * 32) % 256), int64 ((i * 32) % 256 + 32), dtype = torch.int64)
                trainer.Step { Inputs = real.index_select(0L, idx); Targets = data.Labels.index_select(0L, idx) } |> ignore
                if i >= 100 && i % 10 = 0 then
                    average.add_(meanImage ()) |> ignore
                    snapshots <- snapshots + 1
            let after = distance (average / float32 snapshots)
            Expect.isLessThan after (before * 0.5) (sprintf "distance of the mean generated image to the data's: %g -> %g" before after)
        }

        test "settings round-trip and bad settings are rejected naming them" {
            for name, c in presets do
                let table = Gan.settings @ Gan.hiddenSettings
                let back = SettingsTable.read table Gan.mlpA (SettingsTable.print table c)
                Expect.equal (SettingsTable.print table back) (SettingsTable.print table c) (sprintf "%s settings" name)
                Expect.equal back.Loss.Name c.Loss.Name (sprintf "%s loss" name)
            Expect.equal (Catalog.withoutLegacyAuto [ "latent-size", "auto"; "variant", "c" ]) [ "variant", "c" ] "version 1's auto means the preset's value"
            Expect.equal (paramOf (fun () -> Gan.validate { Gan.mlpA with LatentSize = 0 })) "latent-size" "latent size"
            Expect.equal (paramOf (fun () -> Gan.validate { Gan.mlpA with DiscriminatorSteps = 0 })) "d-steps" "D steps"
            Expect.equal (paramOf (fun () -> Gan.validate { Gan.mlpA with FlipProbability = 1.5 })) "flip" "flip"
            Expect.equal (paramOf (fun () -> Gan.validate { Gan.mlpA with Loss = GanLoss.hinge })) "loss" "hinge needs scores"
            Expect.equal (paramOf (fun () -> SettingsTable.read Gan.settings Gan.mlpA [ "noise", "cauchy" ] |> ignore)) "noise" "noise"
            Expect.equal (paramOf (fun () -> Gan.mlpVariant "d" |> ignore)) "variant" "variant"
        }

        test "noise follows its distribution" {
            Device.seed 7L
            use u = Gan.noise Gan.mlpC torch.CPU 4096L
            Expect.isTrue (u.min().ToSingle() >= -1.0f && u.max().ToSingle() <= 1.0f) "uniform in [-1,1]"
            Expect.floatClose { absolute = 0.02; relative = 0.0 } (u.var().ToDouble()) (1.0 / 3.0) "variance of U[-1,1] is 1/3"
            use n = Gan.noise Gan.mlpA torch.CPU 4096L
            Expect.floatClose { absolute = 0.03; relative = 0.0 } (n.std().ToDouble()) 1.0 "standard normal"
        }

        test "random flips mirror exactly the chosen images" {
            Device.seed 8L
            let data = TestData.bars 64 5L
            use flipped = Gan.augment { Gan.mlpA with FlipProbability = 0.5 } data.Images
            let same = [ for i in 0L .. 63L -> torch.allclose(flipped.[i], data.Images.[i]) ]
            let mirrored = [ for i in 0L .. 63L -> torch.allclose(flipped.[i], data.Images.[i].flip(2L)) ]
            Expect.isTrue (List.forall2 (||) same mirrored) "every image is itself or its mirror image"
            let count = mirrored |> List.filter id |> List.length
            Expect.isTrue (count > 16 && count < 48) (sprintf "about half are flipped (%d of 64)" count)
            use none = Gan.augment Gan.mlpC data.Images
            Expect.isTrue (torch.allclose(none, data.Images)) "flip 0 leaves the batch alone"
        }

        test "a saved GAN loads back and samples the same images" {
            let folder = TestData.tempFolder "gan-save"
            try
                let entry = Catalog.find "gan-mlp"
                let settings = [ "variant", "b" ]
                Device.seed 9L
                let model = (entry.Configure settings).Build torch.CPU
                let path = Path.Combine(folder, "gan.safetensors")
                Experiment.saveModel path "gan-mlp" (entry.Configure settings).Settings "minus-one-one" model
                Device.seed 10L
                let id, loadedSettings, norm, loaded = Experiment.loadModel path Cpu
                Expect.equal id "gan-mlp" "model id"
                Expect.equal norm "minus-one-one" "normalisation"
                Expect.equal loadedSettings (entry.Configure settings).Settings "settings"
                Trainer.eval model.Trainer
                let draw (m: RunModel) = (use g = new torch.Generator(12UL) in m.Sample.Value g 8)
                use a = draw model
                use b = draw loaded
                Expect.isTrue (torch.allclose(a, b)) "same samples from the same noise"
            finally Directory.Delete(folder, true)
        }

        test "dcgan-plus is DCGAN-A with the hinge loss, spectral norm and a moving average of G, at batch 128, and DCGAN-A stays the source's" {
            let printed c = SettingsTable.print Gan.settings c
            let differing = List.zip (printed Gan.dcganA) (printed Gan.dcganPlus) |> List.filter (fun (a, b) -> a <> b) |> List.map snd
            Expect.equal differing [ "loss", "hinge"; "ema", "0.995"; "spectral-norm", "true" ] "only the loss, the average and spectral norm differ"
            Expect.equal Gan.dcganPlus.Architecture DcganA "DCGAN-A's networks"
            Expect.equal (Gan.dcganA.Loss.Name, Gan.dcganA.EmaDecay) (GanLoss.nonSaturating.Name, 0.0) "the faithful preset is unchanged"
            let entry = Catalog.find "dcgan-plus"
            Expect.equal entry.BatchSize 128 "batch 128"
            Expect.equal ((entry.Configure []).Settings |> List.filter (fun (k, _) -> k = "loss" || k = "ema" || k = "spectral-norm"))
                [ "loss", "hinge"; "ema", "0.995"; "spectral-norm", "true" ] "its settings say so"
        }

        test "gan-mlp-plus is GAN-MLP-C with the hinge loss, the minibatch standard deviation and a moving average of G, at batch 16, and GAN-MLP-C stays the source's" {
            let printed c = SettingsTable.print Gan.settings c
            let differing = List.zip (printed Gan.mlpC) (printed Gan.mlpPlus) |> List.filter (fun (a, b) -> a <> b) |> List.map snd
            Expect.equal differing [ "loss", "hinge"; "ema", "0.999"; "minibatch-stddev", "true" ] "only the loss, the average and the batch's deviation differ"
            Expect.equal Gan.mlpPlus.Architecture MlpC "GAN-MLP-C's networks"
            Expect.equal (Gan.mlpC.Loss.Name, Gan.mlpC.EmaDecay, Gan.mlpC.MinibatchStddev) (GanLoss.nonSaturating.Name, 0.0, false) "the faithful preset is unchanged"
            let entry = Catalog.find "gan-mlp-plus"
            Expect.equal entry.BatchSize 16 "batch 16"
            Expect.equal ((entry.Configure []).Settings |> List.filter (fun (k, _) -> k = "loss" || k = "ema" || k = "minibatch-stddev"))
                [ "loss", "hinge"; "ema", "0.999"; "minibatch-stddev", "true" ] "its settings say so"
        }

        test "catalog entries build, picture the fixed noise and sample" {
            for id in [ "gan-mlp"; "lsgan"; "dcgan"; "dcgan-keras"; "dcgan-plus"; "gan-mlp-plus" ] do
                use _ = torch.NewDisposeScope()
                let entry = Catalog.find id
                Device.seed 1L
                let m = (entry.Configure []).Build torch.CPU
                Expect.equal entry.Normalization "minus-one-one" (sprintf "%s: [-1,1] data" id)
                Trainer.eval m.Trainer
                let pictures = m.Pictures { Inputs = torch.zeros(1L); Targets = torch.zeros(1L) }
                Expect.equal (snd pictures.Head).shape [| 64L; 1L; 28L; 28L |] (sprintf "%s: 64 fixed-noise samples" id)
                use again = snd (m.Pictures { Inputs = torch.zeros(1L); Targets = torch.zeros(1L) }).Head
                Expect.isTrue (torch.allclose(snd pictures.Head, again)) (sprintf "%s: the noise is fixed" id)
                Expect.equal (m.Sample.Value (new torch.Generator(1UL)) 3).shape [| 3L; 1L; 28L; 28L |] (sprintf "%s: samples" id)
        }
    ]
