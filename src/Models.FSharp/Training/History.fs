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

    /// Parses what `toCsv` wrote (used to resume a run's history).
    let ofCsv (text: string) : History =
        let lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries)
        if lines.Length = 0 then empty
        else
            let header = lines.[0].Split(',')
            let names = header.[4..]
            let parse (s: string) = Double.Parse(s, CultureInfo.InvariantCulture)
            let mutable steps = []
            let mutable epochs = []
            for line in lines.[1..] do
                let f = line.Split(',')
                let terms =
                    names |> Array.mapi (fun i n -> n, f.[4 + i]) |> Array.filter (fun (_, v) -> v <> "")
                    |> Array.map (fun (n, v) -> n, parse v) |> Map.ofArray
                let epoch, step = int f.[1], int64 f.[2]
                match f.[0] with
                | "step" -> steps <- { Step = step; Epoch = epoch; Terms = terms } :: steps
                | "epoch" -> epochs <- { Epoch = epoch; Step = step; Terms = terms; Seconds = parse f.[3] } :: epochs
                | other -> raise (InvalidDataException(sprintf "metrics.csv: unknown row kind '%s'" other))
            { Steps = List.rev steps; Epochs = List.rev epochs }

    /// Writes metrics.csv atomically (temporary file, then rename).
    let save (path: string) (h: History) =
        AtomicFile.writeText path (toCsv h)
