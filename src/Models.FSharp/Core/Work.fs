namespace Generative

open System.Threading

/// How far a long computation has gone: what it is doing and how many of its units (batches, iterations) are done.
type WorkProgress =
    { /// What is being computed, e.g. "Frechet distance".
      Task: string
      /// Units done so far.
      Done: int
      /// Units in all.
      Total: int }

/// What a long computation (a run's evaluation, its report) is handed by its caller: a token that stops it between two
/// units of work, and where it reports its progress. An argument rather than process-wide state, so each call says
/// what may stop it and two runs in one process never stop each other.
type Work =
    { /// Cancelled: the computation throws OperationCanceledException at its next unit of work.
      Token: CancellationToken
      /// Called after each unit of work.
      Report: WorkProgress -> unit }

/// Building and checking `Work`.
[<RequireQualifiedAccess>]
module Work =
    /// Work that nothing stops and that reports nowhere.
    let none : Work = { Token = CancellationToken.None; Report = ignore }

    /// Work stopped by `token`, reporting nowhere.
    let ofToken (token: CancellationToken) : Work = { Token = token; Report = ignore }

    /// Throws OperationCanceledException once the work's token is cancelled.
    let check (work: Work) : unit = work.Token.ThrowIfCancellationRequested()

    /// Checks for cancellation, then reports `done'` of `total` units of `task`: called between units, so a
    /// cancellation surfaces within one unit's time.
    let step (work: Work) (task: string) (done': int) (total: int) : unit =
        check work
        work.Report { Task = task; Done = done'; Total = total }
