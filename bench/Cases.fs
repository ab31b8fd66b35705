namespace Generative.Bench

open System
open System.Diagnostics
open System.IO
open System.Reflection
open System.Text.Json
open System.Threading
open TorchSharp
open Generative

/// One benchmark: an F# worker training through the library, and the PyTorch script that does the same.
type BenchCase =
    { /// The command-line name, e.g. "ae-linear".
      Name: string
      /// What is trained, for the report.
      Description: string
      /// Runs in a child process: trains and measures; prints nothing.
      Worker: WorkerSettings -> Measurement
      /// The reference script's file name in bench/pytorch/.
      PythonScript: string
      /// Whether the worker reads `--set key=value` model settings (the GAN cases: e.g. the cost of each technique).
      TakesSettings: bool }

/// The benchmark cases, and what their workers share.
[<RequireQualifiedAccess>]
module Cases =
    /// The stack this process runs on: the TorchSharp assembly's version and the native libtorch package's
    /// version from the app's deps.json (it names the runtime actually shipped: CPU or CUDA).
    let version () =
        let torchSharp = typeof<torch.Tensor>.Assembly.GetName().Version
        let depsFile = Path.Combine(AppContext.BaseDirectory, Assembly.GetEntryAssembly().GetName().Name + ".deps.json")
        let libtorch =
            if File.Exists depsFile then
                use doc = JsonDocument.Parse(File.ReadAllText depsFile)
                doc.RootElement.GetProperty("libraries").EnumerateObject()
                |> Seq.map (fun p -> p.Name)
                |> Seq.tryFind (fun n -> n.StartsWith "libtorch-")
                |> Option.map (fun n -> n.Substring(n.IndexOf '/' + 1))
            else None
        sprintf "TorchSharp %d.%d.%d / libtorch %s" torchSharp.Major torchSharp.Minor torchSharp.Build
            (defaultArg libtorch "?")

    /// 60000 MNIST-shaped images in [0,1]: the real training split when a folder is given, otherwise uniform
    /// noise from the global generator (speed does not depend on the pixel values).
    let mnistShaped (data: string option) : Split * Split option * string =
        match data with
        | Some folder ->
            let d = Datasets.mnist folder Normalization.ZeroOne
            d.Train, Some d.Test, "mnist"
        | None ->
            { Images = torch.rand([| 60000L; 1L; 28L; 28L |]); Labels = torch.zeros([| 60000L |], dtype = torch.int64) },
            None, "synthetic"

    /// Trains `trainer` on the batches of `source` through `Loop.fitBatches` for exactly `s.Steps` steps (epochs as
    /// needed, stopped by cancellation) and times the steps after the warm-up. Returns steps per second, the mean
    /// of the loss term `term` over the last steps, and the matrix products of the first step (`Flops`; a warm-up
    /// step, before the clock starts when the warm-up is at least 1).
    let timedFitBatches (s: WorkerSettings) (term: string) (trainer: Trainer) (source: BatchSource) : Timing =
        let stepsPerEpoch = source.StepsPerEpoch
        let options = { Loop.defaults with Epochs = (s.Steps + stepsPerEpoch - 1) / stepsPerEpoch; BatchSize = s.BatchSize }
        use stop = new CancellationTokenSource()
        let mutable started = 0L
        let mutable finished = 0L
        let stopCounting = Flops.start (trainer.Modules |> List.map snd)
        let mutable gflop = nan
        let hooks =
            { Loop.noHooks with
                OnStep =
                    fun p ->
                        if p.Step = 1L then gflop <- stopCounting ()
                        if p.Step = int64 s.Warmup then started <- Stopwatch.GetTimestamp()
                        if p.Step = int64 s.Steps then
                            finished <- Stopwatch.GetTimestamp()
                            stop.Cancel() }
        let result = Loop.fitBatches options hooks stop.Token trainer source (Loop.start, History.empty)
        let seconds = Stopwatch.GetElapsedTime(started, finished).TotalSeconds
        let window = min Measurement.lossWindow (s.Steps - s.Warmup)
        let loss =
            result.History.Steps
            |> List.skip (result.History.Steps.Length - window)
            |> List.averageBy (fun r -> r.Terms.[term])
        { Rate = float (s.Steps - s.Warmup) / seconds; MeanLoss = loss; CountedGflop = gflop }

    /// `timedFitBatches` over shuffled mini-batches of an image split (`Loop.fit`'s batches).
    let timedFit (s: WorkerSettings) (term: string) (trainer: Trainer) (data: Split) : Timing =
        timedFitBatches s term trainer (BatchSource.shuffled Loop.defaults.Seed s.BatchSize false data)

    /// Wraps a worker's timing into a measurement of this process (memory read last, after training).
    let measured (s: WorkerSettings) (dataKind: string) (metrics: (string * float) list) (timing: Timing) : Measurement =
        { Implementation = "Generative (F#)"
          Version = version ()
          Threads = s.Threads
          Steps = s.Steps
          Warmup = s.Warmup
          BatchSize = s.BatchSize
          Data = dataKind
          StepsPerSecond = timing.Rate
          PeakRssMb = Measurement.procStatusMb "VmHWM"
          RssMb = Measurement.procStatusMb "VmRSS"
          FinalLoss = timing.MeanLoss
          Metrics = Collections.Generic.Dictionary(dict metrics)
          GflopPerStep = timing.CountedGflop }

    /// AE-LIN (`Autoencoder.linear`) through `Autoencoder.trainer`. Seeding before the data and the model
    /// makes the initial weights and synthetic data those of the PyTorch script (same generator, same order).
    let aeLinear (s: WorkerSettings) : Measurement =
        torch.manual_seed 0L |> ignore
        let data, test, kind = mnistShaped s.Data
        let model = Autoencoder.create Autoencoder.linear
        let timing = timedFit s "loss" (Autoencoder.trainer model) data
        let metrics =
            match test with
            | None -> []
            | Some t ->
                [ "test MSE", RunModel.meanOver Work.none "test MSE" torch.CPU 1000 t (fun x -> use r = Autoencoder.reconstruct model x in Reconstruction.loss Reconstruction.mse ElementMean r x) ]
        measured s kind metrics timing

    /// Like `mnistShaped`, but a folder whose name contains "fashion" loads as Fashion-MNIST (same IDX layout; the
    /// data kind reported is "fashion-mnist", as the PyTorch scripts' `data_kind`).
    let imagesShaped (data: string option) : Split * Split option * string =
        match data with
        | Some folder when Path.GetFileName(Path.TrimEndingDirectorySeparator folder).ToLowerInvariant().Contains "fashion" ->
            let d = Datasets.fashionMnist folder Normalization.ZeroOne
            d.Train, Some d.Test, "fashion-mnist"
        | _ -> mnistShaped data

    /// A classifier config through `Classifier.trainer` (augmentation included), pixels standardised as
    /// (x - mean) / std (0, 1 for the catalog's "zero-one"); with real data, "test accuracy" in evaluation mode
    /// (`Classifier.measure`). Seeding before the data and the model gives the PyTorch script's initial weights.
    let classifier (config: ClassifierConfig) (mean: float32) (std: float32) (s: WorkerSettings) : Measurement =
        torch.manual_seed 0L |> ignore
        let data, test, kind = imagesShaped s.Data
        // In place: the split is this worker's own, and `(x - mean) / std` would leave two more full-size copies
        // (the difference is never disposed), which the peak-memory column would charge to the library.
        let standardised (split: Split) =
            if mean <> 0.0f || std <> 1.0f then Transforms.normalizeInPlace (MeanStd(float mean, float std)) split.Images
            split
        let model = Classifier.create config
        let timing = timedFit s "loss" (Classifier.trainer model) (standardised data)
        Classifier.eval model
        let metrics =
            match test with
            | None -> []
            | Some t -> [ "test accuracy", (Classifier.measure model (standardised t)).["accuracy"] ]
        measured s kind metrics timing

    /// CLS-PYR (`Classifier.pyramidSvm`): Gaussian-pyramid features of the training split computed once
    /// (`Classifier.cachedInputs`, batches of 256, timed as the "feature seconds" metric), then the one-vs-rest
    /// linear SVM head trained on them through `Classifier.trainer` (hinge loss, Adam with weight decay 1/54000).
    /// With real data, "test accuracy" on the test images (their features computed the same way).
    let pyramidSvm (s: WorkerSettings) : Measurement =
        torch.manual_seed 0L |> ignore
        let data, test, kind = imagesShaped s.Data
        let model = Classifier.create Classifier.pyramidSvm
        let clock = Stopwatch.StartNew()
        let features = Classifier.cachedInputs model 256 data
        let featureSeconds = clock.Elapsed.TotalSeconds
        let timing = timedFit s "loss" (Classifier.trainer model) features
        Classifier.eval model
        let metrics =
            [ yield "feature seconds", featureSeconds
              match test with
              | None -> ()
              | Some t -> yield "test accuracy", (Classifier.measure model (Classifier.cachedInputs model 256 t)).["accuracy"] ]
        measured s kind metrics timing

    /// A catalog model trained with its default settings (the source's, see each model's docs) on MNIST in the
    /// model's normalisation, measured with the catalog's own test metrics. Seeding before the data and the model
    /// makes the initial weights those of the PyTorch script (layers are created in the same order).
    let catalogModelWith (id: string) (settings: (string * string) list) (s: WorkerSettings) : Measurement =
        torch.manual_seed 0L |> ignore
        let data, test, kind = mnistShaped s.Data
        let entry = Catalog.find id
        let norm = Experiment.parseNormalization entry.Normalization
        Transforms.normalizeInPlace norm data.Images
        test |> Option.iter (fun t -> Transforms.normalizeInPlace norm t.Images)
        let model = (entry.Configure settings).Build torch.CPU
        let timing = timedFit s "loss" model.Trainer data
        Trainer.eval model.Trainer
        let metrics =
            match test with
            | None -> []
            | Some t -> model.Evaluate Work.none (ImageData { Name = "test"; Train = t; Test = t; Normalization = norm; Classes = []; Files = [] }) |> List.map (fun (name, value, _) -> name, value)
        measured s kind metrics timing

    /// `catalogModelWith` the catalog's defaults.
    let catalogModel (id: string) (s: WorkerSettings) : Measurement = catalogModelWith id [] s

    let private autoencoderCase name description script =
        { Name = name; Description = description; Worker = catalogModel name; PythonScript = script; TakesSettings = false }

    /// What every "-bf16" case's description says after the model's name.
    let private bf16Note =
        "with bf16 mixed precision on the library's side (precision=bf16: linear and convolution layers in bfloat16; weights, optimiser, batch norm and losses fp32); the PyTorch reference stays fp32"

    /// A catalog model's case trained with precision=bf16 against the same fp32 PyTorch script.
    let private catalogBf16Case name script =
        { Name = name + "-bf16"; Description = sprintf "%s %s" name bf16Note; Worker = catalogModelWith name [ "precision", "bf16" ]; PythonScript = script; TakesSettings = false }

    /// The feature network both sides' GAN samples are scored with (the saved MNIST LeNet of FeatureNets, whose
    /// inputs are [-1, 1] images like the generators' outputs), or why there is none.
    let ganFeatureNetwork () : Result<FeatureNetwork * (Tensor -> Tensor), string> =
        try Ok (FeatureNets.load "mnist" Cpu, fun (x: Tensor) -> x.cpu())
        with :? FileNotFoundException as e -> Error e.Message

    /// Frechet distance, inception score and largest predicted-class share of 10,000 generated images ([-1,1],
    /// drawn by `generate count`) against the 10,000 MNIST test images of `folder`, with `ganFeatureNetwork`.
    /// Both sides of a GAN case are scored here, so they are measured by the same network in the same way.
    /// Without a saved feature network, the Frechet distance is NaN (the report prints "n/a" and what to run).
    let scoreGanSamples (folder: string) (generate: int -> Tensor) : (string * float) list =
        match ganFeatureNetwork () with
        | Error why ->
            eprintfn "bench: samples not scored: %s" why
            [ "Frechet distance", nan ]
        | Ok (net, prepare) ->
            let data = Datasets.mnist folder MinusOneToOne
            try
                let r = Quality.measure Work.none net prepare generate data.Test.Images "MNIST test split (10000 images)" 10000
                [ "Frechet distance", r.FrechetDistance; "inception score", r.InceptionScore
                  "largest class share", float (Array.max r.Histogram) / float r.Samples ]
            finally (data :> IDisposable).Dispose()

    /// Scores a raw float32 file of [N,1,28,28] images in [-1,1] (what the PyTorch scripts write).
    let scoreSampleFile (folder: string) (path: string) : (string * float) list =
        let bytes = File.ReadAllBytes path
        let count = int64 bytes.Length / (4L * 784L)
        use images = torch.zeros([| count; 1L; 28L; 28L |])
        images.bytes <- Span<byte>(bytes)
        let mutable next = 0L
        scoreGanSamples folder (fun n ->
            let batch = images.narrow(0L, next, int64 n).clone()
            next <- next + int64 n
            batch)

    /// A GAN preset trained through `Gan.trainer` on [-1,1] MNIST (or uniform noise): seed 0, then the data, then
    /// the networks and the fixed noise (as `Gan.create`), the same order as the PyTorch scripts. On real data,
    /// 10,000 samples from noise seed 0 are then scored by `scoreGanSamples`.
    let gan (config: GanConfig) (s: WorkerSettings) : Measurement =
        let config = SettingsTable.read Gan.settings config s.ModelSettings
        Gan.validate config
        torch.manual_seed 0L |> ignore
        let train, kind =
            match s.Data with
            | Some folder -> (Datasets.mnist folder MinusOneToOne).Train, "mnist"
            | None ->
                // Scaled in place: `rand * 2 - 1` would keep two more 188 MB copies alive (never disposed).
                let images = torch.rand([| 60000L; 1L; 28L; 28L |])
                Transforms.normalizeInPlace MinusOneToOne images
                { Images = images; Labels = torch.zeros([| 60000L |], dtype = torch.int64) },
                "synthetic"
        let model = Gan.create config
        let trainer = Gan.trainer model
        let timing = timedFit s "g_loss" trainer train
        let metrics =
            match s.Data with
            | None -> []
            | Some folder ->
                Trainer.eval trainer
                use g = new torch.Generator(0UL)
                scoreGanSamples folder (Gan.sampleWith g model)
        measured s kind metrics timing

    /// The k-nearest-neighbour label accuracy of `queries` [Q, D] against `reference` [M, D] (Euclidean distances in
    /// float64, majority vote of the k nearest, ties to the smaller label: argmax's first maximum), queries in chunks
    /// of 128 so only a [128, M] matrix of squared distances is held. The bench's own, computed the same way by
    /// bench/pytorch/aae_common.py (knn_accuracy).
    let knnAccuracy (k: int) (classes: int) (reference: Tensor) (referenceLabels: Tensor) (queries: Tensor) (queryLabels: Tensor) : float =
        use _ = torch.no_grad()
        use r = reference.to_type(torch.float64)
        use rt = r.t()
        use rSquared = (r * r).sum(1L)
        use rowOfSquares = rSquared.unsqueeze(0L)
        let n = queries.shape.[0]
        let mutable correct = 0L
        for start in 0L .. 128L .. n - 1L do
            use _ = torch.NewDisposeScope()
            let len = min 128L (n - start)
            let q = queries.narrow(0L, start, len).to_type(torch.float64)
            let d = q.matmul(rt)
            d.mul_((-2.0).ToScalar()).add_(rowOfSquares).add_((q * q).sum(1L, true)) |> ignore
            let struct (_, nearest) = d.topk(k, 1, false)
            let votes = torch.nn.functional.one_hot(referenceLabels.index_select(0L, nearest.flatten()).reshape(len, int64 k), int64 classes).sum(1L)
            correct <- correct + votes.argmax(1L).eq(queryLabels.narrow(0L, start, len)).sum().ToInt64()
        float correct / float n

    /// An environment variable of a check run as a number (`GENERATIVE_BENCH_DROPOUT`, `GENERATIVE_BENCH_TRACE`).
    let private checkSetting (name: string) : float option =
        match Environment.GetEnvironmentVariable name with
        | null | "" -> None
        | v -> Some (Double.Parse(v, Globalization.CultureInfo.InvariantCulture))

    /// One step's terms as bench/pytorch/aae_common.py's trace_line prints them.
    let private traceLine (step: int) (terms: Map<string, float>) =
        terms |> Map.toList |> List.sortBy fst |> List.map (fun (k, v) -> sprintf "%s=%.8f" k v)
        |> String.concat " " |> sprintf "step %d %s" step

    /// An adversarial autoencoder (AAE-U or AAE-S) through `Aae.create` and `Aae.trainer` on [0,1] MNIST (or uniform
    /// noise): seed 0, then the data, then the networks (encoder, decoder, discriminator), the order of
    /// bench/pytorch/aae_common.py. "final loss" is the reconstruction term. With real data, in evaluation mode:
    /// test reconstruction BCE and MSE per pixel (`AdversarialAutoencoderEntries.phaseTerms`), the 5-NN accuracy of
    /// the 10,000 test codes against the 60,000 training codes (`knnAccuracy`), the test codes' match to the prior
    /// (`AdversarialAutoencoderEntries.priorMatch`), and the Frechet distance, inception score and largest class
    /// share of 10,000 decoded prior samples (generator seeded 0) through `GanEntries.featureSource` and
    /// `Quality.measure`, as the catalog entry measures them (NaN when no feature network is saved).
    /// For a check run only: $GENERATIVE_BENCH_DROPOUT overrides the dropout (0 makes both sides compute the same
    /// numbers) and $GENERATIVE_BENCH_TRACE=N prints the first N steps' terms to stderr.
    let aae (preset: AaeConfig) (s: WorkerSettings) : Measurement =
        let config = match checkSetting "GENERATIVE_BENCH_DROPOUT" with Some p -> { preset with Dropout = p } | None -> preset
        let trace = checkSetting "GENERATIVE_BENCH_TRACE" |> Option.map int |> Option.defaultValue 0
        torch.manual_seed 0L |> ignore
        let data, test, kind = mnistShaped s.Data
        let model = Aae.create config
        let trainer = Aae.trainer model
        let mutable step = 0
        let traced =
            if trace = 0 then trainer
            else
                { trainer with
                    Step =
                        fun batch ->
                            let terms = trainer.Step batch
                            step <- step + 1
                            if step <= trace then eprintfn "%s" (traceLine step terms)
                            terms }
        let timing = timedFit s "reconstruction" traced data
        Trainer.eval trainer
        let metrics =
            match test with
            | None -> []
            | Some t ->
                let terms = AdversarialAutoencoderEntries.phaseTerms model t
                let trainCodes, trainLabels = AdversarialAutoencoderEntries.codesOf model data data.Count
                let testCodes, testLabels = AdversarialAutoencoderEntries.codesOf model t t.Count
                use trainCodes = trainCodes
                use trainLabels = trainLabels
                use testCodes = testCodes
                use testLabels = testLabels
                let meanDistance, covarianceError = AdversarialAutoencoderEntries.priorMatch config.Prior testCodes
                let k = AdversarialAutoencoderEntries.neighbours
                let quality =
                    match GanEntries.featureSource t with
                    | Error why ->
                        eprintfn "bench: prior samples not scored: %s" why
                        [ "Frechet distance", nan ]
                    | Ok (net, dataset, prepare) ->
                        use g = new torch.Generator(AdversarialAutoencoderEntries.evaluationSeed)
                        // Feature networks read [-1, 1] images; the AAE's are in [0, 1] (as the entry maps them).
                        let toGanRange (x: Tensor) = use y = x * 2.0f - 1.0f in prepare y
                        let r = Quality.measure Work.none net toGanRange (Aae.sampleWith g model) t.Images
                                    (sprintf "%s test split (%d images)" dataset t.Count) AdversarialAutoencoderEntries.qualitySamples
                        [ "Frechet distance", r.FrechetDistance; "inception score", r.InceptionScore
                          "largest class share", float (Array.max r.Histogram) / float r.Samples ]
                [ "test MSE per pixel", terms.["mse"]
                  "test reconstruction BCE", terms.["reconstruction"]
                  sprintf "test code %d-NN accuracy" k, knnAccuracy k config.Classes trainCodes trainLabels testCodes testLabels
                  "test code mean distance to the prior's", meanDistance
                  "test code covariance error", covarianceError ]
                @ quality
        measured s kind metrics timing

    /// The text of a language-model case: `--data` names a text file or a folder holding `corpus` (by default the
    /// data cache's copy, see `generative data fetch <corpus>`).
    let private benchText (corpus: string) (data: string option) : TextSource =
        match data with
        | Some path when File.Exists path -> TextCorpus.readFile path
        | Some folder -> TextCorpus.readFile (Fetch.corpusFile corpus folder)
        | None -> TextCorpus.readFile (Fetch.corpusFile corpus (Fetch.folderFor corpus None))

    /// Trains a catalog language model preset on the text of `corpus` (or `--data`) as bench/pytorch/char_lstm.py and
    /// word_lstm.py do: its vocabulary from the training part, seeded with 0 before the network, a constant learning
    /// rate (the references keep theirs constant; the catalog's decay is left out of the comparison), stateful chunks
    /// through `LanguageModel.trainer`. `quality` measures the trained model given the encoded (train, validation,
    /// test) parts.
    let private languageModel (corpus: string) (preset: LanguageModelConfig)
                              (quality: LanguageModel -> Tensor * Tensor * Tensor -> (string * float) list) (s: WorkerSettings) : Measurement =
        let text = benchText corpus s.Data
        let parts = TextCorpus.split text.Text
        let c = { preset with LearningRateHalfLife = 0 }
        let c = { c with Vocabulary = Some (LanguageModel.vocabularyOf c parts.Train) }
        torch.manual_seed 0L |> ignore
        let m = LanguageModel.create torch.CPU c
        use train = Vocabulary.encode m.Vocabulary parts.Train
        use validation = Vocabulary.encode m.Vocabulary parts.Validation
        use test = Vocabulary.encode m.Vocabulary parts.Test
        let timing = timedFitBatches s "loss" (LanguageModel.trainer m) (BatchSource.contiguous s.BatchSize c.SequenceLength train)
        // Neither the LSTM (trained through `FusedLstm` in fp32) nor the output layer (`LinearCrossEntropy`) runs as a
        // module the counting hooks see. Each of their products is counted with its input's and its weight's
        // gradients: per position, every layer's gates [4H] from its input and from its previous state.
        let positions = float (s.BatchSize * c.SequenceLength)
        let lstm =
            List.init c.Layers (fun l -> 2.0 * positions * 4.0 * float c.Hidden * float ((if l = 0 then c.Embedding else c.Hidden) + c.Hidden))
            |> List.sum
        let outputLayer = 2.0 * positions * float c.Hidden * float m.Vocabulary.Count
        let timing = { timing with CountedGflop = timing.CountedGflop + 3.0 * (lstm + outputLayer) / 1e9 }
        measured s (IO.Path.GetFileName(fst (List.head text.Files))) (quality m (train, validation, test)) timing

    /// LM-LSTM at the character level (the catalog's 2 x 256, embedding 128, dropout 0.2, sequence 100, Adam 2e-3,
    /// clipping 5) on tiny-shakespeare, its passes in `precision`. Quality: validation nats and bits per character (16
    /// rows, as the script).
    let charLstm (precision: TrainingPrecision) : WorkerSettings -> Measurement =
        languageModel "tiny-shakespeare" { LanguageModel.characters with Precision = precision } (fun m (_, validation, _) ->
            let nats = LanguageModel.meanCrossEntropy m validation
            [ "validation nats/char", nats; "validation bits/char", nats / Math.Log 2.0 ])

    /// LM-LSTM at the word level (the catalog's lower-cased words seen 3+ times, at most 10,000; 2 x 256 with tied
    /// weights, dropout 0.3, sequence 35, Adam 2e-3, clipping 5) on the Jargon File. Quality: validation and test
    /// perplexity, and the unigram and bigram baselines' on the same split.
    let wordLstm : WorkerSettings -> Measurement =
        languageModel "jargon" LanguageModel.words (fun m (train, validation, test) ->
            let v = m.Vocabulary.Count
            let weight = NgramBaseline.bestBigramWeight v train validation
            [ "validation perplexity", Math.Exp (LanguageModel.meanCrossEntropy m validation)
              "test perplexity", Math.Exp (LanguageModel.meanCrossEntropy m test)
              "unigram test perplexity", Math.Exp (NgramBaseline.unigram v train test)
              "bigram test perplexity", Math.Exp (NgramBaseline.bigram v weight train test)
              "vocabulary", float v ])

    let private ganCase name description (config: GanConfig) script =
        { Name = name; Description = description; Worker = gan config; PythonScript = script; TakesSettings = true }

    /// Every benchmark, by command-line name.
    let all =
        [ { Name = "ae-linear"
            Description = "AE-LIN: Linear(784,128) ReLU Linear(128,784) ReLU, MSE, Adam 1e-3"
            Worker = aeLinear
            PythonScript = "ae_linear.py"
            TakesSettings = false }
          { Name = "cls-mlp"
            Description = "CLS-MLP: Flatten, Linear(784,128) ReLU, Linear(128,10), cross-entropy, Adam 1e-3"
            Worker = classifier Classifier.mlp 0.0f 1.0f
            PythonScript = "cls_mlp.py"
            TakesSettings = false }
          { Name = "cls-lenet"
            Description = "CLS-LENET: LeNet-5 (tanh, max pooling), cross-entropy, Adam 1e-3"
            Worker = classifier Classifier.leNet5 0.0f 1.0f
            PythonScript = "cls_lenet.py"
            TakesSettings = false }
          { Name = "cls-cnn"
            Description = "cls-cnn: two double-conv blocks with batch norm, dropout, shift/flip augmentation, Adam 1e-3 (mean-std pixels)"
            // The speed comparison keeps the network bench/pytorch/classifiers.py mirrors (dropout 0.5, shifts of up
            // to 2 pixels, constant learning rate), not the catalog's later training defaults.
            Worker = classifier { Classifier.batchNormCnn with Dropout = 0.5; Shift = 2; LrHalfLife = 0 } 0.1307f 0.3081f
            PythonScript = "cls_cnn.py"
            TakesSettings = false }
          { Name = "cls-mlp-bf16"
            Description = "cls-mlp " + bf16Note
            Worker = classifier { Classifier.mlp with Precision = TrainingPrecision.BFloat16 } 0.0f 1.0f
            PythonScript = "cls_mlp.py"
            TakesSettings = false }
          { Name = "cls-cnn-bf16"
            Description = "cls-cnn " + bf16Note
            Worker = classifier { Classifier.batchNormCnn with Dropout = 0.5; Shift = 2; LrHalfLife = 0; Precision = TrainingPrecision.BFloat16 } 0.1307f 0.3081f
            PythonScript = "cls_cnn.py"
            TakesSettings = false }
          { Name = "cls-lenet-bf16"
            Description = "cls-lenet " + bf16Note
            Worker = classifier { Classifier.leNet5 with Precision = TrainingPrecision.BFloat16 } 0.0f 1.0f
            PythonScript = "cls_lenet.py"
            TakesSettings = false }
          { Name = "cls-pyr"
            Description = "CLS-PYR: Gaussian-pyramid features (computed once), one-vs-rest linear SVM (hinge, C=1), Adam 1e-3"
            Worker = pyramidSvm
            PythonScript = "cls_pyr.py"
            TakesSettings = false }
          autoencoderCase "ae-deep" "AE-DEEP: 784-128-64-36-18-9 and back (ReLU, Sigmoid out), MSE, Adam 1e-3 wd 1e-6 (the source's lr 0.1 does not train), [0,1] data" "ae_deep.py"
          autoencoderCase "ae-3d" "AE-3D: 784-128-64-12-3 and back (ReLU, Tanh out), MSE summed per image, Adam 1e-3, [-1,1] data" "ae_3d.py"
          autoencoderCase "ae-conv" "AE-CONV: conv 1-16-8 + max pooling, transposed convs 8-16-8-1, Tanh, MSE summed per image, Adam 1e-3 wd 1e-5, [-1,1] data" "ae_conv.py"
          autoencoderCase "ae-denoise" "AE-DENOISE: AE-LIN's network (784-128-784 ReLU) on [0,1] data with Gaussian noise (std 0.5) on the input, clean target, MSE, Adam 1e-3" "ae_denoise.py"
          autoencoderCase "vae" "VAE: 784-400-(20,20) / 20-400-784 Tanh, Σ(x̂-x)² + KL per image, Adam 1e-3, [-1,1] data" "vae.py"
          catalogBf16Case "ae-linear" "ae_linear.py"
          catalogBf16Case "ae-conv" "ae_conv.py"
          catalogBf16Case "vae" "vae.py"
          ganCase "gan-mlp" "GAN-MLP-A: G 64-256-512-784, D 784-256-128-1 sigmoid, non-saturating BCE, Adam 3e-4, flips" Gan.mlpA "gan_mlp.py"
          ganCase "lsgan" "LSGAN: GAN-MLP-C nets (G 96-1024-1024-784, D 784-256-256-1), least squares, Adam 3e-4 (0.5, 0.999)" Gan.lsgan "lsgan.py"
          ganCase "dcgan" "DCGAN-A: conv D + FC/transposed-conv G with batch norm, non-saturating BCE on logits, Adam 3e-4 (0.5, 0.999)" Gan.dcganA "dcgan.py"
          ganCase "dcgan-keras" "DCGAN-B: Keras-style tanh DCGAN, BCE, SGD 5e-4 momentum 0.9 Nesterov, Glorot init" Gan.dcganB "dcgan_keras.py"
          ganCase "dcgan-plus" "DCGAN-PLUS (beyond the sources): DCGAN-A with the hinge loss, spectral norm on D, a moving average of G (0.995)" Gan.dcganPlus "dcgan_plus.py"
          ganCase "gan-mlp-plus" "GAN-MLP-PLUS (beyond the sources): GAN-MLP-C with the hinge loss, the minibatch standard deviation in D, a moving average of G (0.999)" Gan.mlpPlus "gan_mlp_plus.py"
          ganCase "gan-mlp-bf16" ("gan-mlp " + bf16Note) { Gan.mlpA with Precision = TrainingPrecision.BFloat16 } "gan_mlp.py"
          ganCase "lsgan-bf16" ("lsgan " + bf16Note) { Gan.lsgan with Precision = TrainingPrecision.BFloat16 } "lsgan.py"
          ganCase "dcgan-bf16" ("dcgan " + bf16Note) { Gan.dcganA with Precision = TrainingPrecision.BFloat16 } "dcgan.py"
          ganCase "dcgan-keras-bf16" ("dcgan-keras " + bf16Note) { Gan.dcganB with Precision = TrainingPrecision.BFloat16 } "dcgan_keras.py"
          { Name = "aae"
            Description = "AAE-U: encoder 784-392-392-10, decoder 10-392-392-784 sigmoid, D 10-1500-1500-1 sigmoid (dropout 0.2), prior N(0,5²I); per step BCE reconstruction (Adam 1e-3), D (Adam 1e-3), encoder as generator (Adam 1e-4); [0,1] data"
            Worker = aae Aae.unsupervised
            PythonScript = "aae.py"
            TakesSettings = false }
          { Name = "aae-bf16"
            Description = "aae " + bf16Note
            Worker = aae { Aae.unsupervised with Precision = TrainingPrecision.BFloat16 }
            PythonScript = "aae.py"
            TakesSettings = false }
          { Name = "aae-s"
            Description = "AAE-S as the source trains it (Aae.supervisedSource): AAE-U whose decoder reads [one-hot label, code] (20-392-392-784)"
            Worker = aae Aae.supervisedSource
            PythonScript = "aae_s.py"
            TakesSettings = false }
          { Name = "aae-s-default"
            Description = "AAE-S as the library trains it by default (Aae.supervised): aae-s with the encoder's adversarial phase at Adam 1e-3, D on logits (BCE with logits) reading [code, one-hot label of 11] (the label tied to the prior)"
            Worker = aae Aae.supervised
            PythonScript = "aae_s_default.py"
            TakesSettings = false }
          { Name = "char-lstm"
            Description = "LM-LSTM (characters): Embedding 128, LSTM 2x256 dropout 0.2, Linear; sequence 100, stateful rows, Adam 2e-3, clipping 5 (--data: a text file or a folder with tinyshakespeare.txt)"
            Worker = charLstm TrainingPrecision.Float32
            PythonScript = "char_lstm.py"
            TakesSettings = false }
          { Name = "char-lstm-bf16"
            Description = "char-lstm with bf16 mixed precision on the library's side (precision=bf16: fp32 weights, Adam and loss, bfloat16 passes); the PyTorch reference stays fp32"
            Worker = charLstm TrainingPrecision.BFloat16
            PythonScript = "char_lstm.py"
            TakesSettings = false }
          { Name = "word-lstm"
            Description = "LM-LSTM (words): lower-cased words seen 3+ times (<= 10,000), Embedding 256, LSTM 2x256 dropout 0.3, tied output; sequence 35, Adam 2e-3, clipping 5 (--data: a text file, default the Jargon File)"
            Worker = wordLstm
            PythonScript = "word_lstm.py"
            TakesSettings = false } ]
