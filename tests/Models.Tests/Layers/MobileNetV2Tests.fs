module Generative.Tests.Layers.MobileNetV2Tests

open System
open System.IO
open Expecto
open TorchSharp
open Generative
open Generative.Tests

/// torchvision's mobilenet_v2 state_dict names, written from its source (width 1.0): features.0 is
/// Conv2dNormActivation(3, 32, stride 2); blocks 1..17 are InvertedResidual (`conv.*`, the expansion 1x1 only
/// when t > 1); features.18 is Conv2dNormActivation(320, 1280, 1x1); classifier.1 is Linear(1280, 1000).
let torchvisionNames () =
    let bn prefix = [ "weight"; "bias"; "running_mean"; "running_var"; "num_batches_tracked" ] |> List.map (fun s -> prefix + "." + s)
    let convNormAct prefix = (prefix + ".0.weight") :: bn (prefix + ".1")
    let table = [ 1, 1; 6, 2; 6, 3; 6, 4; 6, 3; 6, 3; 6, 1 ]   // (t, n)
    let blocks = table |> List.collect (fun (t, n) -> List.replicate n t)
    [ yield! convNormAct "features.0"
      for i, t in List.indexed blocks do
          let p = sprintf "features.%d.conv" (i + 1)
          if t = 1 then
              yield! convNormAct (p + ".0")
              yield p + ".1.weight"
              yield! bn (p + ".2")
          else
              yield! convNormAct (p + ".0")
              yield! convNormAct (p + ".1")
              yield p + ".2.weight"
              yield! bn (p + ".3")
      yield! convNormAct "features.18"
      yield "classifier.1.weight"
      yield "classifier.1.bias" ]

/// Writes the backbone's own weights under torchvision's names (plus an ImageNet head) to a safetensors file.
let private writeWeights (path: string) (backbone: Net) (edit: (string * Tensor) list -> (string * Tensor) list) =
    let tensors =
        [ for KeyValue (k, t) in backbone.state_dict() -> "features." + k, t ]
        @ [ "classifier.1.weight", torch.zeros(1000L, 1280L); "classifier.1.bias", torch.zeros(1000L) ]
    SafeTensors.save path (edit tensors)

/// A random backbone whose batch-norm running statistics are those of `images` (one training-mode pass with
/// momentum 1): random convolutions alone shrink the signal layer after layer until the pooled features are all but
/// constant, whereas ImageNet weights keep it alive; this stands in for them in tests.
let private calibratedBackbone (images: Tensor) : Net =
    let b = MobileNetV2.backbone ()
    for m in b.modules () do
        match m with
        | :? TorchSharp.Modules.BatchNorm2d as bn -> bn.momentum <- Nullable 1.0
        | _ -> ()
    b.train ()
    using (torch.no_grad ()) (fun _ -> using (b.forward (MobileNetV2.toImageNetInput 224 images)) ignore)
    b.eval ()
    b

/// Runs `f` in a fresh temporary folder with libtorch seeded with 1, deleting the folder afterwards.
let private inSeededTempFolder (prefix: string) (f: string -> unit) =
    let folder = TestData.tempFolder prefix
    try
        Device.seed 1L
        f folder
    finally Directory.Delete(folder, true)

