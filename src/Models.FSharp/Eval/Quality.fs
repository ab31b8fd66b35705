namespace Generative

open System
open TorchSharp

/// The first two moments of a set of feature vectors, in float64 on the CPU: what the Frechet distance compares.
type FeatureStatistics =
    { /// Number of feature vectors N.
      Count: int64
      /// Mean [D].
      Mean: Tensor
      /// Unbiased covariance [D, D] (divided by N - 1).
      Covariance: Tensor }

/// What a sample-quality measurement found, and how it was made (reports must state N, the reference split
/// and the feature network).
type QualityReport =
    { /// Generated images scored.
      Samples: int
      /// The real images compared against, e.g. "MNIST test split (10000 images)".
      Reference: string
      /// The feature network's description.
      Network: string
      /// Frechet distance between the features of the generated and the reference images (lower is better).
      FrechetDistance: float
      /// Classifier-based inception score of the generated images (mean over splits; between 1 and the number
      /// of classes, higher is better).
      InceptionScore: float
      /// Standard deviation of the inception score over the splits.
      InceptionScoreStd: float
      /// The same score of the reference images: the best a generator can expect from this classifier.
      ReferenceInceptionScore: float
      /// Generated images per predicted class (index = class): a flat histogram means no mode collapse.
      Histogram: int[]
      /// Class names, index = class.
      Classes: string list }

