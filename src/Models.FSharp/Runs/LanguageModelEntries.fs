namespace Generative

open System
open TorchSharp

/// The language models of the catalog (LM-LSTM at the character and at the word level): settings, the vocabulary a
/// new run builds from its training text, and what their runs measure, write and report.
[<RequireQualifiedAccess>]
module LanguageModelEntries =
    /// The settings of a language model, in the order they are applied (the vocabulary last: it is filled from the
    /// training text by the others).
    let settings : Setting<LanguageModelConfig> list =
        [ Setting.bool "lower-case" "lower-case words before counting them (word level)" (fun c -> c.LowerCase) (fun v c -> { c with LowerCase = v })
          Setting.int "min-count" "words seen fewer times in the training text become <unk> (word level)" (fun c -> c.MinCount) (fun v c -> { c with MinCount = v })
          Setting.int "max-vocabulary" "at most this many tokens, <unk> included (0: no limit)" (fun c -> c.MaxVocabulary) (fun v c -> { c with MaxVocabulary = v })
          Setting.int "embedding" "width of the token embedding" (fun c -> c.Embedding) (fun v c -> { c with Embedding = v })
          Setting.int "hidden" "width of each LSTM layer" (fun c -> c.Hidden) (fun v c -> { c with Hidden = v })
          Setting.int "layers" "stacked LSTM layers" (fun c -> c.Layers) (fun v c -> { c with Layers = v })
          Setting.float "dropout" "dropout between LSTM layers and before the output layer" (fun c -> c.Dropout) (fun v c -> { c with Dropout = v })
          Setting.bool "tie-weights" "the output layer reuses the embedding matrix (needs embedding = hidden)" (fun c -> c.TieWeights) (fun v c -> { c with TieWeights = v })
          Setting.int "sequence-length" "tokens per chunk of truncated backpropagation through time" (fun c -> c.SequenceLength) (fun v c -> { c with SequenceLength = v })
          Optim.setting "optimizer" "the optimiser" (fun c -> c.Optimizer) (fun v c -> { c with Optimizer = v })
          Setting.float "clip-norm" "rescale gradients whose global L2 norm exceeds this (0: off)" (fun c -> c.ClipNorm) (fun v c -> { c with ClipNorm = v })
          Setting.int "lr-half-life" "the learning rate halves every this many steps (0: constant)" (fun c -> c.LearningRateHalfLife) (fun v c -> { c with LearningRateHalfLife = v })
          MixedPrecision.setting (fun c -> c.Precision) (fun v c -> { c with Precision = v })
          Setting.float "ema" "decay of a moving average of the weights that validation, test metrics and generation use, e.g. 0.999 (0: off)"
              (fun c -> c.EmaDecay) (fun v c -> { c with EmaDecay = v })
          Setting.create "vocabulary" "the tokens as JSON; empty: built from the training text when the run starts"
              (function Some v -> Vocabulary.toJson v | None -> "")
              (fun text -> if String.IsNullOrWhiteSpace text then None else Some (Vocabulary.ofJson text))
              (fun c -> c.Vocabulary) (fun v c -> { c with Vocabulary = v }) ]

    /// The temperatures of the passages written after every epoch.
    let passageTemperatures = [ 0.6; 1.0 ]

    /// The seed of the passages' generator: the same at every epoch, so they show the model changing, not the dice.
    let passageSeed = 1UL

    /// Tokens in a passage: about five lines.
    let passageLength (level: TokenLevel) = match level with TokenLevel.Characters -> 400 | TokenLevel.Words -> 100

    /// "character" or "word".
    let tokenName (level: TokenLevel) = match level with TokenLevel.Characters -> "character" | TokenLevel.Words -> "word"

    let private ln2 = Math.Log 2.0

    /// A passage from a fixed seed, primed with a line break.
    let private passage (m: LanguageModel) (temperature: float) =
        use generator = new torch.Generator(passageSeed)
        LanguageModel.generate m "" (passageLength m.Config.Level) { TokenSampling.plain with Temperature = temperature } generator ignore Threading.CancellationToken.None

    /// Terms of a held-out stream: "loss" (nats per token), "bits" (per token) and, for words, "perplexity".
    let private heldOutTerms (m: LanguageModel) (tokens: Tensor) =
        let nats = LanguageModel.meanCrossEntropy m tokens
        Map.ofList [ yield "loss", nats
                     yield "bits", nats / ln2
                     if m.Config.Level = TokenLevel.Words then yield "perplexity", Math.Exp nats ]

    /// Cross-entropies (nats per token) of the model and the unigram and bigram baselines on the test part of a text.
    type private TestScores = { Model: float; Unigram: float; Bigram: float; BigramWeight: float; TestTokens: int64 }

    let private score (work: Work) (m: LanguageModel) (text: TextSource) : TestScores =
        let parts = TextCorpus.split text.Text
        use train = Vocabulary.encode m.Vocabulary parts.Train
        use validation = Vocabulary.encode m.Vocabulary parts.Validation
        use test = Vocabulary.encode m.Vocabulary parts.Test
        let v = m.Vocabulary.Count
        let weight = NgramBaseline.bestBigramWeight v train validation
        { Model = LanguageModel.meanCrossEntropyIn work m test
          Unigram = NgramBaseline.unigram v train test
          Bigram = NgramBaseline.bigram v weight train test
          BigramWeight = weight
          TestTokens = test.shape.[0] }

    let private textOf (data: RunData) =
        match data with
        | TextData t -> t
        | ImageData d -> Errors.invalidArg "dataset" "a text (a language model trains on text: --corpus NAME or --text FILE)" d.Name

    let private metrics (level: TokenLevel) (s: TestScores) : (string * float * string) list =
        let unit = tokenName level
        let how = sprintf "mean cross-entropy of the next %s over the %d %ss of the test part (the last 5%% of the text)" unit s.TestTokens unit
        [ yield sprintf "test nats per %s" unit, s.Model, how
          yield sprintf "test bits per %s" unit, s.Model / ln2, "the same in bits (nats / ln 2)"
          if level = TokenLevel.Words then yield "test perplexity", Math.Exp s.Model, "exp(nats per word)"
          yield sprintf "unigram baseline, bits per %s" unit, s.Unigram / ln2, sprintf "%s frequencies of the training part (add-one smoothing)" unit
          yield sprintf "bigram baseline, bits per %s" unit, s.Bigram / ln2,
                sprintf "%s pairs of the training part interpolated with the unigram (weight %.1f, the best on the validation part)" unit s.BigramWeight ]

    let private table (level: TokenLevel) (s: TestScores) : ReportArtifact =
        let unit = tokenName level
        let row name nats = [ name; sprintf "%.4f" nats; sprintf "%.4f" (nats / ln2); sprintf "%.2f" (Math.Exp nats) ]
        Table
            { Title = "Test cross-entropy against the baselines"
              Caption = sprintf "Each model predicts every %s of the test part from what precedes it. A model worth training sits well below the bigram." unit
              Header = [ "model"; sprintf "nats per %s" unit; sprintf "bits per %s" unit; "perplexity" ]
              Rows = [ row "LSTM (this run)" s.Model; row "bigram baseline" s.Bigram; row "unigram baseline" s.Unigram ] }

    /// The run model of a language model on a device.
    let runModel (device: torch.Device) (c: LanguageModelConfig) : RunModel =
        let m = LanguageModel.create device c
        // Test scores are measured once per run and shared by the metrics and the report's table.
        let mutable scored : (TextSource * TestScores) option = None
        let scoresOf (work: Work) (data: RunData) =
            let text = textOf data
            match scored with
            | Some (t, s) when obj.ReferenceEquals(t, text) -> s
            | _ ->
                let s = score work m text
                scored <- Some (text, s)
                s
        { Trainer = LanguageModel.trainer m
          Pictures = fun _ -> []
          // Titles start with the temperature, which names the series' files (samples/temperature-0-6-written-epoch-001.txt).
          ComparedTerms = []
          Passages = fun () -> [ for t in passageTemperatures -> sprintf "Temperature %g: written after each epoch" t, passage m t ]
          Evaluate = fun work data -> metrics c.Level (scoresOf work data)
          Reconstruct = None
          Encode = None
          Decode = None
          Sample = None
          Classify = None
          Generate = Some (LanguageModel.generate m)
          Extras =
            fun work data ->
                Work.step work "report text" 0 1
                [ table c.Level (scoresOf work data)
                  Text
                    { Title = "Generated at the end of training"
                      Caption = sprintf "%d %ss at temperature 0.8 after a line break (seed %d)." (passageLength c.Level) (tokenName c.Level) passageSeed
                      Samples = [ passage m 0.8 ] } ]
          // The validation part's bits per token follow the test part's already.
          EpochTest = None
          Training =
            ContiguousText
                { SequenceLength = c.SequenceLength
                  Encode = Vocabulary.encode m.Vocabulary
                  Measure = heldOutTerms m } }

    /// The vocabulary of a new run: built from the training part of its text, unless the settings give one.
    let fitToData (data: RunData) (c: LanguageModelConfig) : LanguageModelConfig =
        match c.Vocabulary with
        | Some _ -> c
        | None -> { c with Vocabulary = Some (LanguageModel.vocabularyOf c (TextCorpus.split (textOf data).Text).Train) }

    let private spec id title (defaults: LanguageModelConfig) : ModelSpec<LanguageModelConfig> =
        { Id = id
          Title = title
          Kind = ModelKind.TextGenerator
          Normalization = "none"
          Defaults = defaults
          Settings = settings
          Validate = LanguageModel.validate
          BatchSize = ModelSpec.usualBatchSize
          FitToData = Some fitToData
          InputShape = fun _ -> None
          Precision = fun c -> c.Precision
          Build = runModel }

    /// LM-LSTM at the character level.
    let characters =
        spec "char-lstm" "LM-LSTM: character-level LSTM language model (2 x 256, embedding 128, sequence 100, Adam 2e-3, clipping 5)" LanguageModel.characters

    /// LM-LSTM at the word level.
    let words =
        spec "word-lstm" "LM-LSTM: word-level LSTM language model (2 x 256, tied weights, sequence 35, words seen 3+ times)" LanguageModel.words

    /// The language models, by id.
    let all : CatalogEntry list = [ ModelSpec.entry characters; ModelSpec.entry words ]
