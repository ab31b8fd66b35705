namespace Generative

open System
open System.Threading
open TorchSharp

/// An LSTM language model's settings (LM-LSTM; docs/models.md gives the reasons for the defaults).
type LanguageModelConfig =
    { /// Characters or words.
      Level: TokenLevel
      /// Lower-case words before counting and looking them up (word level).
      LowerCase: bool
      /// Words seen fewer times in the training text become the unknown token (word level).
      MinCount: int
      /// At most this many tokens, the unknown one included (0: no limit).
      MaxVocabulary: int
      /// Width of the token embedding.
      Embedding: int
      /// Width of each LSTM layer's state.
      Hidden: int
      /// Stacked LSTM layers.
      Layers: int
      /// Dropout between LSTM layers and before the output layer.
      Dropout: float
      /// The output layer reuses the embedding matrix (Press & Wolf, 2017); needs Embedding = Hidden.
      TieWeights: bool
      /// Tokens per chunk of truncated backpropagation through time.
      SequenceLength: int
      Optimizer: OptimizerSpec
      /// Gradients are rescaled when their global L2 norm exceeds this (0: no clipping).
      ClipNorm: float
      /// The learning rate halves every this many steps (0: constant).
      LearningRateHalfLife: int
      /// The number format of the training steps' forward and backward passes (weights stay fp32).
      Precision: TrainingPrecision
      /// Decay of an exponential moving average of the weights, updated after every step, which validation, test
      /// metrics and generation then use (`WeightAverage`); 0: off, the trained weights.
      EmaDecay: float
      /// The tokens, built from the training text when a run starts (None until then).
      Vocabulary: Vocabulary option }

/// The network: token embedding, stacked LSTM with dropout between layers, dropout, linear output layer.
type LstmLanguageNet(vocabulary: int, c: LanguageModelConfig) as this =
    inherit torch.nn.Module("lstm-language-model")
    let embedding = torch.nn.Embedding(int64 vocabulary, int64 c.Embedding, device = Device.forNewLayers ())
    let lstm =
        torch.nn.LSTM(int64 c.Embedding, int64 c.Hidden, numLayers = int64 c.Layers, batchFirst = true,
                      dropout = (if c.Layers > 1 then c.Dropout else 0.0), device = Device.forNewLayers ())
    let dropout = Layers.dropout c.Dropout
    // Tied weights share the embedding matrix; only the output bias is the head's own.
    let head = if c.TieWeights then None else Some (torch.nn.Linear(int64 c.Hidden, int64 vocabulary, device = Device.forNewLayers ()))
    let tiedBias = if c.TieWeights then Some (torch.nn.Parameter(torch.zeros(int64 vocabulary, device = Device.forNewLayers ()))) else None
    do
        // Registration order is construction order, as in the PyTorch reference (bench/pytorch/char_lstm.py).
        this.register_module("embedding", embedding)
        this.register_module("lstm", lstm)
        this.register_module("dropout", dropout)
        head |> Option.iter (fun h -> this.register_module("head", h))
        tiedBias |> Option.iter (fun b -> this.register_parameter("head_bias", b))

    /// What the output layer reads, [B, T, Hidden] (the LSTM's outputs after dropout), for tokens [B, T] (int64), from
    /// the state (h, c) or zeros, and the state after the last token.
    member _.Features(tokens: Tensor, state: (Tensor * Tensor) option) : Tensor * (Tensor * Tensor) =
        let x = embedding.forward tokens
        let recur () =
            match state with
            | Some (h0, c0) -> lstm.call(x, Nullable<struct (Tensor * Tensor)>(struct (h0, c0)))
            | None -> lstm.call(x, Nullable<struct (Tensor * Tensor)>())
        // Training in fp32 on the CPU: the library's own passes (`FusedLstm`; docs/torchsharp.md, "The LSTM's
        // element-wise work"), else ATen's LSTM, as libtorch's oneDNN one trains through its slower reference kernel,
        // at least on AVX2 CPUs ("oneDNN and the LSTM"). Evaluation and bf16 keep oneDNN.
        let y, next =
            if FusedLstm.applies lstm x then FusedLstm.forward lstm c.Layers c.Dropout x state
            else
                let struct (y: Tensor, h: Tensor, cell: Tensor) =
                    if torch.is_grad_enabled () && x.dtype = torch.float32 && x.device_type = DeviceType.CPU then OneDnn.without recur
                    else recur ()
                y, (h, cell)
        dropout.forward y, next

    /// The output layer's weight [V, Hidden] and bias [V]: the embedding matrix and the head's own bias when the
    /// weights are tied.
    member this.OutputLayer : Tensor * Tensor =
        match head, tiedBias with
        | Some h, _ -> h.weight, h.bias
        // The bias is read by its registered name: moving the network to another device or element type replaces
        // the parameter object, and only the registry follows (the field would keep the disposed one).
        | None, Some _ -> embedding.weight, this.get_parameter "head_bias"
        | None, None -> invalidOp "a language model has an output layer or tied weights"

    /// Logits [B, T, V] of tokens [B, T] (int64), from the state (h, c) or zeros, and the state after the last token.
    member this.Forward(tokens: Tensor, state: (Tensor * Tensor) option) : Tensor * (Tensor * Tensor) =
        let y, next = this.Features(tokens, state)
        let weight, bias = this.OutputLayer
        torch.nn.functional.linear(y, weight, bias), next

