namespace Generative

/// A confusion matrix and the scores read from it.
type ClassificationReport =
    { /// Counts[t][p] = number of examples of true class t predicted as class p.
      Counts: int[][]
      /// Fraction of examples whose prediction equals the label.
      Accuracy: float
      /// Per class p: Counts[p][p] / (column p's sum), the share of predictions of p that are right; NaN when p is never predicted.
      Precision: float[]
      /// Per class t: Counts[t][t] / (row t's sum), the share of examples of t found; NaN when t never occurs.
      Recall: float[] }

/// Classification metrics from predicted and true class indices (plain arrays: cheap to test and to report).
[<RequireQualifiedAccess>]
module ClassificationMetrics =
    /// Fraction of positions where `predicted` equals `labels` (0 for empty input).
    let accuracy (predicted: int[]) (labels: int[]) : float =
        if predicted.Length <> labels.Length then
            Errors.invalidArg "predicted" (sprintf "%d predictions, one per label" labels.Length) predicted.Length
        if labels.Length = 0 then 0.0
        else float (Array.fold2 (fun n p l -> if p = l then n + 1 else n) 0 predicted labels) / float labels.Length

    /// The `classes` x `classes` confusion matrix: rows are true classes, columns predicted classes.
    let confusion (classes: int) (predicted: int[]) (labels: int[]) : int[][] =
        if classes < 1 then Errors.invalidArg "classes" "at least 1" classes
        if predicted.Length <> labels.Length then
            Errors.invalidArg "predicted" (sprintf "%d predictions, one per label" labels.Length) predicted.Length
        let counts = Array.init classes (fun _ -> Array.zeroCreate classes)
        for i in 0 .. labels.Length - 1 do
            let t, p = labels.[i], predicted.[i]
            if t < 0 || t >= classes then Errors.invalidArg "labels" (sprintf "classes 0 to %d" (classes - 1)) t
            if p < 0 || p >= classes then Errors.invalidArg "predicted" (sprintf "classes 0 to %d" (classes - 1)) p
            counts.[t].[p] <- counts.[t].[p] + 1
        counts

    /// Accuracy, per-class precision and recall from a confusion matrix.
    let ofConfusion (counts: int[][]) : ClassificationReport =
        let k = counts.Length
        let total = counts |> Array.sumBy Array.sum
        let diagonal = Array.init k (fun i -> counts.[i].[i])
        let ratio (a: int) (b: int) = if b = 0 then nan else float a / float b
        { Counts = counts
          Accuracy = ratio (Array.sum diagonal) total |> fun a -> if total = 0 then 0.0 else a
          Precision = Array.init k (fun p -> ratio diagonal.[p] (counts |> Array.sumBy (fun row -> row.[p])))
          Recall = Array.init k (fun t -> ratio diagonal.[t] (Array.sum counts.[t])) }

    /// The full report of predictions against labels.
    let report (classes: int) (predicted: int[]) (labels: int[]) : ClassificationReport =
        ofConfusion (confusion classes predicted labels)
