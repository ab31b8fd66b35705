module Generative.Tests.Models.ClassifierTests

open System
open System.IO
open System.Threading
open Expecto
open FsCheck
open TorchSharp
open Generative
open Generative.Tests

let private architectures = [ Classifier.mlp; Classifier.leNet5; Classifier.featureLeNet; Classifier.batchNormCnn; Classifier.pyramidSvm ]

let private config = { FsCheckConfig.defaultConfig with maxTest = 12 }

/// Trains a config on `data` for `epochs` and returns its accuracy on the same images (evaluation mode).
let private fitAndScore (c: ClassifierConfig) (data: Split) (epochs: int) =
    Device.seed 3L
    let m = Classifier.create c
    let options = { Loop.defaults with Epochs = epochs; BatchSize = 32; Seed = 5L }
    Loop.fit options Loop.noHooks CancellationToken.None (Classifier.trainer m) data (Loop.start, History.empty) |> ignore
    Classifier.eval m
    (Classifier.measure m data).["accuracy"]

[<Tests>]
let tests =
    testList "Models.Classifier" [
        testPropertyWithConfig config "logits, features and probabilities have the right shapes for any batch size" <| fun (n: PositiveInt) (pick: NonNegativeInt) ->
            let batch = int64 (1 + n.Get % 6)
            let c = architectures.[pick.Get % architectures.Length]
            Device.seed 0L
            let m = Classifier.create c
            Classifier.eval m
            use _ = torch.NewDisposeScope()
            use _ = torch.no_grad()
            let x = torch.randn(batch, 1L, 28L, 28L)
            Expect.equal (Classifier.logits m x).shape [| batch; 10L |] "logits [N, classes]"
            Expect.equal (Classifier.features m x).shape [| batch; int64 (Classifier.featureSize c) |] "features [N, featureSize]"
            let p = Classifier.probabilities m x
            Expect.isTrue (torch.allclose(p.sum(1L), torch.ones(batch), 1e-5, 1e-5)) "probabilities sum to 1"
            Expect.equal (Classifier.predict m x).shape [| batch |] "one class per image"

        test "CLS-MLP has the source's 101,770 parameters" {
            Device.seed 0L
            let m = Classifier.create Classifier.mlp
            Expect.equal (Trainer.parameterCount (Classifier.trainer m)) 101770L "784*128+128 + 128*10+10"
        }

        test "LeNet-5 has the classic 44,426 parameters for 28x28 input without padding" {
            Device.seed 0L
            let m = Classifier.create Classifier.leNet5
            // conv1 6*25+6, conv2 16*6*25+16, fc 256*120+120, 120*84+84, 84*10+10
            Expect.equal (Trainer.parameterCount (Classifier.trainer m)) (156L + 2416L + 30840L + 10164L + 850L) "parameters"
        }

        test "each classifier learns the bar images within seconds" {
            let data = TestData.bars 320 11L
            for c in architectures |> List.filter (Classifier.hasFixedFeatures >> not) do
                // Bars of neighbouring classes are 2 rows apart: shifting by up to 2 rows would turn one class into
                // another, so the toy task trains without shifts (augmentation has its own test).
                let accuracy = fitAndScore { c with Shift = 0 } data 4
                Expect.isGreaterThan accuracy 0.9 (sprintf "%A reaches > 90%% on the bars" c.Architecture)
        }

        test "the hinge loss is the one-vs-rest SVM loss" {
            use _ = torch.NewDisposeScope()
            let z = torch.tensor([| 2.0f; 0.5f; -3.0f; 0.0f; 0.2f; 1.0f |]).reshape(2L, 3L)
            let y = torch.tensor([| 0L; 2L |])
            // row 1, true class 0: max(0, 1-2) + max(0, 1+0.5) + max(0, 1-3) = 1.5
            // row 2, true class 2: max(0, 1+0) + max(0, 1+0.2) + max(0, 1-1) = 2.2
            let l = Classifier.lossOfLogits Classifier.pyramidSvm z y
            Expect.floatClose Accuracy.medium (l.ToDouble()) ((1.5 + 2.2) / 2.0) "mean over examples of the per-class hinges"
        }

        test "the SVM separates a linearly separable toy set" {
            Device.seed 6L
            let m = Classifier.create Classifier.pyramidSvm
            let d = Classifier.featureSize m.Config
            // Labels from a random linear rule: separable by construction.
            let x = torch.randn(300L, int64 d)
            let rule = torch.randn(int64 d, 10L)
            let split : Split = { Images = x; Labels = x.matmul(rule).argmax(1L) }
            let options = { Loop.defaults with Epochs = 40; BatchSize = 50; Seed = 1L }
            Loop.fit options Loop.noHooks CancellationToken.None (Classifier.trainer m) split (Loop.start, History.empty) |> ignore
            Classifier.eval m
            Expect.isGreaterThan (Classifier.measure m split).["accuracy"] 0.98 "(nearly) every point on its side"
        }

        test "CLS-PYR learns the bar images from cached pyramid features" {
            Device.seed 7L
            let m = Classifier.create Classifier.pyramidSvm
            let data = TestData.bars 200 8L
            let features = Classifier.cachedInputs m 64 data
            Expect.equal features.Images.shape [| 200L; 1050L |] "1050 pyramid features per image"
            let options = { Loop.defaults with Epochs = 20; BatchSize = 20; Seed = 1L }
            Loop.fit options Loop.noHooks CancellationToken.None (Classifier.trainer m) features (Loop.start, History.empty) |> ignore
            Classifier.eval m
            Expect.isGreaterThan (Classifier.measure m data).["accuracy"] 0.9 "measured on the images themselves"
        }

        test "augmentation keeps shapes, moves pixels by whole shifts and is off when not configured" {
            use _ = torch.NewDisposeScope()
            let x = torch.zeros(4L, 1L, 28L, 28L)
            x.index_put_(torch.tensor(1.0f), [| torch.TensorIndex.Colon; torch.TensorIndex.Colon; torch.TensorIndex.Single 14L; torch.TensorIndex.Single 14L |]) |> ignore
            Device.seed 2L
            let shifted = Classifier.augment { Classifier.batchNormCnn with Flip = false } x
            Expect.equal shifted.shape x.shape "same shape"
            for i in 0L .. 3L do
                Expect.floatClose Accuracy.medium (shifted.[i].sum().ToDouble()) 1.0 "a whole-pixel shift keeps the single bright pixel"
            let unchanged = Classifier.augment Classifier.mlp x
            Expect.isTrue (torch.allclose(unchanged, x)) "no augmentation configured"
        }

        test "settings round-trip and bad settings name the key" {
            for c in architectures do
                Expect.equal (SettingsTable.read Classifier.settings Classifier.mlp (SettingsTable.print Classifier.settings c)) c "round trip"
            let e = TestData.raises<ArgumentException> (fun () -> SettingsTable.read Classifier.settings Classifier.mlp [ "architecture", "resnet" ] |> ignore)
            Expect.equal e.ParamName "architecture" "names the key"
            let e = TestData.raises<ArgumentException> (fun () -> Classifier.create { Classifier.mlp with Dropout = 1.5 } |> ignore)
            Expect.equal e.ParamName "dropout" "names the setting"
        }

        test "the learning rate halves every LrHalfLife steps and stays constant without it" {
            let data = TestData.bars 32 11L
            let batch : Batch = { Inputs = data.Images; Targets = data.Labels }
            let rateAfter (c: ClassifierConfig) steps =
                Device.seed 3L
                let t = Classifier.trainer (Classifier.create c)
                for _ in 1 .. steps do t.Step batch |> ignore
                t.Optimizers |> List.head |> snd |> fun o -> (Seq.head o.ParamGroups).LearningRate
            Expect.floatClose Accuracy.high (rateAfter { Classifier.mlp with LrHalfLife = 3 } 6) 0.25e-3 "two half-lives: a quarter"
            Expect.floatClose Accuracy.high (rateAfter Classifier.mlp 6) 1e-3 "constant when 0"
            let e = TestData.raises<ArgumentException> (fun () -> Classifier.create { Classifier.mlp with LrHalfLife = -1 } |> ignore)
            Expect.equal e.ParamName "lr-half-life" "names the setting"
        }

        test "per-class metrics name each class by index and, where the data set names it otherwise, by name" {
            Expect.equal (ClassifierEntries.classLabel Datasets.fashionMnistClasses 0) "class 0 (T-shirt/top)" "Fashion-MNIST"
            Expect.equal (ClassifierEntries.classLabel Datasets.mnistClasses 3) "class 3" "MNIST digits are their own names"
            Expect.equal (ClassifierEntries.classLabel [] 7) "class 7" "no names"
            let bars = TestData.bars 20 5L
            let data = { bars with Labels = bars.Labels.remainder(2L.ToScalar()) }
            // A fixed "classifier" that always predicts class 1 with certainty.
            let alwaysOne (_: Work) (s: Split) = torch.tensor([| 0.0f; 1.0f |]).expand(s.Count, 2L).contiguous()
            let names = ClassifierEntries.classifierMetrics alwaysOne Work.none data [ "left"; "right" ] |> List.map (fun (n, _, _) -> n)
            Expect.equal names [ "test accuracy"; "precision of class 0 (left)"; "recall of class 0 (left)"
                                 "precision of class 1 (right)"; "recall of class 1 (right)" ] "metric names"
        }

        test "a saved classifier loads back with identical predictions" {
            let folder = TestData.tempFolder "cls-save"
            try
                let entry = Catalog.find "cls-lenet"
                Device.seed 4L
                let model = (entry.Configure []).Build torch.CPU
                let data = TestData.bars 64 2L
                Loop.fit { Loop.defaults with Epochs = 1; BatchSize = 32 } Loop.noHooks CancellationToken.None model.Trainer data (Loop.start, History.empty) |> ignore
                Trainer.eval model.Trainer
                let path = Path.Combine(folder, "lenet.safetensors")
                Experiment.saveModel path entry.Id (entry.Configure []).Settings "zero-one" model
                let id, _, norm, loaded = Experiment.loadModel path Cpu
                Expect.equal (id, norm) ("cls-lenet", "zero-one") "metadata"
                use _ = torch.no_grad()
                let f1 = model.Encode.Value data.Images
                let f2 = loaded.Encode.Value data.Images
                Expect.isTrue (torch.allclose(f1, f2)) "same features after loading"
                Expect.equal (sprintf "%A" (model.Evaluate Work.none (TestData.imagesOf data))) (sprintf "%A" (loaded.Evaluate Work.none (TestData.imagesOf data))) "same metrics after loading (NaN included)"
            finally Directory.Delete(folder, true)
        }

        test "the feature network wraps the classifier's features and probabilities" {
            Device.seed 0L
            let m = Classifier.create Classifier.featureLeNet
            Classifier.eval m
            let net = Classifier.featureNetwork "test" Datasets.mnistClasses m
            use _ = torch.NewDisposeScope()
            let x = torch.randn(3L, 1L, 28L, 28L)
            Expect.equal (net.Features x).shape [| 3L; 128L |] "128 features"
            Expect.isFalse (net.Features x).requires_grad "no autograd graph"
            Expect.isTrue (torch.allclose(net.Probabilities x, Classifier.probabilities m x)) "softmax of the logits"
        }

        test "a missing feature network names the command that makes it" {
            let folder = TestData.tempFolder "cls-features"
            let before = Environment.GetEnvironmentVariable "GENERATIVE_DATA"
            try
                Environment.SetEnvironmentVariable("GENERATIVE_DATA", folder)
                let e = TestData.raises<FileNotFoundException> (fun () -> FeatureNets.load "fashion-mnist" Cpu |> ignore)
                Expect.stringContains e.Message "generative features train --dataset fashion-mnist" "the command"
                Expect.equal (FeatureNets.path "MNIST") (Path.Combine(folder, "feature-nets", "mnist-lenet.safetensors")) "cache path"
            finally
                Environment.SetEnvironmentVariable("GENERATIVE_DATA", before)
                Directory.Delete(folder, true)
        }
    ]
