namespace Generative

open TorchSharp

/// A classification loss as a value: what a classifier minimises, from logits [N, classes] and labels [N]. A new loss
/// is one more value in `ClassificationLoss.all`. Losses compare by identity: configs hold the values of `all`.
[<ReferenceEquality>]
type ClassificationLoss =
    { /// The settings name, e.g. "cross-entropy".
      Name: string
      /// The formula and where it comes from.
      Description: string
      /// The batch's mean loss of logits [N, classes] against labels [N] (int64).
      OfLogits: Tensor -> Tensor -> Tensor }

/// The classification losses.
[<RequireQualifiedAccess>]
module ClassificationLoss =
    /// Mean cross-entropy -log softmax(z)_y (Keras' sparse categorical cross-entropy on logits).
    let crossEntropy : ClassificationLoss =
        { Name = "cross-entropy"
          Description = "mean cross-entropy -log softmax(z)_y"
          OfLogits = fun z labels -> torch.nn.functional.cross_entropy(z, labels) }

    /// One-vs-rest hinge loss of a linear SVM (Cortes & Vapnik, 1995): mean over examples of sum_k max(0, 1 - y_k z_k),
    /// y_k = +1 for the true class and -1 otherwise. The SVM's 1/(2C) ||W||^2 term is the optimiser's weight decay.
    let hinge : ClassificationLoss =
        { Name = "hinge"
          Description = "one-vs-rest hinge: mean over examples of Σ_k max(0, 1 - y_k z_k), y_k = ±1"
          OfLogits =
            fun z labels ->
                use _ = torch.NewDisposeScope()
                let signs = torch.nn.functional.one_hot(labels, z.shape.[1]).to_type(z.dtype) * 2.0f - 1.0f
                torch.nn.functional.relu(1.0f - signs * z).sum(1L).mean().MoveToOuterDisposeScope() }

    /// Every loss, by name.
    let all = [ crossEntropy; hinge ]

    /// The loss called `name`; the error lists the names there are.
    let parse (name: string) : ClassificationLoss =
        match all |> List.tryFind (fun l -> l.Name = name.Trim().ToLowerInvariant()) with
        | Some l -> l
        | None -> Errors.invalidArg "loss" (sprintf "one of %s" (all |> List.map (fun l -> l.Name) |> String.concat ", ")) name
