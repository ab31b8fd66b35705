namespace Generative

open System
open System.Diagnostics
open System.Threading
open TorchSharp

/// Stopping when a validation term stops improving, keeping the best weights (Keras' EarlyStopping with
/// restore_best_weights; Prechelt, "Early Stopping - But When?", 1998).
type EarlyStopping =
    { /// The epoch term watched, e.g. "val loss" (validation terms carry the "val " prefix).
      Monitor: string
      /// True when larger is better (accuracy), false when smaller is better (loss).
      Maximize: bool
      /// Epochs in a row without a new best value after which training stops.
      Patience: int
      /// At the end (stopped or not) put back the weights of the best epoch: kept in memory when it was trained in
      /// this process, or asked of `FitHooks.RestoreEarlierBest` when it was trained before a resume.
      RestoreBest: bool }

/// Settings of the training loop itself (not of a model).
type FitOptions =
    { /// Epochs to train (at most: `MaxSteps` may end the run first).
      Epochs: int
      /// The run's step budget: training stops once the run has taken this many steps in all, counted from its first
      /// step (so a resumed run keeps the budget it was given), even in the middle of an epoch. Whichever of `Epochs`
      /// and `MaxSteps` comes first ends the run. None: no step budget.
      MaxSteps: int64 option
      BatchSize: int
      /// Seeds the per-epoch data order (see Batches.permutation). Model initialisation is seeded by the caller.
      Seed: int64
      /// Drop a last, smaller batch.
      DropLast: bool
      /// Device the batches are moved to.
      Device: torch.Device
      /// A per-batch transform on the device (augmentation, corruption); it may use the global generator, whose
      /// state checkpoints save.
      Transform: Batch -> Batch
      /// Call `OnCheckpoint` every this many steps inside an epoch (0: never; epoch ends have their own hook).
      CheckpointEverySteps: int
      /// Also call `OnCheckpoint` inside an epoch once this much time has passed since the last checkpoint (or the
      /// start), so a crash loses at most about this much training however long an epoch is. None: never.
      CheckpointInterval: TimeSpan option
      /// Measures held-out data after every epoch (modules in evaluation mode, no gradients); its terms join the
      /// epoch's record with the prefix "val " (e.g. "val loss"). None: no validation.
      Validate: (unit -> Map<string, float>) option
      /// Measures a fixed part of the test set after every epoch (modules in evaluation mode, no gradients), so the
      /// end-of-run metrics can be followed as curves; its terms join the epoch's record with the prefix "test " (e.g.
      /// "test MSE per pixel"). Its time is not counted in the epoch's seconds, and nothing should be chosen by it
      /// (early stopping watches validation terms). None: no per-epoch test terms.
      Test: (unit -> Map<string, float>) option
      /// Stops when a (validation) epoch term stops improving. None: run every epoch.
      EarlyStopping: EarlyStopping option }

/// Callbacks of the loop. Each runs outside the step's dispose scope; modules are back in training mode afterwards.
type FitHooks =
    { /// After every step.
      OnStep: StepProgress -> unit
      /// After every epoch, with the history so far and the position of the next step.
      OnEpochEnd: EpochRecord -> History -> TrainingPosition -> unit
      /// Every `CheckpointEverySteps` steps, and after `CheckpointInterval`, inside an epoch, with the history so far and the next step's position.
      OnCheckpoint: History -> TrainingPosition -> unit
      /// When an epoch becomes early stopping's best so far (RestoreBest set), before `OnEpochEnd`, with the modules
      /// holding its weights: the place to make them durable (a run saves them to disk), since the loop's own copy
      /// lives only in memory and is lost when the process ends.
      OnNewBest: EpochRecord -> unit
      /// Puts back the weights of `epoch`, the best epoch of a resumed run that was trained before the resume (so
      /// the loop holds no copy; `OnNewBest` saw them then). Returns false, leaving the modules untouched, when
      /// they cannot be had (never saved, damaged): the run then ends with its last weights. Called at most once,
      /// at the end.
      RestoreEarlierBest: int -> bool }

/// How `fit` ended.
type FitOutcome =
    /// Every epoch ran.
    | Completed
    /// The cancellation token fired; the position says where to resume.
    | Cancelled
    /// Early stopping ended the run: the monitored term did not improve for `Patience` epochs.
    | StoppedEarly
    /// The step budget (`FitOptions.MaxSteps`) ended the run, possibly in the middle of an epoch (that epoch has no
    /// epoch record yet); the position says where a run given a larger budget continues.
    | StepBudgetReached

