namespace Generative

open System
open System.IO
open System.Text

/// A text a language model trains on, as read: its name, its text and the files it came from.
type TextSource =
    { /// For messages and reports, e.g. "tiny-shakespeare" or a file's name.
      Name: string
      Text: string
      /// Every file read, as (path, sha256 hex of its bytes, uncompressed), for run reports.
      Files: (string * string) list }

/// The three contiguous parts of a text: training, validation and test, in that order and disjoint.
type TextSplit = { Train: string; Validation: string; Test: string }

/// Reading text corpora and splitting them for language models.
[<RequireQualifiedAccess>]
module TextCorpus =
    /// The percentages of the text before the validation and the test parts: 90% training, 5% validation, 5% test.
    let validationStart, testStart = 90, 95

    /// Where a cut near `position` goes: just after the first line break at or after it, so no line (and at the
    /// word level no word) is split between two parts; the position itself when no line break follows.
    let private cutAfterLine (text: string) (position: int) =
        match text.IndexOf('\n', position) with
        | -1 -> position
        | i -> i + 1

    /// The contiguous split of a text: training up to about 90%, validation to about 95%, test after (each cut moved
    /// to the next line start). Characters are never shuffled across parts. ArgumentException when a part would be
    /// empty (the text is too short).
    let split (text: string) : TextSplit =
        if isNull text then nullArg "text"
        let cut (percent: int) = cutAfterLine text (int (int64 text.Length * int64 percent / 100L))
        let c1 = cut validationStart
        let c2 = max c1 (cut testStart)
        if c1 = 0 || c2 = c1 || c2 = text.Length then
            Errors.invalidArg "text" "a text long enough for non-empty training, validation and test parts (at least a few lines)" (sprintf "%d characters" text.Length)
        { Train = text.Substring(0, c1); Validation = text.Substring(c1, c2 - c1); Test = text.Substring(c2) }

    /// A UTF-8 text file (plain or .gz, see `Fetch.readText`), checked: FileNotFoundException when it is missing,
    /// InvalidDataException when it is not valid UTF-8 or holds no text. Named after the file.
    let readFile (path: string) : TextSource =
        if not (File.Exists path) then raise (FileNotFoundException(sprintf "%s: text file not found" path, path))
        // Read once: the text and the checksum the report shows come from the same bytes.
        let bytes = Idx.readBytes path
        let text = Fetch.decodeText path bytes
        if String.IsNullOrWhiteSpace text then raise (InvalidDataException(sprintf "%s holds no text" path))
        { Name = Path.GetFileName path; Text = text; Files = [ path, Datasets.sha256Hex bytes ] }
