module Generative.Tests.Text.TextDataTests

open System
open System.IO
open Expecto
open TorchSharp
open Generative
open Generative.Tests

let private config = { FsCheckConfig.defaultConfig with maxTest = 100 }

let private ids (t: Tensor) = t.data<int64>().ToArray() |> Array.map int

/// A few lines of a small grammar: enough text to split, with repeated words.
let private grammarText (lines: int) =
    let rng = Random 3
    let subjects = [| "the king"; "a fool"; "my lord"; "the queen" |]
    let verbs = [| "speaks"; "sleeps"; "laughs"; "weeps" |]
    String.Join("\n", [ for _ in 1 .. lines -> sprintf "%s %s." subjects.[rng.Next 4] verbs.[rng.Next 4] ]) + "\n"

[<Tests>]
let tests =
    testList "Text.Data" [
        testPropertyWithConfig config "a character vocabulary of a text encodes every character of it and decodes it back" <| fun (text: string) ->
            let text = if isNull text then "" else text
            // Lone UTF-16 surrogates are not characters; well-formed text round-trips exactly.
            let wellFormed = String.Concat(Vocabulary.characters text)
            let v = Vocabulary.build TokenLevel.Characters false 1 0 wellFormed
            use encoded = Vocabulary.encode v wellFormed
            let tokens = ids encoded
            Expect.isFalse (tokens |> Array.contains 0) "no character of the text is unknown"
            Expect.equal (Vocabulary.decode v tokens) wellFormed "decode (encode text) = text"

        test "a character outside the Basic Multilingual Plane is one token" {
            let v = Vocabulary.build TokenLevel.Characters false 1 0 "a😀b"
            Expect.equal v.Count 4 "<unk>, a, b and the emoji"
            use e = Vocabulary.encode v "😀"
            Expect.equal (ids e) [| Vocabulary.idOf v "😀" |] "one id for the surrogate pair"
        }

        test "character vocabularies are ordered by code point after the unknown token" {
            let v = Vocabulary.build TokenLevel.Characters false 1 0 "cab\nb"
            Expect.equal (List.ofArray v.Tokens) [ "<unk>"; "\n"; "a"; "b"; "c" ] "sorted like Python's sorted(set(text))"
        }

        test "unknown words and characters become token 0 and decode as <unk> or U+FFFD" {
            let words = Vocabulary.build TokenLevel.Words true 2 0 "the cat. The dog. the cat sat."
            Expect.equal (List.ofArray words.Tokens |> List.sort) ([ "<unk>"; "the"; "cat"; "." ] |> List.sort) "min count 2 keeps the, cat and ."
            use e = Vocabulary.encode words "The zebra."
            Expect.equal (ids e) [| Vocabulary.idOf words "the"; 0; Vocabulary.idOf words "." |] "zebra is unknown; The is lower-cased"
            Expect.equal (Vocabulary.decode words (ids e)) "the <unk>." "no space before the full stop"
            let chars = Vocabulary.build TokenLevel.Characters false 1 0 "ab"
            use c = Vocabulary.encode chars "abz"
            Expect.equal (Vocabulary.decode chars (ids c)) "ab\uFFFD" "an unseen character"
        }

        test "a word vocabulary keeps the most frequent words up to its size" {
            let v = Vocabulary.build TokenLevel.Words false 1 3 "b a b c b a"
            Expect.equal (List.ofArray v.Tokens) [ "<unk>"; "b"; "a" ] "<unk> and the two most frequent"
        }

        test "a vocabulary survives its JSON form, and a damaged one is an error naming the setting" {
            let v = Vocabulary.build TokenLevel.Words true 1 0 "Hello, \"world\"!\nhello again"
            let back = Vocabulary.ofJson (Vocabulary.toJson v)
            Expect.equal (back.Level, back.LowerCase, List.ofArray back.Tokens) (v.Level, v.LowerCase, List.ofArray v.Tokens) "same vocabulary"
            let e = TestData.raises<ArgumentException> (fun () -> Vocabulary.ofJson "{\"level\": \"bytes\", \"lowerCase\": false, \"tokens\": [\"<unk>\"]}" |> ignore)
            Expect.stringContains e.Message "unknown level 'bytes'" "says what is wrong"
            let e = TestData.raises<ArgumentException> (fun () -> Vocabulary.ofJson "not json" |> ignore)
            Expect.equal e.ParamName "vocabulary" "named"
        }

        test "the split is contiguous, disjoint and cut at line starts" {
            let text = grammarText 400
            let parts = TextCorpus.split text
            Expect.equal (parts.Train + parts.Validation + parts.Test) text "the parts, in order, are the text"
            Expect.isTrue (parts.Train.EndsWith "\n" && parts.Validation.EndsWith "\n") "each cut follows a line break"
            let share (part: string) = float part.Length / float text.Length
            Expect.isTrue (abs (share parts.Train - 0.9) < 0.02) (sprintf "about 90%% training (%.3f)" (share parts.Train))
            Expect.isTrue (abs (share parts.Validation - 0.05) < 0.02) (sprintf "about 5%% validation (%.3f)" (share parts.Validation))
            let e = TestData.raises<ArgumentException> (fun () -> TextCorpus.split "one line" |> ignore)
            Expect.equal e.ParamName "text" "a text too short to split is an error"
        }

        test "a text file that is not UTF-8, or empty, is a clear error" {
            let folder = TestData.tempFolder "text-file"
            try
                let latin = Path.Combine(folder, "latin.txt")
                File.WriteAllBytes(latin, [| 0x63uy; 0x61uy; 0x66uy; 0xE9uy; 0x0Auy |])
                let e = TestData.raises<InvalidDataException> (fun () -> TextCorpus.readFile latin |> ignore)
                Expect.stringContains e.Message "not valid UTF-8" "says what is wrong"
                let empty = Path.Combine(folder, "empty.txt")
                File.WriteAllText(empty, "  \n")
                TestData.raises<InvalidDataException> (fun () -> TextCorpus.readFile empty |> ignore) |> ignore
                TestData.raises<FileNotFoundException> (fun () -> TextCorpus.readFile (Path.Combine(folder, "none.txt")) |> ignore) |> ignore
                let good = Path.Combine(folder, "good.txt")
                File.WriteAllText(good, "\uFEFFhello\n")
                Expect.equal (TextCorpus.readFile good).Text "hello\n" "a byte-order mark is dropped"
            finally Directory.Delete(folder, true)
        }

        test "stateful batches: chunk k+1 of a row continues chunk k of that row, targets are inputs shifted by one" {
            use tokens = torch.arange(0L, 1000L, dtype = torch.int64)
            let rows, length = 4, 10
            let source = BatchSource.contiguous rows length tokens
            let rowLength = 999 / rows
            Expect.equal source.StepsPerEpoch (rowLength / length) "steps per epoch"
            for k in 0 .. source.StepsPerEpoch - 1 do
                let b = source.Take 1 k
                Expect.equal b.Inputs.shape [| int64 rows; int64 length |] "inputs [rows, length]"
                let x = ids b.Inputs
                let y = ids b.Targets
                for r in 0 .. rows - 1 do
                    for j in 0 .. length - 1 do
                        Expect.equal x.[r * length + j] (r * rowLength + k * length + j) "row r continues where chunk k-1 ended"
                        Expect.equal y.[r * length + j] (x.[r * length + j] + 1) "the target is the next token"
            let e = TestData.raises<ArgumentException> (fun () -> BatchSource.contiguous 200 10 tokens |> ignore)
            Expect.equal e.ParamName "batch-size" "too many rows for the text"
        }

        test "n-gram baselines: the bigram beats the unigram on patterned text, and both are finite on unseen tokens" {
            let v = 5
            use train = torch.tensor([| for i in 0 .. 999 -> int64 (1 + i % 3) |])
            use test = torch.tensor([| 1L; 2L; 3L; 1L; 2L; 4L; 1L |])
            let uni = NgramBaseline.unigram v train test
            let bi = NgramBaseline.bigram v 0.9 train test
            Expect.isTrue (Double.IsFinite uni && Double.IsFinite bi) "token 4 never seen in training still has a probability"
            Expect.isLessThan bi uni "the bigram knows 1 -> 2 -> 3"
            Expect.floatClose Accuracy.medium (NgramBaseline.unigram 2 (torch.tensor([| 1L; 1L |])) (torch.tensor([| 1L |]))) (-Math.Log(3.0 / 4.0)) "add-one: (2 + 1) / (2 + 2)"
        }
    ]
