// LM-LSTM from F#: a character-level LSTM language model trained with the library's loop over contiguous chunks of
// a text (truncated backpropagation through time), measured in bits per character, then sampled.
//     dotnet fsi examples/FSharp/char-lstm.fsx [text file]      (default: the repository's README.md)
#load "Load.fsx"

open System
open System.IO
open System.Threading
open TorchSharp
open Generative

torch.set_num_threads 2
Device.seed 42L

// Any UTF-8 text file, split as the command line splits it: 90% training, 5% validation, 5% test, cut at line ends.
let path = match fsi.CommandLineArgs with [| _; file |] -> file | _ -> Path.Combine(__SOURCE_DIRECTORY__, "../../README.md")
let text = Load.textFile path
let parts = TextCorpus.split text.Text

// LM-LSTM's character preset made smaller so one epoch takes seconds on a CPU. Any field can change, e.g.
// { LanguageModel.characters with Layers = 3 }. The vocabulary comes from the training part only.
let config = { LanguageModel.characters with Hidden = 128; Embedding = 64; SequenceLength = 64 }
let model = LanguageModel.create torch.CPU { config with Vocabulary = Some (LanguageModel.vocabularyOf config parts.Train) }
let trainer = LanguageModel.trainer model
printfn "%s: %d characters, %d tokens in the vocabulary" text.Name text.Text.Length model.Vocabulary.Count

// One epoch over 16 rows of the training text read side by side, 64 characters per step of each row; the LSTM's
// state is carried from one chunk of a row to the next (and reset when the epoch starts).
let train = Vocabulary.encode model.Vocabulary parts.Train
let source = BatchSource.contiguous 16 config.SequenceLength train
let options = { Loop.defaults with Epochs = 1; BatchSize = 16; Seed = 42L }
let hooks =
    { Loop.noHooks with
        OnStep = fun p -> if p.Step % 5L = 0L then printfn "step %d/%d  loss %.3f nats per character" p.Step p.TotalSteps p.Terms.["loss"] }
let result = Loop.fitBatches options hooks CancellationToken.None trainer source (Loop.start, History.empty)

// Test cross-entropy, in evaluation mode and without gradients, against the unigram baseline of the training part.
let test = Vocabulary.encode model.Vocabulary parts.Test
let bits nats = nats / Math.Log 2.0
printfn "test after %d steps: %.3f bits per character (unigram baseline %.3f)"
    result.Position.Step (bits (LanguageModel.meanCrossEntropy model test)) (bits (NgramBaseline.unigram model.Vocabulary.Count train test))

// 300 characters after a prompt at temperature 0.8, printed as they are drawn, with a seeded generator of their own.
let generator = new torch.Generator(1UL)
printf "\nThe"
LanguageModel.generate model "The" 300 { TokenSampling.plain with Temperature = 0.8 } generator (printf "%s") CancellationToken.None |> ignore
printfn ""
