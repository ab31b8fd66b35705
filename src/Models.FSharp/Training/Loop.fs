namespace Generative

open System
open System.Diagnostics
open System.Threading
open TorchSharp

/// Settings of the training loop itself (not of a model).
type FitOptions =
    { Epochs: int
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
      CheckpointEverySteps: int }

/// Callbacks of the loop. Each runs outside the step's dispose scope; modules are back in training mode afterwards.
type FitHooks =
    { /// After every step.
      OnStep: TrainingProgress -> unit
      /// After every epoch, with the history so far and the position of the next step.
      OnEpochEnd: EpochRecord -> History -> TrainingPosition -> unit
      /// Every `CheckpointEverySteps` steps inside an epoch, with the history so far and the next step's position.
      OnCheckpoint: History -> TrainingPosition -> unit }

/// How `fit` ended.
type FitOutcome =
    /// Every epoch ran.
    | Completed
    /// The cancellation token fired; the position says where to resume.
    | Cancelled

/// What `fit` returns: the history, the position reached and how it ended.
type FitResult = { History: History; Position: TrainingPosition; Outcome: FitOutcome }

/// The training loop: epochs of shuffled batches, one dispose scope per step, named loss terms recorded per step
/// and per epoch, cancellation between steps, and a stop with a named error when a loss term is not finite.
[<RequireQualifiedAccess>]
module Loop =
    /// Loop defaults: 1 epoch of batch 64 on the CPU, seed 0, no transform.
    let defaults =
        { Epochs = 1; BatchSize = 64; Seed = 0L; DropLast = false; Device = torch.CPU; Transform = id; CheckpointEverySteps = 0 }

    /// Hooks that do nothing.
    let noHooks = { OnStep = ignore; OnEpochEnd = (fun _ _ _ -> ()); OnCheckpoint = fun _ _ -> () }

    /// Where a new run starts.
    let start = { Epoch = 1; StepInEpoch = 0; Step = 0L }

    /// Throws ArgumentException naming the bad field.
    let validate (o: FitOptions) =
        if o.Epochs < 1 then Errors.invalidArg "Epochs" "at least 1" o.Epochs
        if o.BatchSize < 1 then Errors.invalidArg "BatchSize" "at least 1" o.BatchSize
        if o.CheckpointEverySteps < 0 then Errors.invalidArg "CheckpointEverySteps" "0 (never) or a positive step count" o.CheckpointEverySteps

    // libtorch memory is invisible to the .NET GC, and implicit double -> Scalar conversions (inside
    // optimisers too) leave small native objects that only finalizers free; collecting now and then keeps the
    // resident size flat (notes/torchsharp.md, "a memory trap").
    let private collectEvery = 100L

    let private epochMeans (steps: StepRecord seq) =
        steps
        |> Seq.collect (fun s -> s.Terms |> Map.toSeq)
        |> Seq.groupBy fst
        |> Seq.map (fun (k, vs) -> k, vs |> Seq.averageBy snd)
        |> Map.ofSeq

    /// Trains `trainer` on `data` from `position` (use `Loop.start` for a new run) with `history` so far.
    let fit (options: FitOptions) (hooks: FitHooks) (cancellation: CancellationToken)
            (trainer: Trainer) (data: Split) (position: TrainingPosition, history: History) : FitResult =
        validate options
        let count = data.Count
        if count = 0L then Errors.invalidArg "data" "at least one example" 0
        let stepsPerEpoch = Batches.batchCount count options.BatchSize options.DropLast
        if stepsPerEpoch = 0 then
            Errors.invalidArg "BatchSize" (sprintf "at most %d (the number of examples) when DropLast is set" count) options.BatchSize
        let totalSteps = int64 stepsPerEpoch * int64 options.Epochs
        let steps = ResizeArray<StepRecord>(history.Steps)
        let mutable epochs = history.Epochs
        let mutable pos = position
        let mutable cancelled = false
        let clock = Stopwatch.StartNew()
        let mutable examplesSeen = 0L
        let snapshot () = { Steps = List.ofSeq steps; Epochs = epochs }
        Trainer.train trainer
        while not cancelled && pos.Epoch <= options.Epochs do
            let epoch = pos.Epoch
            let epochClock = Stopwatch.StartNew()
            use perm = Batches.permutation options.Seed epoch count
            let mutable i = pos.StepInEpoch
            while not cancelled && i < stepsPerEpoch do
                if cancellation.IsCancellationRequested then cancelled <- true
                else
                    let step = pos.Step + 1L
                    let terms, batchSize =
                        use _ = torch.NewDisposeScope()
                        let idx = Batches.indices perm i options.BatchSize
                        let images = data.Images.index_select(0L, idx).``to``(options.Device)
                        let labels = data.Labels.index_select(0L, idx).``to``(options.Device)
                        let batch = options.Transform { Images = images; Labels = labels }
                        trainer.Step batch, images.shape.[0]
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
                    if options.CheckpointEverySteps > 0 && step % int64 options.CheckpointEverySteps = 0L && i < stepsPerEpoch then
                        hooks.OnCheckpoint (snapshot ()) pos
                        Trainer.train trainer
            if not cancelled then
                let record =
                    { Epoch = epoch; Step = pos.Step
                      Terms = steps |> Seq.filter (fun s -> s.Epoch = epoch) |> epochMeans
                      Seconds = epochClock.Elapsed.TotalSeconds }
                epochs <- epochs @ [ record ]
                pos <- { Epoch = epoch + 1; StepInEpoch = 0; Step = pos.Step }
                hooks.OnEpochEnd record (snapshot ()) pos
                Trainer.train trainer
        { History = snapshot (); Position = pos; Outcome = if cancelled then Cancelled else Completed }