/// A built language model: its settings, vocabulary, network and device.
type LanguageModel =
    { Config: LanguageModelConfig
      Vocabulary: Vocabulary
      /// The network the optimiser trains.
      Net: LstmLanguageNet
      /// The moving average of `Net`'s weights (`EmaDecay` > 0), which evaluation and generation use; None when off.
      Average: LstmLanguageNet option
      Device: torch.Device }

/// The LSTM language model (LM-LSTM): training by truncated backpropagation through time over stateful batches,
/// cross-entropy of a token stream, and generation by sampling.
[<RequireQualifiedAccess>]
module LanguageModel =
    /// Character level: 2 x 256 LSTM, embedding 128, dropout 0.2, sequence 100, Adam 2e-3 halving every 1,000 steps,
    /// clipping at norm 5. A constant rate levels off early: its steps stay too large to settle (docs/models.md).
    let characters =
        { Level = TokenLevel.Characters; LowerCase = false; MinCount = 1; MaxVocabulary = 0; Embedding = 128; Hidden = 256
          Layers = 2; Dropout = 0.2; TieWeights = false; SequenceLength = 100; Optimizer = Optim.adam 2e-3; ClipNorm = 5.0
          LearningRateHalfLife = 1000; Precision = TrainingPrecision.Float32; EmaDecay = 0.0; Vocabulary = None }

    /// Word level: lower-cased words seen at least 3 times (at most 10,000 tokens), 2 x 256 LSTM with tied
    /// embedding and output weights, dropout 0.3, sequence 35, Adam 2e-3 halving every 1,000 steps, clipping at norm 5.
    let words =
        { characters with
            Level = TokenLevel.Words; LowerCase = true; MinCount = 3; MaxVocabulary = 10_000; Embedding = 256
            TieWeights = true; Dropout = 0.3; SequenceLength = 35 }

    /// Throws ArgumentException naming the setting (ParamName = its key).
    let validate (c: LanguageModelConfig) =
        let atLeast key minimum (v: int) = if v < minimum then Errors.invalidArg key (sprintf "at least %d" minimum) v
        atLeast "embedding" 1 c.Embedding
        atLeast "hidden" 1 c.Hidden
        atLeast "layers" 1 c.Layers
        atLeast "sequence-length" 1 c.SequenceLength
        atLeast "min-count" 1 c.MinCount
        if c.MaxVocabulary < 0 || c.MaxVocabulary = 1 then
            Errors.invalidArg "max-vocabulary" "0 (no limit) or at least 2 (the unknown token and one more)" c.MaxVocabulary
        if not (c.Dropout >= 0.0 && c.Dropout < 1.0) then Errors.invalidArg "dropout" "a probability in [0, 1)" c.Dropout
        if c.TieWeights && c.Embedding <> c.Hidden then
            Errors.invalidArg "tie-weights" (sprintf "embedding = hidden to tie weights (they are %d and %d)" c.Embedding c.Hidden) c.TieWeights
        if not (c.ClipNorm >= 0.0) || Double.IsInfinity c.ClipNorm then Errors.invalidArg "clip-norm" "a finite norm >= 0 (0: no clipping)" c.ClipNorm
        if c.LearningRateHalfLife < 0 then Errors.invalidArg "lr-half-life" "0 (constant) or a number of steps" c.LearningRateHalfLife
        if not (c.EmaDecay >= 0.0 && c.EmaDecay < 1.0) then Errors.invalidArg "ema" "a decay in [0, 1) (0: off), e.g. 0.999" c.EmaDecay
        try Optim.validate c.Optimizer
        with :? ArgumentException as e -> Errors.invalidArg "optimizer" (Errors.messageOf e) (Optim.describe c.Optimizer)
        match c.Vocabulary with
        | Some v when v.Level <> c.Level -> Errors.invalidArg "vocabulary" "a vocabulary of the model's level" v.Level
        | Some v when v.Count < 2 -> Errors.invalidArg "vocabulary" "at least one token besides the unknown one" v.Count
        | _ -> ()

    /// The vocabulary the config builds from a training text.
    let vocabularyOf (c: LanguageModelConfig) (trainingText: string) : Vocabulary =
        Vocabulary.build c.Level c.LowerCase c.MinCount c.MaxVocabulary trainingText

    /// Builds the network on `device` (call after seeding: initial weights come from libtorch's global generator).
    /// ArgumentException (ParamName "vocabulary") when the config has no vocabulary yet.
    let create (device: torch.Device) (c: LanguageModelConfig) : LanguageModel =
        validate c
        let vocabulary =
            match c.Vocabulary with
            | Some v -> v
            | None -> Errors.invalidArg "vocabulary" "a vocabulary built from the training text (runs build it when they start)" "none"
        let net = new LstmLanguageNet(vocabulary.Count, c)
        net.``to``(device) |> ignore
        let average =
            if c.EmaDecay > 0.0 then
                let copy = WeightAverage.copyOf (fun () -> new LstmLanguageNet(vocabulary.Count, c)) net
                copy.``to``(device) |> ignore
                Some copy
            else None
        { Config = c; Vocabulary = vocabulary; Net = net; Average = average; Device = device }

    /// The name of the moving average in checkpoints and model files ("network-ema.<entry>").
    let averageModuleName = "network-ema"

    /// The modules a checkpoint holds: the network, and its moving average when there is one.
    let modules (m: LanguageModel) : (string * torch.nn.Module) list =
        ("network", m.Net :> torch.nn.Module) :: (m.Average |> Option.map (fun a -> averageModuleName, a :> torch.nn.Module) |> Option.toList)

    /// The network evaluation and generation read: the moving average when there is one, else the trained one.
    let evaluationNet (m: LanguageModel) : LstmLanguageNet = defaultArg m.Average m.Net

    /// Mean cross-entropy (nats per token) of logits [B, T, V] against targets [B, T].
    let crossEntropy (logits: Tensor) (targets: Tensor) : Tensor =
        torch.nn.functional.cross_entropy(logits.reshape(-1L, logits.shape.[2]), targets.reshape(-1L))

    let private detached (h: Tensor, c: Tensor) = h.detach().DetachFromDisposeScope(), c.detach().DetachFromDisposeScope()

    /// Frees a hidden state kept outside dispose scopes.
    let private disposeState (h: Tensor, c: Tensor) =
        h.Dispose()
        c.Dispose()

    /// The trainer: each step continues from the hidden state the previous step left (detached, so gradients flow
    /// back through one chunk only), minimises the cross-entropy of the next token, clips the gradient's global norm
    /// and records "loss" in nats per token. The state is the trainer's `Carried` state: checkpoints save it, and
    /// the loop resets it at each epoch's start. A batch whose row count differs from the state's starts afresh.
    /// In bfloat16 (`Precision`), a working copy of the network runs the passes (`MixedPrecision`): the loss, the
    /// clipping and the optimiser stay fp32, and the carried state is kept in bfloat16 (a restored one is converted
    /// to the trainer's precision, so checkpoints move between precisions). With `EmaDecay` > 0 the moving average
    /// follows the trained weights after every step (`WeightAverage.update`).
    let trainer (m: LanguageModel) : Trainer =
        let c = m.Config
        let parameters = m.Net.parameters() |> Seq.toArray
        let optimizer = Optim.create c.Optimizer parameters
        // Built with the global generator put back, so a seed gives the same weights and dropout masks in any precision.
        let working =
            match c.Precision with
            | TrainingPrecision.Float32 -> None
            | precision ->
                let net = Device.keepingRandomState (fun () -> new LstmLanguageNet(m.Vocabulary.Count, c))
                Some (net, MixedPrecision.workingCopy precision m.Net net)
        let stateType = MixedPrecision.elementType c.Precision
        let mutable state : (Tensor * Tensor) option = None
        let reset () =
            state |> Option.iter disposeState
            state <- None
        let carried =
            { Save = fun () -> match state with Some (h, cell) -> [ "h", h; "c", cell ] | None -> []
              Restore =
                fun saved ->
                    reset ()
                    let restored (t: Tensor) = t.``to``(m.Device).``to``(stateType).DetachFromDisposeScope()
                    match Map.ofList saved |> fun s -> s.TryFind "h", s.TryFind "c" with
                    | Some h, Some cell -> state <- Some (restored h, restored cell)
                    | _ -> ()
              Reset = reset }
        /// The loss of a batch, its gradients left on the master's parameters, and the state after it.
        let lossAndGradients (batch: Batch) =
            match working with
            | None ->
                optimizer.zero_grad()
                // The output layer and the loss as one function, a block of positions at a time (`LinearCrossEntropy`).
                let features, next = m.Net.Features(batch.Inputs, state)
                let weight, bias = m.Net.OutputLayer
                use rows = features.reshape(-1L, features.shape.[2])
                use targets = batch.Targets.reshape(-1L)
                let loss = LinearCrossEntropy.mean rows weight bias targets
                loss.backward()
                loss, next
            | Some (net, copy) ->
                MixedPrecision.loadWeights copy
                MixedPrecision.zeroGradients copy
                let logits, next = net.Forward(batch.Inputs, state)
                let loss = crossEntropy (logits.``to``(torch.float32)) batch.Targets
                loss.backward()
                MixedPrecision.storeGradients copy
                loss, next
        { Modules = modules m
          Optimizers = [ Trainer.optimizerName, optimizer ]
          Carried = Some carried
          Step =
            fun batch ->
                let rows = batch.Inputs.shape.[0]
                match state with
                | Some (h, _) when h.shape.[1] <> rows -> reset ()
                | _ -> ()
                let loss, next = lossAndGradients batch
                if c.ClipNorm > 0.0 then torch.nn.utils.clip_grad_norm_(parameters, c.ClipNorm) |> ignore
                optimizer.step() |> ignore
                m.Average |> Option.iter (fun average -> WeightAverage.update c.EmaDecay average m.Net)
                let previous = state
                state <- Some (detached next)
                previous |> Option.iter disposeState
                Map.ofList [ "loss", loss.ToDouble() ] }
        |> Trainer.withLearningRateHalfLife c.LearningRateHalfLife

    /// Rows the held-out streams are laid out in by `meanCrossEntropy` (at most).
    let evaluationRows = 16

    /// Mean cross-entropy in nats per token of a token stream [N]: laid out in at most `evaluationRows` rows read in
    /// chunks of the sequence length with the state carried across chunks, as in training, in evaluation mode without
    /// gradients, by `evaluationNet` (the moving average when there is one). Each row predicts from its own start, so
    /// the first tokens of each row are scored without context.
    /// Each chunk is a unit of `work` named "test cross-entropy", so a cancellation stops it between two chunks.
    let meanCrossEntropyIn (work: Work) (m: LanguageModel) (tokens: Tensor) : float =
        let n = tokens.shape.[0]
        if n < 2L then Errors.invalidArg "tokens" "at least 2 tokens to score" n
        let length = int (min (int64 m.Config.SequenceLength) (n - 1L))
        let rows = int (max 1L (min (int64 evaluationRows) ((n - 1L) / int64 length)))
        let source = BatchSource.contiguous rows length tokens
        let net = evaluationNet m
        net.eval()
        use _ = torch.no_grad()
        let mutable state = None
        let mutable total = 0.0
        try
            for step in 0 .. source.StepsPerEpoch - 1 do
                Work.step work "test cross-entropy" step source.StepsPerEpoch
                use _ = torch.NewDisposeScope()
                let batch = source.Take 1 step
                let logits, next = net.Forward(batch.Inputs.``to``(m.Device), state)
                total <- total + (crossEntropy logits (batch.Targets.``to``(m.Device))).ToDouble()
                state |> Option.iter disposeState
                state <- Some (detached next)
        finally
            state |> Option.iter disposeState
        total / float source.StepsPerEpoch

    /// `meanCrossEntropyIn` with nothing to stop it.
    let meanCrossEntropy (m: LanguageModel) (tokens: Tensor) : float = meanCrossEntropyIn Work.none m tokens

    /// The logits [V] (CPU) of the token after `tokens`, and the state after them, from `state` (or zeros).
    let private advance (m: LanguageModel) (state: (Tensor * Tensor) option) (tokens: int64 array) =
        use _ = torch.NewDisposeScope()
        use input = torch.tensor(tokens, dtype = torch.int64).reshape(1L, -1L).``to``(m.Device)
        let logits, next = (evaluationNet m).Forward(input, state)
        logits.[0L, -1L].cpu().DetachFromDisposeScope(), detached next

    /// Generates `length` tokens after `prompt`, calling `emit` with each one's text (a separating space included at
    /// the word level) as soon as it is drawn, and stopping early when `cancellation` fires. The hidden state is
    /// primed with the prompt (with a line break when it is empty) in `evaluationNet` (the moving average when there is
    /// one); tokens are drawn with `generator` (CPU), so generation never touches libtorch's global generator. Returns
    /// the generated text (without the prompt).
    let generate (m: LanguageModel) (prompt: string) (length: int) (options: SamplingOptions) (generator: torch.Generator)
                 (emit: string -> unit) (cancellation: CancellationToken) : string =
        if length < 0 then Errors.invalidArg "length" "a number of tokens >= 0" length
        TokenSampling.validate options
        (evaluationNet m).eval()
        use _ = torch.no_grad()
        let primer = if String.IsNullOrEmpty prompt then "\n" else prompt
        let ids = Vocabulary.ids m.Vocabulary primer
        let ids = if ids.Length = 0 then [| int64 (Vocabulary.idOf m.Vocabulary "\n") |] else ids
        let out = Text.StringBuilder()
        let mutable previous = Vocabulary.tokenText m.Vocabulary (int (Array.last ids))
        let mutable logits, state = advance m None ids
        let mutable i = 0
        while i < length && not cancellation.IsCancellationRequested do
            let id = TokenSampling.next options generator logits
            let text = Vocabulary.tokenText m.Vocabulary id
            let piece = Vocabulary.separator m.Vocabulary previous text + text
            out.Append piece |> ignore
            emit piece
            previous <- text
            i <- i + 1
            // The last token drawn needs no forward pass: nothing follows it.
            if i < length then
                let nextLogits, nextState = advance m (Some state) [| int64 id |]
                logits.Dispose()
                disposeState state
                logits <- nextLogits
                state <- nextState
        logits.Dispose()
        disposeState state
        out.ToString()
