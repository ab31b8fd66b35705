module Generative.Tests.Training.ImagePrecisionTests

open System
open System.IO
open System.Threading
open Expecto
open TorchSharp
open Generative
open Generative.Tests

/// A small network with every kind of piece `computeLayersCopy` treats differently: a wide linear layer (converted),
/// batch norm with running statistics (kept fp32), an activation, a narrow linear layer (kept fp32: too small to gain)
/// and a squashing output (kept fp32).
let private mixedNet () =
    let piece name (m: torch.nn.Module<Tensor, Tensor>) = name, m
    torch.nn.Sequential(
        piece "0" (torch.nn.Linear(200L, 200L)), piece "1" (torch.nn.BatchNorm1d(200L)), piece "2" (torch.nn.ReLU()),
        piece "3" (torch.nn.Linear(200L, 3L)), piece "4" (torch.nn.Sigmoid()))

/// Every parameter of a list of modules, detached copies, in order.
let private weights (modules: torch.nn.Module list) =
    [| for m in modules do for p in m.parameters() -> p.detach().clone() |]

/// The cosine between two weight updates (after - before, flattened over every parameter).
let private updateCosine (before: Tensor[]) (a: Tensor[]) (b: Tensor[]) =
    let flat (after: Tensor[]) = Array.map2 (fun (x: Tensor) (y: Tensor) -> (x - y).flatten()) after before |> torch.cat
    use ua = flat a
    use ub = flat b
    torch.nn.functional.cosine_similarity(ua, ub, dim = 0L).ToDouble()

