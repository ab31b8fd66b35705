module Generative.Tests.Text.LanguageModelTests

open System
open System.IO
open System.Threading
open Expecto
open TorchSharp
open Generative
open Generative.Tests

let private config = { FsCheckConfig.defaultConfig with maxTest = 10 }

/// A short repeated string, enough rows for a few chunks.
let private pattern = String.replicate 200 "hello world\n"

/// A tiny character model with the vocabulary of `text`.
let private tiny (text: string) (tweak: LanguageModelConfig -> LanguageModelConfig) =
    let c =
        tweak
            { LanguageModel.characters with
                Embedding = 16; Hidden = 32; Layers = 1; Dropout = 0.0; SequenceLength = 12; Optimizer = Optim.adam 1e-2 }
    let c = { c with Vocabulary = Some (LanguageModel.vocabularyOf c text) }
    Device.seed 1L
    LanguageModel.create torch.CPU c

let private greedy = { TokenSampling.plain with Temperature = 0.0 }

let private generateWith (m: LanguageModel) prompt length options seed =
    use g = new torch.Generator(uint64 seed)
    LanguageModel.generate m prompt length options g ignore CancellationToken.None

/// Trains `m` on `text` for `epochs` epochs of 8 rows.
let private fit (m: LanguageModel) (text: string) epochs =
    use tokens = Vocabulary.encode m.Vocabulary text
    let source = BatchSource.contiguous 8 m.Config.SequenceLength tokens
    let trainer = LanguageModel.trainer m
    Loop.fitBatches { Loop.defaults with Epochs = epochs } Loop.noHooks CancellationToken.None trainer source (Loop.start, History.empty)

