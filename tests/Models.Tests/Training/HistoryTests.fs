module Generative.Tests.Training.HistoryTests

open System.IO
open Expecto
open Generative
open Generative.Tests

/// A history of two epochs of two steps, with a term only some rows have and a non-finite value.
let sampleHistory =
    { Steps =
        [ { Step = 1L; Epoch = 1; Terms = Map [ "loss", 0.5; "kl", 0.25 ] }
          { Step = 2L; Epoch = 1; Terms = Map [ "loss", 0.125 ] }
          { Step = 3L; Epoch = 2; Terms = Map [ "loss", 1e-7; "kl", nan ] }
          { Step = 4L; Epoch = 2; Terms = Map [ "loss", 3.0 ] } ]
      Epochs =
        [ { Epoch = 1; Step = 2L; Terms = Map [ "loss", 0.3125 ]; Seconds = 1.5 }
          { Epoch = 2; Step = 4L; Terms = Map [ "loss", 1.5; "kl", -0.0 ]; Seconds = 0.25 } ] }

/// The CSV text of `sampleHistory`.
let sampleCsv = History.toCsv sampleHistory

/// Expects `ofCsv` to refuse `text` with an InvalidDataException naming the file, the line and what is wrong.
let private expectRefused (text: string) (line: int) (why: string) =
    let e = TestData.raises<InvalidDataException> (fun () -> History.ofCsv "runs/x/history.csv" text |> ignore)
    Expect.stringContains e.Message (sprintf "runs/x/history.csv, line %d:" line) "names the file and the line"
    Expect.stringContains e.Message why "says what is wrong"

/// `sampleCsv` with line `n` (1-based) replaced.
let private withLine (n: int) (line: string) =
    let lines = sampleCsv.Split('\n')
    lines.[n - 1] <- line
    String.concat "\n" lines

[<Tests>]
let tests =
    testList "Training.History" [
        test "ofCsv reads what toCsv writes, NaN and missing terms included" {
            let back = History.ofCsv "h.csv" sampleCsv
            // NaN <> NaN: compare through the text, which prints NaN as "NaN".
            Expect.equal (History.toCsv back) sampleCsv "same text"
            Expect.equal (back.Steps |> List.map (fun s -> s.Step, s.Epoch, s.Terms.Count)) [ 1L, 1, 2; 2L, 1, 1; 3L, 2, 2; 4L, 2, 1 ] "steps"
            Expect.equal back.Epochs sampleHistory.Epochs "epochs"
            Expect.equal (History.ofCsv "h.csv" (History.toCsv History.empty)) History.empty "an empty history is its header"
            Expect.equal (History.ofCsv "h.csv" (sampleCsv.Replace("\n", "\r\n"))).Epochs sampleHistory.Epochs "CRLF line ends too"
        }

        test "a history cut off mid-line, or anywhere but at a line's end, is refused naming the line" {
            let lines = sampleCsv.Split('\n').Length - 1
            // Every cut that does not fall just after a newline.
            for cut in 0 .. sampleCsv.Length - 1 do
                if cut = 0 || sampleCsv.[cut - 1] <> '\n' then
                    let e = TestData.raises<InvalidDataException> (fun () -> History.ofCsv "h.csv" (sampleCsv.Substring(0, cut)) |> ignore)
                    Expect.stringContains e.Message "h.csv" (sprintf "cut at %d: names the file" cut)
            expectRefused (sampleCsv.TrimEnd '\n') lines "no final newline: the file was cut off"
            expectRefused (sampleCsv.Substring(0, sampleCsv.Length - 5)) lines "no final newline"
            let e = TestData.raises<InvalidDataException> (fun () -> History.ofCsv "h.csv" "" |> ignore)
            Expect.stringContains e.Message "h.csv: empty" "an empty file is refused"
        }

        test "rows with the wrong number of fields, unparsable numbers or unknown kinds are refused naming the line" {
            expectRefused (withLine 3 "step,1,2,") 3 "4 fields where the header has 6"
            expectRefused (withLine 3 "step,1,2,,0.125,,9") 3 "7 fields where the header has 6"
            expectRefused (withLine 2 "step,1,1,,0.25,0.5x") 2 "term loss '0.5x' is not a number"
            expectRefused (withLine 2 "step,one,1,,0.25,0.5") 2 "epoch 'one' is not a whole number"
            expectRefused (withLine 2 "step,1,-1,,0.25,0.5") 2 "step '-1' is not a whole number"
            expectRefused (withLine 2 "step,99999999999,1,,0.25,0.5") 2 "epoch 99999999999 is out of range"
            expectRefused (withLine 2 "step,1,1,3.5,0.25,0.5") 2 "a step row with seconds '3.5'"
            expectRefused (withLine 6 "epoch,1,2,,,0.3125") 6 "seconds '' is not a number"
            expectRefused (withLine 4 "stop,2,3,,NaN,1E-07") 4 "unknown row kind 'stop'"
            expectRefused (withLine 4 "") 4 "1 fields where the header has 6"
            expectRefused (withLine 1 "kind,epoch,step,loss") 1 "expected kind,epoch,step,seconds"
            expectRefused (withLine 1 "kind,epoch,step,seconds,loss,loss") 1 "names the term 'loss' twice"
            expectRefused (withLine 1 "kind,epoch,step,seconds,kl,") 1 "an empty column name"
        }
    ]
