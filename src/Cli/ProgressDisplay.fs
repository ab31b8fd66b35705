/// Training progress on the console: a live bar on a terminal, plain periodic lines when output is redirected.
module Generative.Cli.ProgressDisplay

open System
open System.Diagnostics
open Spectre.Console
open Generative

let private terms (p: StepProgress) =
    p.Terms |> Map.toList |> List.map (fun (k, v) -> sprintf "%s %.4g" k v) |> String.concat "  "

let private eta (p: StepProgress) =
    let done' = max 1L p.Step
    let perStep = p.Elapsed.TotalSeconds / float done'
    TimeSpan.FromSeconds(perStep * float (p.TotalSteps - p.Step)).ToString(@"h\:mm\:ss")

/// One line describing a progress snapshot, as printed when output is redirected.
let line (p: StepProgress) =
    sprintf "epoch %d/%d  step %d/%d  %s  %s ex/s  ETA %s"
        p.Epoch p.Epochs p.StepInEpoch p.StepsPerEpoch (terms p) (p.ExamplesPerSecond.ToString("N0")) (eta p)

/// One line describing an evaluation's progress, e.g. "evaluating (Ctrl+C stops it): Frechet distance 3/30": after training,
/// stopping it skips it (the report is written without it); in `generative eval`, the report is left as it was.
let workLine (p: WorkProgress) =
    sprintf "evaluating (Ctrl+C stops it): %s %d/%d" p.Task p.Done p.Total

/// Runs `work`, giving it a training progress callback, a log function and an evaluation progress callback suited to
/// the console.
let run (work: (StepProgress -> unit) -> (string -> unit) -> (WorkProgress -> unit) -> 'T) : 'T =
    if Console.IsOutputRedirected || not AnsiConsole.Profile.Capabilities.Interactive then
        // Plain lines, at most one every 5 seconds, so logs stay readable.
        let clock = Stopwatch.StartNew()
        let mutable last = -5.0
        let onStep (p: StepProgress) =
            if clock.Elapsed.TotalSeconds - last >= 5.0 || p.Step = p.TotalSteps then
                last <- clock.Elapsed.TotalSeconds
                Console.WriteLine(line p)
        // Evaluation lines: a new task at once, then at most one a second, so a stopped run never looks stuck.
        let mutable lastTask = ""
        let mutable lastWork = -1.0
        let onWork (p: WorkProgress) =
            if p.Task <> lastTask || clock.Elapsed.TotalSeconds - lastWork >= 1.0 || p.Done = p.Total then
                lastTask <- p.Task
                lastWork <- clock.Elapsed.TotalSeconds
                Console.WriteLine(workLine p)
        work onStep (fun (s: string) -> Console.WriteLine s) onWork
    else
        AnsiConsole
            .Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(
                [| TaskDescriptionColumn(Alignment = Justify.Left) :> ProgressColumn
                   ProgressBarColumn()
                   PercentageColumn()
                   RemainingTimeColumn()
                   SpinnerColumn() |])
            .Start(fun ctx ->
                let task = ctx.AddTask("starting", maxValue = 1.0)
                let onStep (p: StepProgress) =
                    task.MaxValue <- float p.TotalSteps
                    task.Value <- float p.Step
                    task.Description <-
                        Markup.Escape(
                            sprintf "epoch %d/%d | %d/%d  %s  %s ex/s"
                                p.Epoch p.Epochs p.StepInEpoch p.StepsPerEpoch (terms p) (p.ExamplesPerSecond.ToString("N0")))
                let onWork (p: WorkProgress) =
                    task.MaxValue <- float (max 1 p.Total)
                    task.Value <- float p.Done
                    task.Description <- Markup.Escape(workLine p)
                work onStep (fun s -> AnsiConsole.MarkupLine(Markup.Escape s)) onWork)
