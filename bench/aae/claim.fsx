// Does the AAE-S code stop clustering by digit while the AAE-U code keeps clustering? Trains one adversarial
// autoencoder on all 60,000 MNIST training images ([0, 1], batch 1024, seed 42, as `generative train aae|aae-s` with
// no validation split) and prints, after the epochs asked for, the test metrics the run report gives except the
// t-SNE and the Frechet distance: 5-NN accuracy of the 10,000 test codes against the 60,000 training codes, test
// MSE, D(prior) and D(code), and how closely the test codes match the prior (distance of the means, relative
// covariance error). The tables of docs/models.md ("Does the claim hold?") come from this script:
//     dotnet fsi bench/aae/claim.fsx <aae|aae-s|aae-s-source> <epochs, e.g. 1,3,10> [threads] [key=value ...]
// where key=value are the model's settings (`generative models aae-s` lists them), e.g. g-optimizer=adam:lr=1e-3,
// or batch=B for the batch size.
#load "../../examples/FSharp/Load.fsx"

open System
open System.Diagnostics
open System.Threading
open TorchSharp
open Generative

let args = fsi.CommandLineArgs |> Array.skip 1 |> List.ofArray
let model, checkpoints, threads, pairs =
    match args with
    | m :: e :: rest ->
        let threads, pairs =
            match rest with
            | t :: more when not (t.Contains "=") -> int t, more
            | more -> 1, more
        m, (e.Split ',' |> Array.map int |> Set.ofArray), threads, pairs
    | _ -> failwith "usage: dotnet fsi bench/aae/claim.fsx <aae|aae-s> <epochs, e.g. 1,3,10> [threads] [key=value ...]"
let baseline =
    match model with
    | "aae" -> Aae.unsupervised
    | "aae-s" -> Aae.supervised
    | "aae-s-source" -> Aae.supervisedSource
    | other -> failwithf "unknown model %s (aae, aae-s or aae-s-source)" other
let split (p: string) =
    match p.Split('=', 2) with
    | [| k; v |] -> k, v
    | _ -> failwithf "expected key=value, got %s" p
// batch=B is the loop's batch size (1024, the source's, by default); every other pair is a model setting.
let batchSize = pairs |> List.tryPick (fun p -> if p.StartsWith "batch=" then Some (int (p.Substring 6)) else None) |> Option.defaultValue 1024
let config = SettingsTable.read Aae.settings baseline (pairs |> List.filter (fun p -> not (p.StartsWith "batch=")) |> List.map split)

torch.set_num_threads threads
let mnist = Load.cachedDataset "mnist" Datasets.mnist ZeroOne
Device.seed 42L
let aae = Aae.create config
let trainer = Aae.trainer aae
let described =
    SettingsTable.print Aae.settings config
    |> List.filter (fun (k, v) -> (SettingsTable.print Aae.settings baseline |> Map.ofList).[k] <> v || List.contains k [ "prior"; "g-optimizer" ])
    |> List.map (fun (k, v) -> sprintf "%s=%s" k v)
    |> String.concat " "
printfn "# %s %s batch=%d (threads %d)" model described batchSize threads
printfn "| epoch | 5-NN | test MSE | D(prior) | D(code) | code std | mean distance | covariance error | train s |"
printfn "|---|---|---|---|---|---|---|---|---|"

let clock = Stopwatch.StartNew()
let report (epoch: int) =
    let seconds = clock.Elapsed.TotalSeconds
    Trainer.eval trainer
    let terms = AdversarialAutoencoderEntries.phaseTerms aae mnist.Test
    let trainCodes, trainLabels = AdversarialAutoencoderEntries.codesOf aae mnist.Train mnist.Train.Count
    let testCodes, testLabels = AdversarialAutoencoderEntries.codesOf aae mnist.Test mnist.Test.Count
    let accuracy = Knn.accuracy 5 trainCodes trainLabels testCodes testLabels
    // The codes the discriminator judges (a Gaussian encoder's draws, not its means) against the prior, and their
    // spread: the mean over dimensions of each dimension's standard deviation (the prior's is its std).
    let judged = AdversarialAutoencoderEntries.judgedCodesOf aae mnist.Test mnist.Test.Count
    let meanDistance, covarianceError = AdversarialAutoencoderEntries.priorMatch config.Prior judged
    let spread = judged.std(0L).mean().ToDouble()
    for t in [ trainCodes; trainLabels; testCodes; testLabels; judged ] do t.Dispose()
    printfn "| %d | %.3f | %.4f | %.3f | %.3f | %.2f | %.2f | %.2f | %.0f |" epoch accuracy terms.["mse"] terms.["d_prior"] terms.["d_code"] spread meanDistance covarianceError seconds
    Trainer.train trainer
    clock.Restart()

let hooks = { Loop.noHooks with OnEpochEnd = fun record _ _ -> if checkpoints.Contains record.Epoch then report record.Epoch }
let options = { Loop.defaults with Epochs = Set.maxElement checkpoints; BatchSize = batchSize; Seed = 42L }
Loop.fit options hooks CancellationToken.None trainer mnist.Train (Loop.start, History.empty) |> ignore
