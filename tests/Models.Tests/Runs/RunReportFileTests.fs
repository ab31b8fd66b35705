module Generative.Tests.Runs.RunReportFileTests

open Expecto
open Generative

/// `epochs` whole epochs of `perEpoch` steps (10 s each), then `extra` steps of the next epoch; the epochs' "val loss"
/// is `validation.[e - 1]` when given.
let private history (epochs: int) (perEpoch: int) (extra: int) (validation: float list) : History =
    let steps = [ for s in 1 .. epochs * perEpoch + extra -> { Step = int64 s; Epoch = (s - 1) / perEpoch + 1; Terms = Map [ "loss", 1.0 / float s ] } ]
    { Steps = steps
      Epochs =
        [ for e in 1 .. epochs ->
            { Epoch = e; Step = int64 (e * perEpoch); Seconds = 10.0
              Terms = Map [ yield "loss", 0.5
                            if not validation.IsEmpty then yield "val loss", validation.[e - 1] ] } ] }

let private settings (epochs: int) (maxSteps: int64 option) = { RunSettings.defaults "ae-linear" with Epochs = epochs; MaxSteps = maxSteps }

let private folder = "runs/ae-linear-1"

let private header s h stopping moment = RunReportFile.header folder s ModelKind.Autoencoder h [] stopping moment

/// Every metric name the catalog's evaluations give, in their order (a language model on characters).
let private allMetrics =
    [ "test loss"; "test accuracy"; "Frechet distance"; "inception score"; "test MSE per pixel"; "test negative ELBO (nats)"
      "test nats per character"; "test bits per character"; "test code 5-NN accuracy"; "test code covariance error" ]
    |> List.mapi (fun i n -> n, float i, "how")

/// (case, planned epochs, step budget, epochs trained, steps of the next epoch, validation losses, status).
let private rebuiltCases =
    [ "all epochs", 3, None, 3, 0, [], RunStatus.Completed
      "step budget", 3, Some 25L, 2, 5, [], RunStatus.StepBudgetReached
      "early stopping", 10, None, 3, 0, [ 0.3; 0.4; 0.5 ], RunStatus.StoppedEarly
      "stopped part-way", 10, None, 3, 4, [ 0.3; 0.2; 0.1 ], RunStatus.Interrupted ]

let private headlineCases =
    [ ModelKind.Classifier, [ "test accuracy" ]
      ModelKind.Gan, [ "Frechet distance" ]
      ModelKind.Autoencoder, [ "test MSE per pixel" ]
      ModelKind.VariationalAutoencoder, [ "test negative ELBO (nats)" ]
      ModelKind.TextGenerator, [ "test bits per character" ]
      ModelKind.AdversarialAutoencoder, [ "test code 5-NN accuracy" ] ]

