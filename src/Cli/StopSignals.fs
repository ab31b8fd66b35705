/// How a long command is asked to stop: Ctrl+C (SIGINT) from a terminal, SIGTERM from a scheduler. Slurm and
/// Kubernetes send SIGTERM before they preempt a job and SIGKILL a grace period later, so SIGTERM stops training at the
/// step's end, saves a checkpoint, skips the evaluation and writes the report, all within seconds.
module Generative.Cli.StopSignals

open System
open System.Runtime.InteropServices
open System.Threading
open Generative

/// Exit code of a command stopped by Ctrl+C: 128 + SIGINT, as a shell reports a process ended by it.
let interruptedExitCode = 130

/// Exit code of a command stopped by SIGTERM: 128 + SIGTERM.
let terminatedExitCode = 143

let mutable private terminated = false

/// The exit code of a command that stopped on request: 143 when SIGTERM asked, else 130.
let stoppedExitCode () = if terminated then terminatedExitCode else interruptedExitCode

/// True once SIGTERM has asked this process to stop.
let terminationRequested () = terminated

/// Calls `onTerminate` on SIGTERM (once; later ones are ignored) instead of ending the process at once, until disposed.
let private onSigterm (onTerminate: unit -> unit) : IDisposable =
    PosixSignalRegistration.Create(PosixSignal.SIGTERM, fun context ->
        context.Cancel <- true
        if not terminated then
            terminated <- true
            onTerminate ())

/// How long after the first Ctrl+C a second one is taken as the same request: `timeout -s INT` and other tools signal
/// both the process and its process group, so one request can arrive twice within milliseconds.
let private repeatedSignalWindow = TimeSpan.FromSeconds 1.0

/// Ctrl+C or SIGTERM asks for `f`'s work to stop (`generate` stops writing); a second Ctrl+C, a second or more later,
/// aborts.
let withCancelKey (f: CancellationToken -> 'T) : 'T =
    use cts = new CancellationTokenSource()
    let firstRequest = Diagnostics.Stopwatch()
    let handler =
        ConsoleCancelEventHandler(fun _ e ->
            if not cts.IsCancellationRequested then
                e.Cancel <- true
                firstRequest.Start()
                Console.Error.WriteLine "\nStopping (Ctrl+C again to abort)..."
                cts.Cancel()
            elif firstRequest.Elapsed < repeatedSignalWindow then e.Cancel <- true)
    Console.CancelKeyPress.AddHandler handler
    use _ = onSigterm (fun () -> Console.Error.WriteLine "\nSIGTERM: stopping..."; cts.Cancel())
    try f cts.Token
    finally Console.CancelKeyPress.RemoveHandler handler

/// Ctrl+C during training stops it after the current step (a checkpoint is saved) and lets the evaluation run; Ctrl+C
/// during the evaluation, or a second one, skips it (the report is written without it, saying so); one more aborts.
/// SIGTERM stops training (a checkpoint is saved) and skips the evaluation at once: a scheduler's grace period is short.
/// `f` gets the run's stop tokens and a callback to hand the evaluation's progress to, which tells the handler that
/// training is over.
let withRunStopKeys (f: RunStop -> (WorkProgress -> unit) -> 'T) : 'T =
    use training = new CancellationTokenSource()
    use evaluation = new CancellationTokenSource()
    let mutable evaluating = false
    let lastRequest = Diagnostics.Stopwatch()
    let handler =
        ConsoleCancelEventHandler(fun _ e ->
            if lastRequest.IsRunning && lastRequest.Elapsed < repeatedSignalWindow then e.Cancel <- true
            elif not training.IsCancellationRequested && not evaluating then
                e.Cancel <- true
                lastRequest.Restart()
                Console.Error.WriteLine "\nstopping: finishing this step and saving a checkpoint; the evaluation follows (Ctrl+C again to skip it)..."
                training.Cancel()
            elif not evaluation.IsCancellationRequested then
                e.Cancel <- true
                lastRequest.Restart()
                Console.Error.WriteLine "\nstopping: skipping the evaluation; writing the report without it (Ctrl+C again to abort)..."
                training.Cancel()
                evaluation.Cancel()
            // A further request leaves e.Cancel false: the process ends.
        )
    Console.CancelKeyPress.AddHandler handler
    use _ =
        onSigterm (fun () ->
            Console.Error.WriteLine "\nSIGTERM: finishing this step, saving a checkpoint and writing the report without the evaluation..."
            training.Cancel()
            evaluation.Cancel())
    try f { Training = training.Token; Evaluation = evaluation.Token } (fun _ -> evaluating <- true)
    finally Console.CancelKeyPress.RemoveHandler handler

