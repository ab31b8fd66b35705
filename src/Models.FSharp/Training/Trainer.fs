namespace Generative

open System
open TorchSharp

/// A batch of examples on the training device.
type Batch =
    { /// What the model reads: images [N, C, H, W] (or rows [N, D]), or token ids [B, T] of consecutive text.
      Inputs: Tensor
      /// What goes with them: class labels [N] of images, or the next token of each input position [B, T].
      Targets: Tensor }

/// What a model carries from one training step to the next besides its weights and optimiser state: a language
/// model's hidden state, passed from one chunk of text to the next (truncated backpropagation through time).
/// Checkpoints save it, so a run resumed in the middle of an epoch continues exactly.
type CarriedState =
    { /// The state as named tensors (for a checkpoint).
      Save: unit -> (string * Tensor) list
      /// Puts back what `Save` returned.
      Restore: (string * Tensor) list -> unit
      /// Forgets the state; the loop calls it before the first step of every epoch.
      Reset: unit -> unit }

/// A model ready to train: what a step updates and what a checkpoint must hold.
type Trainer =
    { /// Named modules: saved in checkpoints (as `<name>.<parameter>`) and switched between train and eval mode.
      Modules: (string * torch.nn.Module) list
      /// Named optimisers, each over the parameters it updates; their state is checkpointed.
      Optimizers: (string * Modules.OptimizerHelper) list
      /// One optimisation step on a batch; returns its named loss terms as numbers. The loop runs it inside a
      /// dispose scope, so tensors it creates are freed when it returns.
      Step: Batch -> Map<string, float>
      /// State carried between steps (a language model's hidden state), or None.
      Carried: CarriedState option }

/// Where a run stands in its schedule: what a checkpoint records and a resumed run continues from.
type TrainingPosition =
    { /// The epoch in progress (1-based); after the last epoch it is `Epochs + 1`.
      Epoch: int
      /// Steps already done in that epoch.
      StepInEpoch: int
      /// Steps done since the run began.
      Step: int64 }

/// A snapshot of training progress, raised after every step.
type StepProgress =
    { Epoch: int
      Epochs: int
      StepInEpoch: int
      StepsPerEpoch: int
      Step: int64
      TotalSteps: int64
      Terms: Map<string, float>
      /// Time spent training in this process (resumed runs start again from zero).
      Elapsed: TimeSpan
      /// Examples per second over this process's steps; an example is a target: an image (with its label), or a
      /// token of text a language model predicts.
      ExamplesPerSecond: float }

/// Raised when a loss term becomes NaN or infinite: training stops rather than wasting time or saving garbage.
/// The training loop raises it knowing nothing of checkpoints; a run raises it again with `LastCheckpoint` and a
/// sentence saying which checkpoint exists, since a resume repeats the same steps and diverges again.
type NonFiniteLossException private (step: int64, epoch: int, term: string, value: float, lastCheckpoint: string option, advice: string) =
    inherit Exception(
        sprintf "Training stopped at step %d (epoch %d): loss term '%s' is %s. %s"
            step epoch term (if Double.IsNaN value then "NaN" else string value) advice)
    static let remedy = "Lower the learning rate or check the data's normalisation."
    /// The loop's exception: the step, its epoch, the term and its value.
    new(step: int64, epoch: int, term: string, value: float) = NonFiniteLossException(step, epoch, term, value, None, remedy)
    /// The same divergence seen by a run, which names its newest checkpoint (None: none was written before it).
    new(divergence: NonFiniteLossException, runFolder: string, lastCheckpoint: string option) =
        let where =
            match lastCheckpoint with
            | Some ck ->
                sprintf "The newest checkpoint, %s, was written before this step and is intact: `generative sample`, `eval` and `reconstruct` can use %s. Resuming would repeat the same steps, so start a new run with other settings instead." ck runFolder
            | None -> sprintf "No checkpoint of %s was written before this step, so nothing of the run can be used: start it again with other settings." runFolder
        NonFiniteLossException(divergence.Step, divergence.Epoch, divergence.Term, divergence.Value, lastCheckpoint, remedy + " " + where)
    /// The global step (1-based) whose loss was not finite.
    member _.Step = step
    /// The epoch of that step.
    member _.Epoch = epoch
    /// The loss term's name.
    member _.Term = term
    /// The value (NaN or ±infinity).
    member _.Value = value
    /// The run's newest checkpoint folder when a run raised it and one was written before the divergence.
    member _.LastCheckpoint = lastCheckpoint

/// Trainer helpers.
[<RequireQualifiedAccess>]
module Trainer =
    /// Puts every module in training mode.
    let train (t: Trainer) = for (_, m) in t.Modules do m.train()
    /// Puts every module in evaluation mode (dropout off, batch norm uses running statistics).
    let eval (t: Trainer) = for (_, m) in t.Modules do m.eval()
    /// Number of trainable parameters over all modules.
    let parameterCount (t: Trainer) =
        t.Modules |> List.sumBy (fun (_, m) -> m.parameters() |> Seq.sumBy (fun p -> p.numel()))

    /// The name single-optimiser trainers give their optimiser in checkpoints (`optimizer-optimizer.bin`); the first
    /// version of the autoencoders called it "adam" whatever it was (`Checkpoint.restore` still reads that name).
    let optimizerName = "optimizer"

    /// `minimizing` with `beforeStep` run first in each step and `afterBackward` between the backward pass and the
    /// optimiser's step (mixed precision loads its working copies and hands their gradients back there).
    let minimizingAround (beforeStep: unit -> unit) (afterBackward: unit -> unit) (modules: (string * torch.nn.Module) list)
                         (optimizer: Modules.OptimizerHelper) (lossOf: Batch -> Map<string, Tensor>) : Trainer =
        { Modules = modules
          Optimizers = [ optimizerName, optimizer ]
          Carried = None
          Step =
            fun batch ->
                beforeStep ()
                optimizer.zero_grad()
                let terms = lossOf batch
                terms.["loss"].backward()
                afterBackward ()
                optimizer.step() |> ignore
                terms |> Map.map (fun _ t -> t.ToDouble()) }

    /// The trainer of a model with one optimiser over `modules`: each step zeroes the gradients, minimises the "loss"
    /// term of `lossOf batch` and returns every term as a number (terms other than "loss" are only tracked).
    let minimizing (modules: (string * torch.nn.Module) list) (optimizer: Modules.OptimizerHelper)
                   (lossOf: Batch -> Map<string, Tensor>) : Trainer =
        minimizingAround ignore ignore modules optimizer lossOf

    /// The trainer with every optimiser's learning rate multiplied by 0.5^(1/halfLife) after each step (as
    /// torch.optim.lr_scheduler.ExponentialLR stepped per batch), so it halves every `halfLife` steps; 0 keeps it
    /// constant. Multiplying the current rate (rather than recomputing it from a step count) continues the decay from
    /// the rate a checkpoint's optimiser state restores.
    let withLearningRateHalfLife (halfLife: int) (t: Trainer) : Trainer =
        if halfLife < 0 then Errors.invalidArg "lr-half-life" "0 (constant learning rate) or a number of steps" halfLife
        if halfLife = 0 then t
        else
            let decay = Math.Pow(0.5, 1.0 / float halfLife)
            { t with
                Step =
                    fun batch ->
                        let terms = t.Step batch
                        for (_, optimizer) in t.Optimizers do
                            for g in optimizer.ParamGroups do g.LearningRate <- g.LearningRate * decay
                        terms }