/// Sample-quality metrics on a classifier's features: Frechet distance (Heusel et al., 2017, "FID" with a
/// task classifier instead of Inception-v3), inception score (Salimans et al., 2016) and the predicted-class
/// histogram.
[<RequireQualifiedAccess>]
module Quality =
    /// Mean and unbiased covariance of features [N, D] (N >= 2), computed in float64.
    let statistics (features: Tensor) : FeatureStatistics =
        if isNull features then nullArg "features"
        if features.dim () <> 2L then Errors.invalidArg "features" "a [N, D] tensor" (sprintf "%A" features.shape)
        let n = features.shape.[0]
        if n < 2L then Errors.invalidArg "features" "at least 2 feature vectors" n
        use _ = torch.NewDisposeScope()
        let x = features.detach().cpu().to_type(torch.float64)
        let mean = x.mean([| 0L |])
        let centred = x - mean
        let cov = centred.t().matmul(centred) / float (n - 1L)
        { Count = n; Mean = mean.MoveToOuterDisposeScope(); Covariance = cov.MoveToOuterDisposeScope() }

    /// The symmetric positive semi-definite square root of a symmetric matrix, through its eigen-decomposition
    /// S = V diag(λ) Vᵀ: V diag(sqrt(max(λ, 0))) Vᵀ (negative eigenvalues are rounding noise and clamped).
    let sqrtSymmetric (s: Tensor) : Tensor =
        use _ = torch.NewDisposeScope()
        let sym = (s + s.t()) * 0.5
        let struct (values, vectors) = torch.linalg.eigh(sym)
        let roots = values.clamp_min(0.0.ToScalar()).sqrt()
        (vectors * roots.unsqueeze(0L)).matmul(vectors.t()).MoveToOuterDisposeScope()

    /// Frechet distance between two Gaussians fitted to feature sets:
    /// ‖μ₁ - μ₂‖² + Tr(Σ₁ + Σ₂ - 2 (Σ₁^½ Σ₂ Σ₁^½)^½) (Dowson & Landau, 1982; Heusel et al., 2017).
    /// The trace of the matrix square root is the sum of the square roots of the eigenvalues of the symmetric
    /// Σ₁^½ Σ₂ Σ₁^½, so only symmetric eigen-decompositions are needed (no complex sqrtm).
    let frechetDistance (a: FeatureStatistics) (b: FeatureStatistics) : float =
        if a.Mean.shape <> b.Mean.shape then
            Errors.invalidArg "b" (sprintf "features of dimension %A" a.Mean.shape) (sprintf "%A" b.Mean.shape)
        use _ = torch.NewDisposeScope()
        let diff = a.Mean - b.Mean
        let meanTerm = diff.dot(diff).ToDouble()
        let rootA = sqrtSymmetric a.Covariance
        let product = rootA.matmul(b.Covariance).matmul(rootA)
        let sym = (product + product.t()) * 0.5
        let traceRoot = torch.linalg.eigvalsh(sym).clamp_min(0.0.ToScalar()).sqrt().sum().ToDouble()
        let value = meanTerm + a.Covariance.trace().ToDouble() + b.Covariance.trace().ToDouble() - 2.0 * traceRoot
        // Rounding can push a distance of 0 slightly below it.
        max 0.0 value

    /// Frechet distance between two feature sets [N, D] and [M, D].
    let frechetDistanceOf (a: Tensor) (b: Tensor) : float =
        let sa = statistics a
        let sb = statistics b
        try frechetDistance sa sb
        finally
            for t in [ sa.Mean; sa.Covariance; sb.Mean; sb.Covariance ] do t.Dispose()

    let private checkProbabilities (probabilities: Tensor) =
        if isNull probabilities then nullArg "probabilities"
        if probabilities.dim () <> 2L || probabilities.shape.[0] < 1L then
            Errors.invalidArg "probabilities" "a [N, classes] tensor with N >= 1" (sprintf "%A" probabilities.shape)

    /// Inception score exp(E_x KL(p(y|x) ‖ p(y))) of class probabilities [N, C] (Salimans et al., 2016), computed
    /// on `splits` equal consecutive parts as in the original code; returns (mean, standard deviation) over them.
    /// It is 1 when every image gets the same prediction and C when predictions are confident and balanced.
    let inceptionScore (splits: int) (probabilities: Tensor) : float * float =
        checkProbabilities probabilities
        let n = probabilities.shape.[0]
        if splits < 1 || int64 splits > n then Errors.invalidArg "splits" (sprintf "between 1 and N = %d" n) splits
        use _ = torch.NewDisposeScope()
        let p = probabilities.detach().cpu().to_type(torch.float64)
        let part = n / int64 splits
        let scores =
            [ for i in 0L .. int64 splits - 1L do
                let len = if i = int64 splits - 1L then n - i * part else part
                let q = p.narrow(0L, i * part, len)
                let marginal = q.mean([| 0L |], keepdim = true)
                // p log p is 0 at p = 0: clamping inside the log keeps that without NaN.
                let logQ = q.clamp_min(1e-30.ToScalar()).log()
                let logMarginal = marginal.clamp_min(1e-30.ToScalar()).log()
                let kl = (q * (logQ - logMarginal)).sum([| 1L |])
                exp (kl.mean().ToDouble()) ]
        let mean = List.average scores
        let std = sqrt (scores |> List.averageBy (fun s -> (s - mean) ** 2.0))
        mean, std

    /// Counts of the predicted (arg-max) class of each row of probabilities [N, C]: [C] counts.
    let classHistogram (probabilities: Tensor) : int[] =
        checkProbabilities probabilities
        let classes = probabilities.shape.[1]
        use predicted = probabilities.argmax(1L).cpu()
        use counts = torch.bincount(predicted, minlength = classes)
        counts.data<int64>().ToArray() |> Array.map int

    /// Features [N, D] and probabilities [N, C] of images in batches of `batchSize`, without gradients, gathered
    /// on the CPU. `prepare` maps a batch into the feature network's input normalisation. `unit` is called before
    /// each batch (a cancellation check).
    let featuresAndProbabilitiesWith (unit: unit -> unit) (net: FeatureNetwork) (prepare: Tensor -> Tensor) (batchSize: int) (images: Tensor) : Tensor * Tensor =
        if batchSize < 1 then Errors.invalidArg "batchSize" "at least 1" batchSize
        use _ = torch.no_grad()
        let n = images.shape.[0]
        let features = ResizeArray<Tensor>()
        let probabilities = ResizeArray<Tensor>()
        try
            let mutable start = 0L
            while start < n do
                unit ()
                use _ = torch.NewDisposeScope()
                let len = min (int64 batchSize) (n - start)
                let x = prepare (images.narrow(0L, start, len))
                features.Add((net.Features x).cpu().to_type(torch.float64).MoveToOuterDisposeScope())
                probabilities.Add((net.Probabilities x).cpu().to_type(torch.float64).MoveToOuterDisposeScope())
                start <- start + len
            torch.cat(features.ToArray(), 0L), torch.cat(probabilities.ToArray(), 0L)
        finally
            for t in features do t.Dispose()
            for t in probabilities do t.Dispose()

    /// Features [N, D] and probabilities [N, C] of images in batches of `batchSize`, without gradients, gathered
    /// on the CPU. `prepare` maps a batch into the feature network's input normalisation.
    let featuresAndProbabilities (net: FeatureNetwork) (prepare: Tensor -> Tensor) (batchSize: int) (images: Tensor) : Tensor * Tensor =
        featuresAndProbabilitiesWith ignore net prepare batchSize images

    /// The feature statistics of images, gathered in batches of 500 without gradients; `prepare` maps a batch into
    /// the feature network's input normalisation.
    let featureStatisticsOf (net: FeatureNetwork) (prepare: Tensor -> Tensor) (images: Tensor) : FeatureStatistics =
        let features, probabilities = featuresAndProbabilities net prepare 500 images
        use features = features
        probabilities.Dispose()
        statistics features

    /// The feature statistics of `count` images drawn by `generate` (called with at most 500 at a time).
    let generatedStatisticsOf (net: FeatureNetwork) (prepare: Tensor -> Tensor) (generate: int -> Tensor) (count: int) : FeatureStatistics =
        if count < 2 then Errors.invalidArg "count" "at least 2 images" count
        let parts =
            [ let mutable left = count
              while left > 0 do
                  let n = min 500 left
                  use _ = torch.NewDisposeScope()
                  let features, probabilities = featuresAndProbabilities net prepare 500 (generate n)
                  probabilities.Dispose()
                  yield features.MoveToOuterDisposeScope()
                  left <- left - n ]
        use all = torch.cat(parts |> List.toArray, 0L)
        for p in parts do p.Dispose()
        statistics all

    /// Scores `samples` generated images (drawn by `generate count` in batches of at most 500) against the
    /// reference images with the feature network: Frechet distance, inception score over 10 splits, the
    /// reference's own inception score and the predicted-class histogram. Generated and reference images are
    /// in the same space; `prepare` maps them to the feature network's input. Each batch of 500 images (reference or
    /// generated) is a unit of `work` named "Frechet distance".
    let measure (work: Work) (net: FeatureNetwork) (prepare: Tensor -> Tensor) (generate: int -> Tensor)
                (reference: Tensor) (referenceName: string) (samples: int) : QualityReport =
        if samples < 10 then Errors.invalidArg "samples" "at least 10 (the inception score uses 10 splits)" samples
        let total = int ((reference.shape.[0] + 499L) / 500L) + (samples + 499) / 500
        let mutable finished = 0
        // Checked and reported before each batch (0 of N first, so a slow first batch is not silence): a cancellation
        // waits for one batch at most.
        let unit () =
            Work.step work "Frechet distance" finished total
            finished <- finished + 1
        let refFeatures, refProbabilities = featuresAndProbabilitiesWith unit net prepare 500 reference
        use _ = refFeatures
        use _ = refProbabilities
        let parts =
            [ let mutable left = samples
              while left > 0 do
                  let count = min 500 left
                  use _ = torch.NewDisposeScope()
                  Work.check work
                  let images = generate count
                  let f, p = featuresAndProbabilitiesWith unit net prepare 500 images
                  yield f.MoveToOuterDisposeScope(), p.MoveToOuterDisposeScope()
                  left <- left - count ]
        use genFeatures = torch.cat(parts |> List.map fst |> List.toArray, 0L)
        use genProbabilities = torch.cat(parts |> List.map snd |> List.toArray, 0L)
        for f, p in parts do f.Dispose(); p.Dispose()
        let score, std = inceptionScore 10 genProbabilities
        let referenceScore, _ = inceptionScore 10 refProbabilities
        { Samples = samples
          Reference = referenceName
          Network = net.Description
          FrechetDistance = frechetDistanceOf genFeatures refFeatures
          InceptionScore = score
          InceptionScoreStd = std
          ReferenceInceptionScore = referenceScore
          Histogram = classHistogram genProbabilities
          Classes = net.Classes }

    /// The report as test metrics (name, value, how it was measured), each naming N, the reference and the network.
    let metrics (r: QualityReport) : (string * float * string) list =
        let how = sprintf "%d generated images against the %s; features: %s" r.Samples r.Reference r.Network
        let largest = if r.Histogram.Length = 0 then 0 else Array.max r.Histogram
        [ "Frechet distance", r.FrechetDistance, "Frechet distance of penultimate-layer features (lower is better): " + how
          "inception score", r.InceptionScore,
          sprintf "classifier inception score, mean of 10 splits (std %.3f; the reference images score %.3f; at most %d): %s"
              r.InceptionScoreStd r.ReferenceInceptionScore r.Classes.Length how
          "largest predicted-class share", float largest / float (max 1 r.Samples),
          sprintf "share of the most predicted class (%.3g when balanced over %d classes; near 1 is mode collapse), histogram %s: %s"
              (1.0 / float (max 1 r.Histogram.Length)) r.Histogram.Length
              (Array.zip (List.toArray r.Classes |> Array.truncate r.Histogram.Length) r.Histogram
               |> Array.map (fun (c, k) -> sprintf "%s:%d" c k) |> String.concat " ")
              how ]