[<Tests>]
let tests =
    testList "Training.ImagePrecision" [
        test "a compute-layers copy runs its wide linear layers in bfloat16 and keeps narrow ones, batch norm, activations and the output fp32" {
            Device.seed 4L
            let master = mixedNet ()
            let working = mixedNet ()
            let copy = MixedPrecision.computeLayersCopy TrainingPrecision.BFloat16 master working
            let dtypes = working.named_parameters() |> Seq.map (fun struct (n, p) -> n, p.dtype) |> Map.ofSeq
            Expect.equal dtypes.["0.weight"] torch.bfloat16 "the wide linear layer is bfloat16"
            Expect.equal dtypes.["0.bias"] torch.bfloat16 "its bias too"
            Expect.equal dtypes.["3.weight"] torch.float32 "the narrow one (200 x 3) stays fp32"
            Expect.equal dtypes.["1.weight"] torch.float32 "batch norm's scale stays fp32"
            Expect.all copy.WorkingBuffers (fun b -> b.dtype = torch.float32 || b.dtype = torch.int64) "its statistics too"
            Expect.all copy.Master (fun p -> p.dtype = torch.float32) "the master is untouched"
            MixedPrecision.loadWeights copy
            use x = torch.randn(16L, 200L)
            use y = working.forward(x)
            Expect.equal y.dtype torch.float32 "the output comes back fp32"
            use masterMean = master.get_buffer("1.running_mean").clone()
            MixedPrecision.storeBuffers copy
            Expect.isFalse (master.get_buffer("1.running_mean").Equals masterMean) "the running statistics of the working pass reach the master"
            Expect.isTrue (master.get_buffer("1.running_mean").Equals(working.get_buffer("1.running_mean"))) "exactly"
            master.eval()
            MixedPrecision.loadWeights copy
            Expect.isFalse working.training "the working copy follows the master into evaluation mode"
        }

        test "a compute-layers copy refuses a network of other parameters or buffers, naming the argument" {
            let other = torch.nn.Sequential(("0", torch.nn.Linear(200L, 8L) :> torch.nn.Module<Tensor, Tensor>))
            let e = TestData.raises<ArgumentException> (fun () -> MixedPrecision.computeLayersCopy TrainingPrecision.BFloat16 (mixedNet ()) other |> ignore)
            Expect.equal e.ParamName "working" "the working network is named"
        }

        test "a bfloat16 GAN step keeps G and D fp32, matches the fp32 step's losses and moves the weights the same way" {
            let data = TestData.bars 32 5L
            use real = data.Images * 2.0f - 1.0f
            // SGD, whose update is the gradient itself: Adam's first update is about lr·sign(g), whose signs of
            // near-zero gradients rounding flips at random.
            let sgd = Sgd(0.01, 0.0, false, 0.0)
            let build precision =
                Device.seed 12L
                Gan.create { Gan.dcganA with Precision = precision; GeneratorOptimizer = sgd; DiscriminatorOptimizer = sgd }
            let fp, bf = build TrainingPrecision.Float32, build TrainingPrecision.BFloat16
            let nets (m: Gan) = [ m.Generator :> torch.nn.Module; m.Discriminator ]
            let initial = weights (nets fp)
            let stepOf (m: Gan) = Device.seed 3L; (Gan.trainer m).Step { Inputs = real; Targets = data.Labels }
            let fpTerms, bfTerms = stepOf fp, stepOf bf
            for term in [ "d_loss"; "g_loss" ] do
                Expect.floatClose { absolute = 0.0; relative = 2e-2 } bfTerms.[term] fpTerms.[term] (sprintf "%s within bfloat16's rounding of fp32's" term)
            Expect.all (weights (nets bf)) (fun p -> p.dtype = torch.float32) "G and D stay fp32"
            let cosine = updateCosine initial (weights (nets fp)) (weights (nets bf))
            Expect.isGreaterThan cosine 0.98 "the update points the same way"
            Expect.isFalse (Array.forall2 (fun (a: Tensor) b -> a.Equals b) (weights (nets fp)) (weights (nets bf))) "but is computed in bfloat16"
            let mean (m: Gan) = m.Generator.named_buffers() |> Seq.pick (fun struct (n, b) -> if n.EndsWith "running_mean" then Some (b.clone()) else None)
            use fpMean = mean fp
            use bfMean = mean bf
            Expect.isFalse (bfMean.abs().sum().ToDouble() = 0.0) "G's batch-norm statistics moved on the master"
            Expect.isTrue (torch.allclose(bfMean, fpMean, rtol = 0.05, atol = 1e-3)) "close to fp32's"
        }

        test "a bfloat16 classifier step keeps the weights fp32 and matches the fp32 step's loss" {
            let data = TestData.bars 32 6L
            let build precision =
                Device.seed 13L
                Classifier.create { Classifier.batchNormCnn with Precision = precision; Optimizer = Sgd(0.01, 0.0, false, 0.0) }
            let fp, bf = build TrainingPrecision.Float32, build TrainingPrecision.BFloat16
            let initial = weights (Classifier.modules fp |> List.map snd)
            let stepOf (m: Classifier) = Device.seed 3L; (Classifier.trainer m).Step { Inputs = data.Images; Targets = data.Labels }
            let fpLoss, bfLoss = (stepOf fp).["loss"], (stepOf bf).["loss"]
            Expect.floatClose { absolute = 0.0; relative = 2e-2 } bfLoss fpLoss "the loss within bfloat16's rounding of fp32's"
            let after (m: Classifier) = weights (Classifier.modules m |> List.map snd)
            Expect.all (after bf) (fun p -> p.dtype = torch.float32) "the weights stay fp32"
            Expect.isGreaterThan (updateCosine initial (after fp) (after bf)) 0.98 "the update (SGD's: the gradient) points the same way"
        }

        test "a bfloat16 AAE step runs all three phases: each network moves as in fp32" {
            let data = TestData.bars 32 9L
            // SGD, whose update is the gradient itself (see the GAN's test); phase 3 adds to phase 1's encoder update.
            let sgd = Sgd(0.05, 0.0, false, 0.0)
            let build precision =
                Device.seed 14L
                Aae.create { Aae.unsupervised with
                                Precision = precision; ReconstructionOptimizer = sgd; DiscriminatorOptimizer = sgd; GeneratorOptimizer = sgd }
            let fp, bf = build TrainingPrecision.Float32, build TrainingPrecision.BFloat16
            let nets (m: Aae) = [ "encoder", m.Encoder; "decoder", m.Decoder; "discriminator", m.Discriminator ]
            let initial = nets fp |> List.map (fun (name, net) -> name, weights [ net ])
            for m in [ fp; bf ] do
                Device.seed 3L
                (Aae.trainer m).Step { Inputs = data.Images; Targets = data.Labels } |> ignore
            for (name, before), (_, a), (_, b) in List.zip3 initial (nets fp) (nets bf) do
                Expect.isGreaterThan (updateCosine before (weights [ a ]) (weights [ b ])) 0.98 (sprintf "the %s's update points the same way" name)
        }

        test "a bfloat16 GAN's checkpoint restores into an fp32 GAN with identical samples, and back" {
            let folder = TestData.tempFolder "gan-precision"
            try
                let data = TestData.bars 32 5L
                use real = data.Images * 2.0f - 1.0f
                let build precision = Device.seed 12L; Gan.create { Gan.dcganA with Precision = precision }
                let bf = build TrainingPrecision.BFloat16
                let trainer = Gan.trainer bf
                for _ in 1 .. 2 do trainer.Step { Inputs = real; Targets = data.Labels } |> ignore
                let info = { ModelId = "dcgan"; Settings = SettingsTable.print Gan.settings bf.Config; Position = Loop.start; CreatedUtc = DateTime.UtcNow }
                let saved = Checkpoint.save folder 2 trainer History.empty info
                Expect.all (Checkpoint.stateOf trainer) (fun (_, t) -> t.dtype = torch.float32 || t.dtype = torch.int64) "what is saved is fp32"
                let restored precision =
                    let m = build precision
                    let t = Gan.trainer m
                    Device.seed 77L
                    Checkpoint.restore saved false t |> ignore
                    m, t
                let samplesOf (m: Gan) = m.Generator.eval(); Gan.fixedSamples m
                let fp, fpTrainer = restored TrainingPrecision.Float32
                Expect.isTrue ((samplesOf fp).Equals(samplesOf bf)) "fp32 draws the bfloat16 run's samples"
                Expect.isTrue ((samplesOf (fst (restored TrainingPrecision.BFloat16))).Equals(samplesOf bf)) "and a bfloat16 GAN reads it back"
                Trainer.train fpTrainer
                let next = fpTrainer.Step { Inputs = real; Targets = data.Labels }
                Expect.isTrue (Double.IsFinite next.["d_loss"]) "the fp32 trainer continues"
            finally Directory.Delete(folder, true)
        }
    
        testTheory "every image model's bfloat16 step keeps its weights fp32 and gives the fp32 step's loss terms"
                   [ "ae-linear"; "ae-deep"; "ae-3d"; "ae-conv"; "ae-denoise"; "vae"; "aae"; "aae-s"; "gan-mlp"; "dcgan"; "dcgan-keras"
                     "cls-mlp"; "cls-lenet"; "cls-cnn" ] <| fun id ->
            let data = TestData.bars 32 8L
            let stepOf precision =
                Device.seed 21L
                let model = (Catalog.find id).Configure([ "precision", precision ]).Build torch.CPU
                let before = Checkpoint.stateOf model.Trainer |> List.map (fun (n, t) -> n, t.detach().clone())
                Device.seed 5L
                let terms = model.Trainer.Step { Inputs = data.Images; Targets = data.Labels }
                let after = Checkpoint.stateOf model.Trainer
                let moved = List.zip before after |> List.filter (fun ((_, b), (_, a)) -> not (a.Equals b)) |> List.map (fst >> fst)
                terms, after, moved
            let fpTerms, _, fpMoved = stepOf "fp32"
            let bfTerms, bfState, bfMoved = stepOf "bf16"
            Expect.equal bfMoved fpMoved (sprintf "%s: the step updates the same weights and statistics in both precisions" id)
            Expect.equal (Map.keys bfTerms |> List.ofSeq) (Map.keys fpTerms |> List.ofSeq) "the same terms"
            for KeyValue (term, fp) in fpTerms do
                Expect.floatClose { absolute = 2e-3; relative = 3e-2 } bfTerms.[term] fp (sprintf "%s: %s within bfloat16's rounding of fp32's" id term)
            Expect.notEqual bfTerms fpTerms (sprintf "%s: but computed in bfloat16" id)
            Expect.all bfState (fun (_, t) -> t.dtype <> torch.bfloat16) "nothing the checkpoint saves is bfloat16"
    ]
