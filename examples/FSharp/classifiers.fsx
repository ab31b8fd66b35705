// Fashion-MNIST classifiers from F#: CLS-MLP trained with a validation split and early stopping, then its test
// accuracy, per-class precision/recall and most confident mistakes; LeNet-5 or the CNN are one line away.
//     ./generative data fetch fashion-mnist && dotnet fsi examples/FSharp/classifiers.fsx
#load "Load.fsx"

open System.IO
open System.Threading
open TorchSharp
open Generative

torch.set_num_threads 1
Device.seed 42L

let fashion = Load.cachedDataset "fashion-mnist" Datasets.fashionMnist ZeroOne

// CLS-MLP as in the source (Dense 128 ReLU, Dense 10, Adam 1e-3). Try Classifier.leNet5 or Classifier.batchNormCnn
// (the CNN expects mean/std pixels: load with Transforms.mnistMeanStd instead of ZeroOne).
let model = Classifier.create Classifier.mlp
let trainer = Classifier.trainer model

// The last 10% of the training split is held out for validation (never the test split); training stops after 5
// epochs without a better validation accuracy and keeps the best epoch's weights.
let plan = { Validation = Some { Fraction = 0.1; Measure = Classifier.measure model; EarlyStopping = None }; Inputs = None }
let trainPart, heldOut = Experiment.splitForTraining plan fashion.Train
let options =
    { Loop.defaults with
        Epochs = 30; BatchSize = 32; Seed = 42L
        Validate = Some (fun () -> Classifier.measure model heldOut.Value)
        EarlyStopping = Some { Monitor = "val accuracy"; Maximize = true; Patience = 5; RestoreBest = true } }
let hooks =
    { Loop.noHooks with
        OnEpochEnd = fun e _ _ -> printfn "epoch %d  loss %.4f  val accuracy %.4f" e.Epoch e.Terms.["loss"] e.Terms.["val accuracy"] }
let result = Loop.fit options hooks CancellationToken.None trainer trainPart (Loop.start, History.empty)
printfn "%A; weights of epoch %A kept" result.Outcome result.RestoredEpoch

// Test metrics from the predictions.
Classifier.eval model
let probabilitiesOf = Classifier.splitProbabilities model
for (name, value, _) in ClassifierEntries.classifierMetrics probabilitiesOf Work.none fashion.Test fashion.Classes |> List.truncate 5 do
    printfn "%s: %.4f" name value

// The confusion heatmap as an interactive page, and the 32 most confident mistakes as a PNG.
let artifacts = ClassifierEntries.classifierExtras probabilitiesOf Work.none fashion.Test fashion.Classes
let charts = artifacts |> List.choose (function Chart (_, chart) -> Some chart | _ -> None)
for (i, chart) in List.indexed charts do
    // A self-contained page: plotly.js inlined once, then the chart.
    let page = "<html><head>" + Charts.plotlyScriptTag () + "</head><body>" + Charts.toHtmlFragment "chart" chart + "</body></html>"
    File.WriteAllText(Path.Combine(Load.output, (if i = 0 then "confusion" else "scores") + ".html"), page)
for artifact in artifacts do
    match artifact with
    // No grid when the classifier made no mistake.
    | ImageGrid (_, caption, columns, images) when images.shape.[0] > 0L ->
        Images.saveGrid (Path.Combine(Load.output, "mistakes.png")) columns images
        printfn "%s" caption
    | _ -> ()
printfn "wrote %s" Load.output
