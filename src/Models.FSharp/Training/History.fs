namespace Generative

open System
open System.Globalization
open System.IO
open System.Text

/// One optimisation step: its global index (1-based), its epoch (1-based) and its named loss terms.
type StepRecord = { Step: int64; Epoch: int; Terms: Map<string, float> }

/// One finished epoch: the mean of each named term over its steps, the global step reached and its duration.
type EpochRecord = { Epoch: int; Step: int64; Terms: Map<string, float>; Seconds: float }

/// Everything a run measured, per step and per epoch, in order.
type History = { Steps: StepRecord list; Epochs: EpochRecord list }

/// Building, reading and saving histories (metrics.csv).
[<RequireQualifiedAccess>]
module History =
    /// A history with nothing in it.
    let empty = { Steps = []; Epochs = [] }

    /// The number of the last epoch recorded, 0 when none was.
    let lastEpoch (h: History) = match h.Epochs with [] -> 0 | epochs -> (List.last epochs).Epoch

    /// The names of every term recorded, sorted, so columns are stable.
    let termNames (h: History) =
        Seq.append (h.Steps |> Seq.collect (fun s -> s.Terms.Keys)) (h.Epochs |> Seq.collect (fun e -> e.Terms.Keys))
        |> Seq.distinct |> Seq.sort |> List.ofSeq

    /// The per-step series of one term as (step, value) pairs.
    let stepSeries (term: string) (h: History) =
        h.Steps |> List.choose (fun s -> s.Terms.TryFind term |> Option.map (fun v -> s.Step, v))

    /// The per-epoch series of one term as (epoch, mean value) pairs.
    let epochSeries (term: string) (h: History) =
        h.Epochs |> List.choose (fun e -> e.Terms.TryFind term |> Option.map (fun v -> e.Epoch, v))

    let private num (v: float) = v.ToString("R", CultureInfo.InvariantCulture)

    /// CSV text: `kind,epoch,step,seconds,<term>...` with one row per step (`kind = step`) and per epoch (`kind = epoch`).
    let toCsv (h: History) =
        let names = termNames h
        let sb = StringBuilder()
        sb.Append("kind,epoch,step,seconds").Append(names |> List.map (fun n -> "," + n) |> String.concat "").Append('\n') |> ignore
        let row (kind: string) (epoch: int) (step: int64) (seconds: string) (terms: Map<string, float>) =
            sb.Append(kind).Append(',').Append(epoch).Append(',').Append(step).Append(',').Append(seconds) |> ignore
            for n in names do
                let cell = match terms.TryFind n with Some v -> num v | None -> ""
                sb.Append(',').Append(cell) |> ignore
            sb.Append('\n') |> ignore
        for s in h.Steps do row "step" s.Epoch s.Step "" s.Terms
        for e in h.Epochs do row "epoch" e.Epoch e.Step (num e.Seconds) e.Terms
        sb.ToString()

    /// Parses what `toCsv` wrote (used to resume a run's history and to rebuild its report); `source` names the file
    /// in errors. Strict, because a history read back is written out again by a resumed run: a damaged file (empty,
    /// cut off without its final newline, a row with the wrong number of fields, an unknown row kind, a number that
    /// does not parse, a step row with seconds) is an InvalidDataException naming the file and the line, never a
    /// shorter history.
    let ofCsv (source: string) (text: string) : History =
        let fail (line: int) why : 'a = raise (InvalidDataException(sprintf "%s, line %d: %s" source line why))
        if text.Length = 0 then
            raise (InvalidDataException(sprintf "%s: empty, without even its header line (kind,epoch,step,seconds,...): the file was cut or damaged" source))
        // toCsv ends every line, the last included, with a newline: a file without one was cut off mid-line.
        if not (text.EndsWith "\n") then
            fail (text.Split('\n').Length) "the last line has no final newline: the file was cut off (while being written or copied)"
        let lines = text.Substring(0, text.Length - 1).Split('\n') |> Array.map (fun l -> l.TrimEnd '\r')
        let header = lines.[0].Split(',')
        let fixedColumns = [| "kind"; "epoch"; "step"; "seconds" |]
        if header.Length < fixedColumns.Length || header.[.. fixedColumns.Length - 1] <> fixedColumns then
            fail 1 (sprintf "the header is '%s', expected kind,epoch,step,seconds followed by the loss terms" lines.[0])
        let names = header.[fixedColumns.Length ..]
        match names |> Array.tryFind String.IsNullOrWhiteSpace with
        | Some _ -> fail 1 "the header has an empty column name"
        | None -> ()
        match names |> Array.countBy id |> Array.tryFind (fun (_, n) -> n > 1) with
        | Some (name, _) -> fail 1 (sprintf "the header names the term '%s' twice" name)
        | None -> ()
        let steps = ResizeArray<StepRecord>()
        let epochs = ResizeArray<EpochRecord>()
        for i in 1 .. lines.Length - 1 do
            let line = i + 1
            let f = lines.[i].Split(',')
            if f.Length <> header.Length then
                fail line (sprintf "%d fields where the header has %d (a damaged or cut row)" f.Length header.Length)
            let whole (what: string) (s: string) =
                match Int64.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture) with
                | true, n -> n
                | false, _ -> fail line (sprintf "%s '%s' is not a whole number" what s)
            let number (what: string) (s: string) =
                match Double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture) with
                | true, v -> v
                | false, _ -> fail line (sprintf "%s '%s' is not a number" what s)
            let epoch =
                match whole "epoch" f.[1] with
                | e when e <= int64 Int32.MaxValue -> int e
                | e -> fail line (sprintf "epoch %d is out of range" e)
            let step = whole "step" f.[2]
            let terms =
                names |> Array.mapi (fun j n -> n, f.[fixedColumns.Length + j]) |> Array.filter (fun (_, v) -> v <> "")
                |> Array.map (fun (n, v) -> n, number (sprintf "term %s" n) v) |> Map.ofArray
            match f.[0] with
            | "step" ->
                if f.[3] <> "" then fail line (sprintf "a step row with seconds '%s' (only epoch rows have them)" f.[3])
                steps.Add { Step = step; Epoch = epoch; Terms = terms }
            | "epoch" -> epochs.Add { Epoch = epoch; Step = step; Terms = terms; Seconds = number "seconds" f.[3] }
            | other -> fail line (sprintf "unknown row kind '%s' (expected step or epoch)" other)
        { Steps = List.ofSeq steps; Epochs = List.ofSeq epochs }

    /// Writes metrics.csv atomically (temporary file, then rename).
    let save (path: string) (h: History) =
        AtomicFile.writeText path (toCsv h)