[<Tests>]
let tests =
    testList "Layers.MobileNetV2" [
        test "the backbone has exactly torchvision's feature names and parameter count" {
            Device.seed 0L
            let b = MobileNetV2.backbone ()
            let ours = [ for KeyValue (k, _) in b.state_dict() -> "features." + k ] |> Set.ofList
            let theirs = torchvisionNames () |> List.filter (fun n -> n.StartsWith "features.") |> Set.ofList
            Expect.equal (Set.count theirs) 312 "52 convolutions and 52 batch norms (5 entries each)"
            Expect.equal (Set.difference theirs ours) Set.empty "every torchvision name is in the backbone"
            Expect.equal (Set.difference ours theirs) Set.empty "no name torchvision lacks"
            // torchvision: 3,504,872 parameters in all, 1,281,000 of them in the 1000-class head.
            Expect.equal (b.parameters() |> Seq.sumBy (fun p -> p.numel())) 2223872L "backbone parameters"
        }

        test "a written weights file loads by name, and the backbone gives 7x7x1280 maps at 224x224" {
            inSeededTempFolder "mobilenet" (fun folder ->
                let source = MobileNetV2.backbone ()
                let path = Path.Combine(folder, "w.safetensors")
                writeWeights path source id
                Device.seed 2L
                let target = MobileNetV2.backbone ()
                MobileNetV2.loadImageNet path target
                source.eval()
                target.eval()
                use _ = torch.NewDisposeScope()
                use _ = torch.no_grad()
                let x = torch.randn(2L, 3L, 224L, 224L)
                let a = source.forward(x)
                Expect.equal a.shape [| 2L; 1280L; 7L; 7L |] "feature map"
                Expect.isTrue (torch.allclose(a, target.forward(x), 1e-5, 1e-5)) "same outputs after loading")
        }

        test "a missing or mis-shaped tensor is rejected with its name" {
            inSeededTempFolder "mobilenet-bad" (fun folder ->
                let b = MobileNetV2.backbone ()
                let missing = Path.Combine(folder, "missing.safetensors")
                writeWeights missing b (List.filter (fun (n, _) -> n <> "features.5.conv.1.0.weight"))
                let e = TestData.raises<InvalidDataException> (fun () -> MobileNetV2.loadImageNet missing b)
                Expect.stringContains e.Message "features.5.conv.1.0.weight" "names the missing tensor"
                let misShaped = Path.Combine(folder, "shape.safetensors")
                writeWeights misShaped b (List.map (fun (n, t) -> if n = "features.18.1.running_var" then n, torch.ones(7L) else n, t))
                let e = TestData.raises<InvalidDataException> (fun () -> MobileNetV2.loadImageNet misShaped b)
                Expect.stringContains e.Message "features.18.1.running_var" "names the mis-shaped tensor"
                let e = TestData.raises<FileNotFoundException> (fun () -> MobileNetV2.loadImageNet (Path.Combine(folder, "none.safetensors")) b)
                Expect.stringContains e.Message "torchvision.models.mobilenet_v2" "says how to export the weights")
        }

        test "cls-mobilenet learns on cached features of a small subset, and needs its weights" {
            inSeededTempFolder "mobilenet-cls" (fun folder ->
                let path = Path.Combine(folder, "w.safetensors")
                let data = TestData.bars 40 4L
                writeWeights path (calibratedBackbone data.Images) id
                let entry = Catalog.find "cls-mobilenet"
                let settings = (entry.Configure []).Settings |> List.map (fun (k, v) -> if k = "weights" then k, path else k, v)
                Device.seed 3L
                let model = (entry.Configure settings).Build torch.CPU
                let features = match model.Training with ShuffledImages plan -> plan.Inputs.Value data | ContiguousText _ -> failwith "an image plan"
                Expect.equal features.Images.shape [| 40L; 1280L |] "pooled features, computed once"
                let options = { Loop.defaults with Epochs = 30; BatchSize = 20 }
                Loop.fit options Loop.noHooks Threading.CancellationToken.None model.Trainer features (Loop.start, History.empty) |> ignore
                Trainer.eval model.Trainer
                let accuracy = model.Evaluate Work.none (TestData.imagesOf data) |> List.head |> fun (_, v, _) -> v
                Expect.isGreaterThan accuracy 0.9 "the head separates the bars"
                let e = TestData.raises<FileNotFoundException> (fun () ->
                            (entry.Configure (settings |> List.map (fun (k, v) -> if k = "weights" then k, Path.Combine(folder, "none") else k, v))).Build torch.CPU |> ignore)
                Expect.stringContains e.Message "--set weights=" "says how to pass the weights")
        }
    ]