[<Tests>]
let tests =
    testList "Reports.RunReportFile" [
        test "an interrupted run's header tells the steps and time actually trained, where and how it stopped" {
            let h = header (settings 16 None) (history 0 100 39 []) None (AfterTraining (Cancelled, 4.5, true))
            Expect.equal h.Status RunStatus.Interrupted "interrupted"
            Expect.equal (h.EpochsTrained, h.EpochsPlanned, h.Steps) (0, 16, 39L) "0 of 16 epochs, 39 steps"
            Expect.floatClose Accuracy.high h.Seconds 4.5 "the partial epoch's time"
            Expect.isTrue h.EvaluationSkipped "evaluation skipped"
            Expect.stringContains h.Reason "Ctrl+C" "says how"
            Expect.stringContains h.Reason "during epoch 1, after step 39" "says where"
            Expect.stringContains h.Reason ("generative train --resume " + folder) "says how to continue"
            let later = header (settings 16 None) (history 2 100 5 []) None (AfterTraining (Cancelled, 3.0, false))
            Expect.floatClose Accuracy.high later.Seconds 23.0 "two epochs of 10 s and 3 s of the third"
            Expect.equal (later.EpochsTrained, later.Steps) (2, 205L) "two whole epochs, 205 steps"
            Expect.stringContains later.Reason "during epoch 3, after step 205" "in the third epoch"
            Expect.equal later.TimeNote "" "the stopping process timed the unfinished epoch"
            let rebuilt = header (settings 16 None) (history 2 100 5 []) None Rebuilt
            Expect.floatClose Accuracy.high rebuilt.Seconds 20.0 "a rebuilt report has the whole epochs' times only"
            Expect.equal rebuilt.TimeNote "without the 5 steps of epoch 3 (not timed)" "and says what it leaves out"
        }

        test "a step budget's header names the budget and where it stopped" {
            let h = header (settings 1 (Some 100L)) (history 0 469 100 []) None (AfterTraining (StepBudgetReached, 6.2, false))
            Expect.equal h.Status RunStatus.StepBudgetReached "budget"
            Expect.stringContains h.Reason "The step budget (100 steps) ended the run during epoch 1, after step 100" "the budget"
            Expect.equal h.Steps 100L "100 steps"
            Expect.floatClose Accuracy.high h.Seconds 6.2 "time"
        }

        test "a completed run, one stopped early and one still training" {
            let completed = header (settings 3 None) (history 3 10 0 []) None (AfterTraining (Completed, 0.0, false))
            Expect.equal completed.Status RunStatus.Completed "completed"
            Expect.equal completed.Reason "Trained all 3 epochs." "reason"
            Expect.floatClose Accuracy.high completed.Seconds 30.0 "three epochs"
            let es = { Monitor = "val loss"; Maximize = false; Patience = 2; RestoreBest = true }
            let early = header (settings 10 None) (history 3 10 0 [ 0.3; 0.4; 0.5 ]) (Some es) (AfterTraining (StoppedEarly, 0.0, false))
            Expect.equal early.Status RunStatus.StoppedEarly "stopped early"
            Expect.stringContains early.Reason "after epoch 3 of 10: val loss did not improve for 2 epochs (the best was epoch 1)" "why"
            let training = header (settings 10 None) (history 2 10 0 []) None DuringTraining
            Expect.equal training.Status RunStatus.Training "training"
            Expect.stringContains training.Reason "end of epoch 2 of 10" "when"
        }

        testTheory "a rebuilt report reads how the run ended from its history and settings" rebuiltCases <| fun (_, epochs, budget, trained, extra, validation, expected) ->
            let es = { Monitor = "val loss"; Maximize = false; Patience = 2; RestoreBest = true }
            let h = header (settings epochs budget) (history trained 10 extra validation) (Some es) Rebuilt
            Expect.equal h.Status expected "status"
            Expect.isFalse h.EvaluationSkipped "a rebuilt report measures"

        testTheory "the header leads with the metric each kind of model is judged by" headlineCases <| fun (kind, expected) ->
            let names = RunReportFile.headlineMetrics kind allMetrics |> List.map (fun (n, _, _) -> n)
            Expect.equal names expected "headline"

        test "without its metric the header shows the first one, and nothing when nothing was measured" {
            let names kind metrics = RunReportFile.headlineMetrics kind metrics |> List.map (fun (n, _, _) -> n)
            Expect.equal (names ModelKind.Gan [ "test perplexity", 1.0, ""; "other", 2.0, "" ]) [ "test perplexity" ] "first"
            Expect.equal (names ModelKind.TextGenerator [ "test bits per word", 7.0, ""; "test perplexity", 120.0, "" ])
                [ "test bits per word"; "test perplexity" ] "words: bits and perplexity"
            Expect.isEmpty (names ModelKind.Classifier []) "none"
            let h = RunReportFile.header folder (settings 1 None) ModelKind.Gan (history 1 10 0 []) [ "Frechet distance", nan, "not measured: why" ] None Rebuilt
            Expect.equal h.Headline [ "Frechet distance", "not measured", "not measured: why" ] "NaN is not measured"
        }
    ]