/// What `fit` returns: the history, the position reached and how it ended.
type FitResult =
    { History: History
      Position: TrainingPosition
      Outcome: FitOutcome
      /// The epoch whose weights early stopping put back into the modules, when it is not the last epoch trained
      /// (from memory, or through `FitHooks.RestoreEarlierBest` for an epoch trained before a resume).
      RestoredEpoch: int option
      /// Seconds spent in this process on the epoch the run stopped in part-way (cancelled, or the step budget), which
      /// has no epoch record; 0 when it stopped at an epoch's end.
      PartialEpochSeconds: float }

/// The training loop: epochs of shuffled batches, one dispose scope per step, named loss terms recorded per step
/// and per epoch, cancellation between steps, and a stop with a named error when a loss term is not finite.
[<RequireQualifiedAccess>]
module Loop =
    /// Loop defaults: 1 epoch of batch 64 on the CPU, seed 0, no transform.
    let defaults =
        { Epochs = 1; MaxSteps = None; BatchSize = 64; Seed = 0L; DropLast = false; Device = torch.CPU; Transform = id; CheckpointEverySteps = 0; CheckpointInterval = None
          Validate = None; Test = None; EarlyStopping = None }

    /// Hooks that do nothing (and restore no best epoch from before a resume).
    let noHooks =
        { OnStep = ignore; OnEpochEnd = (fun _ _ _ -> ()); OnCheckpoint = (fun _ _ -> ()); OnNewBest = ignore
          RestoreEarlierBest = fun _ -> false }

    /// Where a new run starts.
    let start = { Epoch = 1; StepInEpoch = 0; Step = 0L }

    /// The best (value, epoch) of early stopping's monitored term among `epochs` (the first of equal values), or
    /// None when no epoch recorded it.
    let bestEpoch (stopping: EarlyStopping) (epochs: EpochRecord list) : (float * int) option =
        let isBetter value best = if stopping.Maximize then value > best else value < best
        epochs
        |> List.choose (fun e -> e.Terms.TryFind stopping.Monitor |> Option.map (fun v -> v, e.Epoch))
        |> List.fold (fun acc (v, e) -> match acc with Some (b, _) when not (isBetter v b) -> acc | _ -> Some (v, e)) None

    /// Throws ArgumentException naming the bad field.
    let validate (o: FitOptions) =
        if o.Epochs < 1 then Errors.invalidArg "Epochs" "at least 1" o.Epochs
        if o.BatchSize < 1 then Errors.invalidArg "BatchSize" "at least 1" o.BatchSize
        match o.MaxSteps with
        | Some m when m < 1L -> Errors.invalidArg "MaxSteps" "at least 1 step (or None: no step budget)" m
        | _ -> ()
        if o.CheckpointEverySteps < 0 then Errors.invalidArg "CheckpointEverySteps" "0 (never) or a positive step count" o.CheckpointEverySteps
        match o.CheckpointInterval with
        | Some t when t <= TimeSpan.Zero -> Errors.invalidArg "CheckpointInterval" "a positive time (or None: never)" t
        | _ -> ()
        match o.EarlyStopping with
        | Some es when es.Patience < 1 -> Errors.invalidArg "Patience" "at least 1 epoch" es.Patience
        | Some es when String.IsNullOrWhiteSpace es.Monitor -> Errors.invalidArg "Monitor" "the name of an epoch term, e.g. \"val loss\"" es.Monitor
        | _ -> ()

    // libtorch memory is invisible to the .NET GC, and implicit double -> Scalar conversions (inside
    // optimisers too) leave small native objects that only finalizers free; collecting now and then keeps the
    // resident size flat (docs/torchsharp.md, "The memory trap").
    let private collectEvery = 100L

    let private epochMeans (steps: StepRecord seq) =
        steps
        |> Seq.collect (fun s -> s.Terms |> Map.toSeq)
        |> Seq.groupBy fst
        |> Seq.map (fun (k, vs) -> k, vs |> Seq.averageBy snd)
        |> Map.ofSeq

    /// Copies of every module's parameters and buffers (detached), to put back later with `restoreWeights`.
    let private copyWeights (trainer: Trainer) =
        use _ = torch.no_grad()
        [ for (_, m) in trainer.Modules do
            for KeyValue (_, t) in m.state_dict() do
                yield t, (use d = t.detach() in d.clone().DetachFromDisposeScope()) ]

    let private restoreWeights (copies: (Tensor * Tensor) list) =
        use _ = torch.no_grad()
        for (target, saved) in copies do target.copy_(saved) |> ignore

    let private disposeWeights (copies: (Tensor * Tensor) list) = for (_, saved) in copies do saved.Dispose()

    /// The terms of a measure of held-out data (validation or test), measured in evaluation mode without gradients,
    /// named "<prefix><term>".
    let private heldOutTerms (prefix: string) (measure: (unit -> Map<string, float>) option) (trainer: Trainer) =
        match measure with
        | None -> Map.empty
        | Some measure ->
            Trainer.eval trainer
            let terms =
                use _ = torch.no_grad()
                use _ = torch.NewDisposeScope()
                measure ()
            Trainer.train trainer
            terms |> Map.toSeq |> Seq.map (fun (k, v) -> prefix + k, v) |> Map.ofSeq

    /// Trains `trainer` on the batches of `source` from `position` (use `Loop.start` for a new run) with `history` so
    /// far. The options' BatchSize, Seed and DropLast are the source's business; the loop moves each batch to the
    /// options' Device and applies their Transform.
    let fitBatches (options: FitOptions) (hooks: FitHooks) (cancellation: CancellationToken)
                   (trainer: Trainer) (source: BatchSource) (position: TrainingPosition, history: History) : FitResult =
        validate options
        let stepsPerEpoch = source.StepsPerEpoch
        if stepsPerEpoch < 1 then Errors.invalidArg "source" "a batch source with at least one step per epoch" stepsPerEpoch
        let totalSteps =
            let epochSteps = int64 stepsPerEpoch * int64 options.Epochs
            match options.MaxSteps with Some m -> min m epochSteps | None -> epochSteps
        // The budget counts the run's steps from its start, so a resumed run stops where an uninterrupted one would.
        let budgetSpent (p: TrainingPosition) = match options.MaxSteps with Some m -> p.Step >= m | None -> false
        let steps = ResizeArray<StepRecord>(history.Steps)
        let mutable epochs = history.Epochs
        let mutable pos = position
        let mutable cancelled = false
        let clock = Stopwatch.StartNew()
        let sinceCheckpoint = Stopwatch.StartNew()
        let mutable examplesSeen = 0L
        let snapshot () = { Steps = List.ofSeq steps; Epochs = epochs }
        // Early stopping state. A resumed run recovers the best value and its epoch from the history. The loop copies
        // the weights of bests found in this process into memory; those of a best from before the resume were
        // made durable by `OnNewBest` back then, and `RestoreEarlierBest` fetches them at the end.
        let isBetter (es: EarlyStopping) value best = if es.Maximize then value > best else value < best
        let mutable best = options.EarlyStopping |> Option.bind (fun es -> bestEpoch es history.Epochs)
        let mutable bestWeights : (int * (Tensor * Tensor) list) option = None
        let mutable stopped = false
        let mutable budgetReached = budgetSpent pos && pos.Epoch <= options.Epochs
        let mutable partialEpochSeconds = 0.0
        Trainer.train trainer
        while not cancelled && not stopped && not budgetReached && pos.Epoch <= options.Epochs do
            let epoch = pos.Epoch
            let epochClock = Stopwatch.StartNew()
            // A new epoch starts from a fresh carried state; one resumed mid-epoch has it from its checkpoint.
            if pos.StepInEpoch = 0 then trainer.Carried |> Option.iter (fun c -> c.Reset())
            let mutable i = pos.StepInEpoch
            while not cancelled && not budgetReached && i < stepsPerEpoch do
                if cancellation.IsCancellationRequested then cancelled <- true
                elif budgetSpent pos then budgetReached <- true
                else
                    let step = pos.Step + 1L
                    let terms, batchSize =
                        use _ = torch.NewDisposeScope()
                        let taken = source.Take epoch i
                        let inputs = taken.Inputs.``to``(options.Device)
                        let batch = options.Transform { Inputs = inputs; Targets = taken.Targets.``to``(options.Device) }
                        // An example is a target: an image (its label) or a token of text to predict.
                        trainer.Step batch, taken.Targets.numel()
                    match terms |> Map.toSeq |> Seq.tryFind (fun (_, v) -> Double.IsNaN v || Double.IsInfinity v) with
                    | Some (term, value) -> raise (NonFiniteLossException(step, epoch, term, value))
                    | None -> ()
                    steps.Add { Step = step; Epoch = epoch; Terms = terms }
                    examplesSeen <- examplesSeen + batchSize
                    i <- i + 1
                    pos <- { Epoch = epoch; StepInEpoch = i; Step = step }
                    if step % collectEvery = 0L then
                        GC.Collect()
                        GC.WaitForPendingFinalizers()
                    hooks.OnStep
                        { Epoch = epoch; Epochs = options.Epochs; StepInEpoch = i; StepsPerEpoch = stepsPerEpoch
                          Step = step; TotalSteps = totalSteps; Terms = terms; Elapsed = clock.Elapsed
                          ExamplesPerSecond = float examplesSeen / max 1e-9 clock.Elapsed.TotalSeconds }
                    let dueBySteps = options.CheckpointEverySteps > 0 && step % int64 options.CheckpointEverySteps = 0L
                    let dueByTime = options.CheckpointInterval |> Option.exists (fun t -> sinceCheckpoint.Elapsed >= t)
                    if (dueBySteps || dueByTime) && i < stepsPerEpoch then
                        hooks.OnCheckpoint (snapshot ()) pos
                        sinceCheckpoint.Restart()
                        Trainer.train trainer
            // The epoch ends here only when all its steps ran; the budget may stop it part-way (no record then).
            if i < stepsPerEpoch then partialEpochSeconds <- epochClock.Elapsed.TotalSeconds
            if i = stepsPerEpoch then
                let trainingTerms = steps |> Seq.filter (fun s -> s.Epoch = epoch) |> epochMeans
                let terms = heldOutTerms "val " options.Validate trainer |> Map.fold (fun acc k v -> Map.add k v acc) trainingTerms
                let seconds = epochClock.Elapsed.TotalSeconds
                let terms = heldOutTerms "test " options.Test trainer |> Map.fold (fun acc k v -> Map.add k v acc) terms
                let record = { Epoch = epoch; Step = pos.Step; Terms = terms; Seconds = seconds }
                epochs <- epochs @ [ record ]
                pos <- { Epoch = epoch + 1; StepInEpoch = 0; Step = pos.Step }
                match options.EarlyStopping with
                | None -> ()
                | Some es ->
                    let value =
                        match record.Terms.TryFind es.Monitor with
                        | Some v -> v
                        | None ->
                            raise (InvalidOperationException(
                                sprintf "Early stopping watches '%s', but epoch %d recorded only: %s. Give the loop a Validate function (its terms are prefixed \"val \") or watch another term."
                                    es.Monitor epoch (record.Terms.Keys |> String.concat ", ")))
                    match best with
                    | Some (b, _) when not (isBetter es value b) ->
                        if epoch - snd best.Value >= es.Patience then stopped <- true
                    | _ ->
                        best <- Some (value, epoch)
                        if es.RestoreBest then
                            bestWeights |> Option.iter (snd >> disposeWeights)
                            bestWeights <- Some (epoch, copyWeights trainer)
                            hooks.OnNewBest record
                hooks.OnEpochEnd record (snapshot ()) pos
                sinceCheckpoint.Restart()
                Trainer.train trainer
                // A budget spent exactly at an epoch's end still stops the run before further epochs.
                if budgetSpent pos && pos.Epoch <= options.Epochs && not stopped then budgetReached <- true
        let final = snapshot ()
        let lastEpoch = History.lastEpoch final
        // A cancelled run keeps its last weights: it resumes from them, and restores the best when it ends.
        let restored =
            match options.EarlyStopping, best with
            | Some es, Some (_, epoch) when es.RestoreBest && not cancelled && not budgetReached && epoch <> lastEpoch ->
                match bestWeights with
                | Some (kept, copies) when kept = epoch ->
                    restoreWeights copies
                    Some epoch
                | _ -> if hooks.RestoreEarlierBest epoch then Some epoch else None
            | _ -> None
        bestWeights |> Option.iter (snd >> disposeWeights)
        { History = final; Position = pos
          Outcome = (if cancelled then Cancelled elif stopped then StoppedEarly elif budgetReached then StepBudgetReached else Completed)
          RestoredEpoch = restored; PartialEpochSeconds = partialEpochSeconds }

    /// Trains `trainer` on shuffled mini-batches of the in-memory split `data` (`BatchSource.shuffled` with the
    /// options' Seed, BatchSize and DropLast) from `position` with `history` so far.
    let fit (options: FitOptions) (hooks: FitHooks) (cancellation: CancellationToken)
            (trainer: Trainer) (data: Split) (start: TrainingPosition * History) : FitResult =
        validate options
        fitBatches options hooks cancellation trainer (BatchSource.shuffled options.Seed options.BatchSize options.DropLast data) start
