namespace Generative

/// How a run's training ended (or that it is still going), as its report's header and its metrics.json say it.
[<RequireQualifiedAccess>]
type RunStatus =
    /// Every planned epoch ran.
    | Completed
    /// Early stopping ended it: the watched term stopped improving.
    | StoppedEarly
    /// Stopped on request (Ctrl+C, SIGTERM, a cancelled token) or killed before its end; it can be resumed.
    | Interrupted
    /// The step budget (`--steps`) ended it, possibly part-way through an epoch; a larger budget continues it.
    | StepBudgetReached
    /// A loss term became NaN or infinite.
    | Diverged
    /// Still training: a report written at an epoch's end.
    | Training
    /// Not recorded: a run folder of an earlier version, re-measured by `generative eval`.
    | NotRecorded

/// Run statuses: from the loop's outcome, and as text.
[<RequireQualifiedAccess>]
module RunStatus =
    /// The status of a run whose loop ended with `outcome`.
    let ofOutcome (outcome: FitOutcome) : RunStatus =
        match outcome with
        | Completed -> RunStatus.Completed
        | Cancelled -> RunStatus.Interrupted
        | StoppedEarly -> RunStatus.StoppedEarly
        | StepBudgetReached -> RunStatus.StepBudgetReached

    /// Every status, in declaration order.
    let all =
        [ RunStatus.Completed; RunStatus.StoppedEarly; RunStatus.Interrupted; RunStatus.StepBudgetReached
          RunStatus.Diverged; RunStatus.Training; RunStatus.NotRecorded ]

    /// The status as metrics.json and `generative runs` write it: "completed", "stopped-early", ...
    let name (status: RunStatus) : string =
        match status with
        | RunStatus.Completed -> "completed"
        | RunStatus.StoppedEarly -> "stopped-early"
        | RunStatus.Interrupted -> "interrupted"
        | RunStatus.StepBudgetReached -> "step-budget-reached"
        | RunStatus.Diverged -> "diverged"
        | RunStatus.Training -> "training"
        | RunStatus.NotRecorded -> "not-recorded"

    /// The status `name` wrote, if it is one.
    let tryParse (text: string) : RunStatus option = all |> List.tryFind (fun s -> name s = text)