[<Tests>]
let tests =
    testList "Text.LanguageModel" [
        testPropertyWithConfig config "logits are [B, T, V] and the state [layers, B, hidden] for any batch and sequence length" <| fun (b0: FsCheck.PositiveInt) (t0: FsCheck.PositiveInt) ->
            let b, t = 1 + b0.Get % 5, 1 + t0.Get % 30
            let m = tiny "abcdef" (fun c -> { c with Layers = 2 })
            use _ = torch.no_grad()
            use tokens = torch.randint(0L, int64 m.Vocabulary.Count, [| int64 b; int64 t |], dtype = torch.int64)
            let logits, (h, c) = m.Net.Forward(tokens, None)
            Expect.equal logits.shape [| int64 b; int64 t; int64 m.Vocabulary.Count |] "logits"
            Expect.equal h.shape [| 2L; int64 b; 32L |] "h"
            Expect.equal c.shape [| 2L; int64 b; 32L |] "c"

        test "a tiny model memorises a repeated string in seconds, and greedy decoding reproduces it" {
            let m = tiny pattern id
            let result = fit m pattern 4
            let last = result.History.Epochs |> List.last
            Expect.isLessThan last.Terms.["loss"] 0.1 "the training loss of the last epoch is near 0"
            let text = generateWith m "hello" 30 greedy 0L
            Expect.equal text (" world\nhello world\nhello world\n".Substring(0, 30)) "temperature 0 continues the pattern"
            Expect.equal (generateWith m "hello" 30 { TokenSampling.plain with TopK = 1 } 7L) text "top-k = 1 is greedy decoding"
            Expect.equal (generateWith m "hello" 30 { TokenSampling.plain with Temperature = 1e-4 } 3L) text "temperature -> 0 is greedy decoding"
        }

        test "top-p keeps the smallest set of likely tokens and top-k the k most likely" {
            use logits = torch.tensor([| 0.0; 1.0; 2.0; 3.0 |])
            let p = TokenSampling.probabilities { TokenSampling.plain with TopP = 0.7 } logits
            let probs = p.data<float>().ToArray()
            Expect.equal (probs |> Array.map (fun x -> x > 0.0)) [| false; false; true; true |] "3 and 2 hold 0.91 >= 0.7; 3 alone holds 0.64"
            Expect.floatClose Accuracy.medium (Array.sum probs) 1.0 "renormalised"
            let k = TokenSampling.probabilities { TokenSampling.plain with TopK = 2 } logits
            Expect.equal (k.data<float>().ToArray() |> Array.map (fun x -> x > 0.0)) [| false; false; true; true |] "the two most likely"
            let e = TestData.raises<ArgumentException> (fun () -> TokenSampling.validate { TokenSampling.plain with TopP = 0.0 })
            Expect.equal e.ParamName "top-p" "named"
            let e = TestData.raises<ArgumentException> (fun () -> TokenSampling.validate { TokenSampling.plain with Temperature = -1.0 })
            Expect.equal e.ParamName "temperature" "named"
        }

        test "the hidden state is detached between chunks: the graph does not grow and memory stays flat over 1,000 steps" {
            let text = String.replicate 2000 "abcdefgh"
            let m = tiny text id
            use tokens = Vocabulary.encode m.Vocabulary text
            let source = BatchSource.contiguous 4 m.Config.SequenceLength tokens
            let trainer = LanguageModel.trainer m
            let steps = source.StepsPerEpoch
            let epochs = (1000 + steps - 1) / steps
            let stepSeconds = ResizeArray<float>()
            let mutable rss = []
            let hooks =
                { Loop.noHooks with
                    OnStep =
                        fun p ->
                            if p.Step = 200L || p.Step = 1000L then
                                GC.Collect()
                                GC.WaitForPendingFinalizers()
                                rss <- rss @ [ Diagnostics.Process.GetCurrentProcess().WorkingSet64 ] }
            let sw = Diagnostics.Stopwatch.StartNew()
            Loop.fitBatches { Loop.defaults with Epochs = epochs } hooks CancellationToken.None trainer source (Loop.start, History.empty) |> ignore
            // After training the carried state has no autograd history: it was detached after every chunk.
            match trainer.Carried.Value.Save() with
            | [ (_, h); (_, c) ] ->
                Expect.isFalse h.requires_grad "h is detached"
                Expect.isFalse c.requires_grad "c is detached"
            | other -> failtestf "expected h and c, got %d tensors" other.Length
            match rss with
            | [ early; late ] ->
                let growthMb = float (late - early) / 1e6
                Expect.isLessThan growthMb 60.0 (sprintf "resident memory from step 200 to 1000 grew %.1f MB" growthMb)
            | _ -> failtest "measured twice"
            ignore sw
        }

        test "save and load give identical logits" {
            let m = tiny pattern id
            fit m pattern 1 |> ignore
            let folder = TestData.tempFolder "lm-save"
            try
                let path = Path.Combine(folder, "lm.safetensors")
                let settings = SettingsTable.print LanguageModelEntries.settings m.Config
                let run = LanguageModelEntries.runModel torch.CPU m.Config
                // The run model's trainer holds its own network: copy the trained weights in first.
                Checkpoint.loadWeights "trained" run.Trainer (Checkpoint.stateOf (LanguageModel.trainer m))
                Experiment.saveModel path "char-lstm" settings "none" run
                let id, loadedSettings, _, loaded = Experiment.loadModel path Cpu
                Expect.equal id "char-lstm" "model id"
                Expect.equal loadedSettings settings "settings, the vocabulary included"
                use _ = torch.no_grad()
                use tokens = Vocabulary.encode m.Vocabulary "hello wor"
                m.Net.eval()
                let expected, _ = m.Net.Forward(tokens.unsqueeze(0L), None)
                let net = match loaded.Trainer.Modules with [ _, (:? LstmLanguageNet as n) ] -> n | _ -> failtest "one network"
                let actual, _ = net.Forward(tokens.unsqueeze(0L), None)
                Expect.isTrue (expected.Equals(actual)) "identical logits"
            finally Directory.Delete(folder, true)
        }

        test "a bfloat16 step keeps the weights fp32 and matches the fp32 step's loss and update" {
            let fp = tiny pattern (fun c -> { c with Dropout = 0.2; Layers = 2 })
            let bf = tiny pattern (fun c -> { c with Dropout = 0.2; Layers = 2; Precision = TrainingPrecision.BFloat16 })
            let weights (m: LanguageModel) = m.Net.parameters() |> Seq.map (fun p -> p.detach().clone()) |> Array.ofSeq
            let initial = weights fp
            Expect.isTrue (Array.forall2 (fun (a: Tensor) b -> a.Equals b) initial (weights bf)) "the same initial weights from the same seed"
            use tokens = Vocabulary.encode fp.Vocabulary pattern
            let batch = (BatchSource.contiguous 8 fp.Config.SequenceLength tokens).Take 1 0
            // The same dropout masks on both sides: the working copy was built with the generator put back.
            let stepOf (m: LanguageModel) = Device.seed 9L; (LanguageModel.trainer m).Step batch
            let fpLoss, bfLoss = (stepOf fp).["loss"], (stepOf bf).["loss"]
            Expect.floatClose { absolute = 0.0; relative = 5e-3 } bfLoss fpLoss "the loss within bfloat16's rounding of fp32's"
            Expect.all (bf.Net.parameters() |> Array.ofSeq) (fun p -> p.dtype = torch.float32) "the weights stay fp32"
            let update (m: LanguageModel) = Array.map2 (fun (after: Tensor) (before: Tensor) -> (after - before).flatten()) (weights m) initial |> torch.cat
            use fpUpdate = update fp
            use bfUpdate = update bf
            let cosine = torch.nn.functional.cosine_similarity(fpUpdate, bfUpdate, dim = 0L).ToDouble()
            Expect.isGreaterThan cosine 0.95 "the update points the same way"
            Expect.isFalse (fpUpdate.Equals bfUpdate) "but is computed in the lower precision"
        }

        test "a word model with tied weights trains in bfloat16: the output bias survives the conversion" {
            let text = String.replicate 50 "the cat sat on the mat and the dog sat on the log\n"
            let c = { LanguageModel.words with Embedding = 16; Hidden = 16; Layers = 1; SequenceLength = 6; MinCount = 1; Precision = TrainingPrecision.BFloat16 }
            let c = { c with Vocabulary = Some (LanguageModel.vocabularyOf c text) }
            Device.seed 1L
            let m = LanguageModel.create torch.CPU c
            use tokens = Vocabulary.encode m.Vocabulary text
            let trainer = LanguageModel.trainer m
            let losses = [ for step in 0 .. 2 -> (trainer.Step ((BatchSource.contiguous 4 c.SequenceLength tokens).Take 1 step)).["loss"] ]
            Expect.all losses Double.IsFinite "three steps with finite losses"
        }

        test "a bfloat16 checkpoint restores into an fp32 model and back, with identical logits, and training continues" {
            let folder = TestData.tempFolder "lm-precision"
            try
                let bf = tiny pattern (fun c -> { c with Precision = TrainingPrecision.BFloat16 })
                let trainer = LanguageModel.trainer bf
                use tokens = Vocabulary.encode bf.Vocabulary pattern
                let source = BatchSource.contiguous 8 bf.Config.SequenceLength tokens
                let r = Loop.fitBatches { Loop.defaults with Epochs = 1; MaxSteps = Some 5L } Loop.noHooks CancellationToken.None trainer source (Loop.start, History.empty)
                let info = { ModelId = "char-lstm"; Settings = SettingsTable.print LanguageModelEntries.settings bf.Config; Position = r.Position; CreatedUtc = DateTime.UtcNow }
                let saved = Checkpoint.save folder 2 trainer r.History info
                Expect.all (Checkpoint.stateOf trainer) (fun (_, t) -> t.dtype = torch.float32) "the weights saved are fp32"
                /// A model of `precision` restored from the checkpoint, and its trainer.
                let restored precision =
                    let m = tiny pattern (fun c -> { c with Precision = precision })
                    let t = LanguageModel.trainer m
                    Checkpoint.restore saved false t |> ignore
                    m, t
                use _ = torch.no_grad()
                use input = tokens.narrow(0L, 0L, 20L).unsqueeze(0L)
                let logitsOf (m: LanguageModel) = m.Net.eval(); fst (m.Net.Forward(input, None))
                let fp, fpTrainer = restored TrainingPrecision.Float32
                Expect.isTrue ((logitsOf fp).Equals(logitsOf bf)) "fp32 gives the bfloat16 run's logits"
                Expect.isTrue ((logitsOf (fst (restored TrainingPrecision.BFloat16))).Equals(logitsOf bf)) "and a bfloat16 model reads it back"
                // The carried hidden state, saved in bfloat16, continues in fp32.
                fp.Net.train()
                use _ = torch.enable_grad()
                let next = fpTrainer.Step (source.Take 1 r.Position.StepInEpoch)
                Expect.isTrue (Double.IsFinite next.["loss"]) "the fp32 trainer continues from the restored state"
            finally Directory.Delete(folder, true)
        }

        test "invalid settings are rejected with the setting's key" {
            let check key (c: LanguageModelConfig) =
                let e = TestData.raises<ArgumentException> (fun () -> LanguageModel.validate c)
                Expect.equal e.ParamName key (sprintf "ParamName of %s" key)
            let c = LanguageModel.characters
            check "hidden" { c with Hidden = 0 }
            check "layers" { c with Layers = 0 }
            check "dropout" { c with Dropout = 1.0 }
            check "sequence-length" { c with SequenceLength = 0 }
            check "tie-weights" { c with TieWeights = true; Embedding = 64; Hidden = 128 }
            check "clip-norm" { c with ClipNorm = -1.0 }
            check "max-vocabulary" { c with MaxVocabulary = 1 }
            check "optimizer" { c with Optimizer = Adam(-1.0, 0.9, 0.999, 0.0) }
            check "ema" { c with EmaDecay = 1.0 }
            check "ema" { c with EmaDecay = -0.1 }
            let e = TestData.raises<ArgumentException> (fun () -> (Catalog.find "char-lstm").Configure [ "hidden", "many" ] |> ignore)
            Expect.equal e.ParamName "hidden" "an unparsable value names its key"
        }

        test "with a moving average, it follows the closed form, and evaluation and generation read it, not the trained weights" {
            use _ = torch.NewDisposeScope()
            let m = tiny pattern (fun c -> { c with EmaDecay = 0.9 })
            Expect.equal (LanguageModel.modules m |> List.map fst) [ "network"; LanguageModel.averageModuleName ] "the average is checkpointed"
            let weightOf (net: LstmLanguageNet) = (net.named_parameters() |> Seq.head |> fun (struct (_, p)) -> p).detach().clone()
            let mutable expected = weightOf m.Net
            Expect.isTrue (torch.allclose(weightOf m.Average.Value, expected, rtol = 0.0, atol = 0.0)) "the average starts as the network"
            use tokens = Vocabulary.encode m.Vocabulary pattern
            let source = BatchSource.contiguous 8 m.Config.SequenceLength tokens
            let trainer = LanguageModel.trainer m
            for step in 0 .. 2 do
                trainer.Step (source.Take 1 step) |> ignore
                expected <- expected * 0.9f + weightOf m.Net * 0.1f
                Expect.isTrue (torch.allclose(weightOf m.Average.Value, expected, rtol = 0.0, atol = 1e-6)) (sprintf "closed form after step %d" step)
            Expect.isFalse (torch.allclose(weightOf m.Average.Value, weightOf m.Net)) "the average lags the trained weights"
            let averageAlone = { m with Net = m.Average.Value; Average = None }
            let trainedAlone = { m with Average = None }
            let nats (x: LanguageModel) = LanguageModel.meanCrossEntropy x tokens
            Expect.equal (nats m) (nats averageAlone) "the test cross-entropy is the average's"
            Expect.notEqual (nats m) (nats trainedAlone) "not the trained weights'"
            let sample (x: LanguageModel) = generateWith x "hel" 30 { TokenSampling.plain with Temperature = 1.0 } 3
            Expect.equal (sample m) (sample averageAlone) "generation reads the average"
        }

        testTheory "a text run trains, resumes exactly from a checkpoint in the middle of an epoch (hidden state included) and writes text"
                   [ "fp32"; "bf16" ] <| fun precision ->
            let folder = TestData.tempFolder "lm-run"
            try
                let text = Path.Combine(folder, "text.txt")
                File.WriteAllText(text, String.replicate 150 "to be or not to be\nthat is the question\n")
                let settings run =
                    { Experiment.defaults "char-lstm" with
                        TextFile = Some text; Epochs = 2; BatchSize = 4; Device = Cpu; RunFolder = Some (Path.Combine(folder, run))
                        ModelSettings = [ "hidden", "16"; "embedding", "8"; "sequence-length", "20"; "precision", precision; "ema", "0.9" ] }
                let quiet = { OnStep = ignore; Log = ignore; OnWork = ignore }
                let whole = Experiment.train (settings "whole") quiet CancellationToken.None
                // The same run, stopped in the middle of epoch 1 and resumed.
                use cts = new CancellationTokenSource()
                let stopped = Experiment.train (settings "resumed") { quiet with OnStep = fun p -> if p.Step = 20L then cts.Cancel() } cts.Token
                Expect.equal stopped.Outcome Cancelled "stopped mid-epoch"
                let resumed = Experiment.resume (Path.Combine(folder, "resumed")) None Cpu quiet CancellationToken.None
                let lossesOf (r: RunResult) = r.History.Steps |> List.map (fun s -> s.Terms.["loss"])
                Expect.equal (lossesOf resumed) (lossesOf whole) "every step's loss is the same as the uninterrupted run's"
                Expect.equal (History.lastEpoch resumed.History) 2 "two epochs"
                // The test metrics read the moving average, which the checkpoint must restore exactly too.
                Expect.equal resumed.Metrics whole.Metrics "the same test metrics as the uninterrupted run's"
                let names = resumed.Metrics |> List.map (fun (n, _, _) -> n)
                Expect.contains names "test bits per character" "bits per character measured"
                Expect.contains names "bigram baseline, bits per character" "against the bigram"
                let html = File.ReadAllText resumed.Report
                Expect.stringContains html "Text by epoch" "the report shows the text written after each epoch"
                Expect.stringContains html "Test cross-entropy against the baselines" "and the baselines table"
                let s, model = Experiment.load (Path.Combine(folder, "resumed")) Cpu
                use g = new torch.Generator(5UL)
                let written = model.Generate.Value "to be" 40 greedy g ignore CancellationToken.None
                Expect.equal written.Length 40 "40 characters written"
                Expect.equal s.TextFile (Some text) "the run remembers its text"
            finally Directory.Delete(folder, true)
    ]
