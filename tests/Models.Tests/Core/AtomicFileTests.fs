module Generative.Tests.Core.AtomicFileTests

open System
open System.IO
open System.Text
open Expecto
open Generative
open Generative.Tests

/// The names of the files in `folder`, sorted.
let private filesIn (folder: string) =
    Directory.GetFiles folder |> Array.map Path.GetFileName |> Array.sort |> List.ofArray

[<Tests>]
let tests =
    testList "Core.AtomicFile" [
        test "writeText replaces the target with the bytes File.WriteAllText writes, leaving no temporary file" {
            let folder = TestData.tempFolder "atomic"
            let target = Path.Combine(folder, "run.json")
            let reference = Path.Combine(folder, "reference")
            File.WriteAllText(target, "old content, longer than the new one")
            let text = "{\n  \"model\": \"ae-linear\", \"note\": \"é ü 字\"\n}"
            AtomicFile.writeText target text
            File.WriteAllText(reference, text)
            Expect.sequenceEqual (File.ReadAllBytes target) (File.ReadAllBytes reference) "same bytes: UTF-8, no byte-order mark"
            File.Delete reference
            Expect.equal (filesIn folder) [ "run.json" ] "only the target is left"
        }

        test "writeBytes creates a missing target and overwrites an existing one" {
            let folder = TestData.tempFolder "atomic"
            let target = Path.Combine(folder, "weights.safetensors")
            AtomicFile.writeBytes target [| 1uy; 2uy; 3uy |]
            Expect.sequenceEqual (File.ReadAllBytes target) [| 1uy; 2uy; 3uy |] "created"
            AtomicFile.writeBytes target [| 9uy |]
            Expect.sequenceEqual (File.ReadAllBytes target) [| 9uy |] "replaced, not partly overwritten"
            Expect.equal (filesIn folder) [ "weights.safetensors" ] "only the target is left"
        }

        test "while the content is written the target still holds the old file, and the temporary file is beside it" {
            let folder = TestData.tempFolder "atomic"
            let target = Path.Combine(folder, "metrics.csv")
            File.WriteAllText(target, "old")
            let mutable seenDuringWrite = ""
            let mutable temporary = ""
            AtomicFile.writeWith target (fun stream ->
                stream.Write(Encoding.UTF8.GetBytes "new, half")
                stream.Flush()
                seenDuringWrite <- File.ReadAllText target
                temporary <- (stream :?> FileStream).Name
                stream.Write(Encoding.UTF8.GetBytes " and the rest"))
            Expect.equal seenDuringWrite "old" "readers see the old file until the rename"
            Expect.equal (Path.GetDirectoryName temporary) folder "the temporary file is in the target's folder (a rename there is atomic)"
            Expect.notEqual temporary target "the content is not written into the target itself"
            Expect.equal (File.ReadAllText target) "new, half and the rest" "the new content after the rename"
            Expect.equal (filesIn folder) [ "metrics.csv" ] "only the target is left"
        }

        test "an exception in the callback leaves the old file intact and no temporary file" {
            let folder = TestData.tempFolder "atomic"
            let target = Path.Combine(folder, "report.html")
            File.WriteAllText(target, "old report")
            let e =
                TestData.raises<InvalidOperationException> (fun () ->
                    AtomicFile.writeWith target (fun stream ->
                        stream.Write(Encoding.UTF8.GetBytes "half a new rep")
                        raise (InvalidOperationException "disk full")))
            Expect.equal e.Message "disk full" "the callback's exception comes through"
            Expect.equal (File.ReadAllText target) "old report" "the old file is intact"
            Expect.equal (filesIn folder) [ "report.html" ] "no temporary file is left"
        }

        test "two writes to one target use different temporary files" {
            let folder = TestData.tempFolder "atomic"
            let target = Path.Combine(folder, "latest")
            let names = ResizeArray<string>()
            for _ in 1 .. 2 do
                AtomicFile.writeWith target (fun stream -> names.Add((stream :?> FileStream).Name))
            Expect.notEqual names.[0] names.[1] "unique temporary names, so concurrent writers never share one"
        }
    ]
