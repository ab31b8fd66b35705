namespace Generative

open System
open System.Globalization
open System.IO
open System.Net
open System.Text
open System.Text.Json.Nodes

/// `generative compare`: one offline HTML page comparing runs: their loss and validation curves overlaid per term
/// (with a smoothing slider and a log-scale toggle), the settings that differ, the final metrics with the best of
/// each marked, and the newest picture grid of each run side by side.
[<RequireQualifiedAccess>]
module RunComparison =
    /// Points per curve at most: longer histories are averaged in equal buckets, so the page stays small.
    let maxPointsPerCurve = 2000

    let private html (text: string) = WebUtility.HtmlEncode text

    let private invariant (v: float) = v.ToString("G6", CultureInfo.InvariantCulture)

    /// The run's name on the page: its folder's name.
    let private nameOf (s: RunSummary) = Path.GetFileName(Path.TrimEndingDirectorySeparator s.Folder)

    /// Averages (x, y) points in at most `maxPointsPerCurve` equal buckets (x the bucket's last).
    let downsample (points: (float * float) list) : (float * float) list =
        let n = List.length points
        if n <= maxPointsPerCurve then points
        else
            let size = int (ceil (float n / float maxPointsPerCurve))
            points |> List.chunkBySize size |> List.map (fun chunk -> fst (List.last chunk), List.averageBy snd chunk)

    /// Every setting of a run as (name, value): the run's own and its model's.
    let settingsOf (s: RunSettings) : (string * string) list =
        [ "model", s.ModelId
          "data", (match s.TextFile with Some f -> f | None -> s.Dataset)
          "normalisation", defaultArg s.Normalization "-"
          "epochs", string s.Epochs
          "steps budget", (match s.MaxSteps with Some m -> string m | None -> "-")
          "batch size", string s.BatchSize
          "seed", string s.Seed ]
        @ s.ModelSettings

    /// The settings whose values are not the same in every run (a setting a run does not have counts as "-").
    let differingSettings (runs: RunSummary list) : (string * string list) list =
        let perRun = runs |> List.map (fun r -> dict (settingsOf r.Settings))
        let keys = runs |> List.collect (fun r -> settingsOf r.Settings |> List.map fst) |> List.distinct
        [ for k in keys do
            let values = perRun |> List.map (fun d -> match d.TryGetValue k with | true, v -> v | _ -> "-")
            if List.distinct values |> List.length > 1 then yield k, values ]

    /// For each metric name (in order of first appearance), each run's value, and the index of the best run when
    /// the metric has a direction and at least two runs have it.
    let metricsTable (runs: RunSummary list) : (string * float option list * int option) list =
        let records = runs |> List.map (fun r -> match r.Metrics with Some m -> m.Metrics | None -> [])
        let names = records |> List.concat |> List.map (fun m -> m.Name) |> List.distinct
        [ for name in names do
            let values = records |> List.map (List.tryFind (fun m -> m.Name = name) >> Option.map (fun m -> m.Value))
            let direction = RunMetricsFile.directionOf name
            let finite = values |> List.indexed |> List.choose (fun (i, v) -> v |> Option.filter Double.IsFinite |> Option.map (fun v -> i, v))
            let best =
                if finite.Length < 2 then None
                else
                    match direction with
                    | MetricDirection.LowerIsBetter -> Some (fst (List.minBy snd finite))
                    | MetricDirection.HigherIsBetter -> Some (fst (List.maxBy snd finite))
                    | MetricDirection.Unranked -> None
            yield name, values, best ]

    /// The curves as JSON: the runs' names (in table order, which sets each run's colour) and per term, one series per
    /// run (x = step for per-step terms, epoch for per-epoch ones).
    let private curvesJson (runs: RunSummary list) : string =
        let charts = JsonArray()
        let addChart (title: string) (axis: string) (series: (string * (float * float) list) list) =
            let nonEmpty = series |> List.filter (fun (_, points) -> not points.IsEmpty)
            if not nonEmpty.IsEmpty then
                let c = JsonObject()
                c["title"] <- JsonValue.Create title
                c["x"] <- JsonValue.Create axis
                let arr = JsonArray()
                for (run, points) in nonEmpty do
                    let s = JsonObject()
                    s["run"] <- JsonValue.Create run
                    s["x"] <- JsonArray(points |> List.map (fun (x, _) -> JsonValue.Create x :> JsonNode) |> Array.ofList)
                    s["y"] <- JsonArray(points |> List.map (fun (_, y) -> (if Double.IsFinite y then JsonValue.Create y :> JsonNode else null)) |> Array.ofList)
                    arr.Add s
                c["series"] <- arr
                charts.Add c
        let stepTerms = runs |> List.collect (fun r -> r.History.Steps |> List.collect (fun s -> Map.keys s.Terms |> List.ofSeq)) |> List.distinct |> List.sort
        for term in stepTerms do
            addChart (sprintf "%s (per step)" term) "step"
                [ for r in runs -> nameOf r, History.stepSeries term r.History |> List.map (fun (x, y) -> float x, y) |> downsample ]
        let epochTerms = runs |> List.collect (fun r -> r.History.Epochs |> List.collect (fun e -> Map.keys e.Terms |> List.ofSeq)) |> List.distinct |> List.sort
        for term in epochTerms do
            addChart (sprintf "%s (per epoch)" term) "epoch"
                [ for r in runs -> nameOf r, History.epochSeries term r.History |> List.map (fun (x, y) -> float x, y) ]
        let page = JsonObject()
        page["runs"] <- JsonArray(runs |> List.map (fun r -> JsonValue.Create(nameOf r) :> JsonNode) |> Array.ofList)
        page["charts"] <- charts
        page.ToJsonString()

    let private style = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; max-width: 1200px; color: #111827; padding: 0 1rem; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.15rem; margin-top: 2rem; }
table { border-collapse: collapse; margin: .5rem 0; font-variant-numeric: tabular-nums; }
th, td { border-bottom: 1px solid #e5e7eb; padding: .3rem .7rem; text-align: left; white-space: nowrap; }
td.num { text-align: right; } td.best { font-weight: 700; background: #ecfdf5; }
.controls { display: flex; gap: 2rem; align-items: center; margin: .5rem 0 1rem; }
.chart { height: 340px; }
.grids { display: flex; flex-wrap: wrap; gap: 1rem; }
.grids figure { margin: 0; } .grids img { image-rendering: pixelated; max-width: 360px; border: 1px solid #e5e7eb; }
.note { color: #6b7280; font-size: .9rem; }
.scroll { overflow-x: auto; }
"""

    // Smoothing is TensorBoard's: an exponential moving average, debiased at the start of each series.
    let private script = """
const data = JSON.parse(document.getElementById('curves').textContent);
const charts = data.charts, runs = data.runs;
const palette = ['#2563eb','#dc2626','#059669','#d97706','#7c3aed','#db2777','#0891b2','#65a30d'];
function smooth(ys, w) {
  if (w <= 0) return ys;
  const out = []; let last = 0, n = 0;
  for (const y of ys) { if (y === null) { out.push(null); continue; } last = last * w + (1 - w) * y; n++; out.push(last / (1 - Math.pow(w, n))); }
  return out;
}
function draw() {
  const w = parseFloat(document.getElementById('smoothing').value);
  const log = document.getElementById('log').checked;
  document.getElementById('smoothing-value').textContent = w.toFixed(2);
  charts.forEach((c, i) => {
    const traces = c.series.map(s => ({ x: s.x, y: smooth(s.y, w), name: s.run, mode: c.x === 'epoch' ? 'lines+markers' : 'lines',
                                         line: { color: palette[runs.indexOf(s.run) % palette.length] } }));
    Plotly.react('curve-' + i, traces, { title: { text: c.title }, margin: { t: 40, r: 10, b: 40, l: 60 },
      xaxis: { title: { text: c.x } }, yaxis: { type: log ? 'log' : 'linear' }, showlegend: true, legend: { orientation: 'h' } }, { responsive: true });
  });
}
const holder = document.getElementById('charts');
charts.forEach((c, i) => { const d = document.createElement('div'); d.id = 'curve-' + i; d.className = 'chart'; holder.appendChild(d); });
document.getElementById('smoothing').addEventListener('input', draw);
document.getElementById('log').addEventListener('change', draw);
draw();
"""

    /// The page comparing `runs` (at least one), as HTML text.
    let render (runs: RunSummary list) : string =
        if runs.IsEmpty then Errors.invalidArg "runs" "at least one run folder" 0
        let sb = StringBuilder()
        let add (text: string) = sb.Append(text) |> ignore
        add "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Run comparison</title>\n<style>"
        add style
        add "</style>\n"
        add (Charts.plotlyScriptTag ())
        add "\n</head>\n<body>\n<h1>Run comparison</h1>\n"
        // The runs.
        add "<h2>Runs</h2>\n<table>\n<tr><th>run</th><th>model</th><th>data</th><th>status</th><th>epochs</th><th>headline metric</th><th>date (UTC)</th></tr>\n"
        for r in runs do
            add (sprintf "<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td class=\"num\">%s</td><td>%s</td><td>%s</td></tr>\n"
                    (html (nameOf r)) (html r.Settings.ModelId) (html (match r.Metrics with Some m -> m.Dataset | None -> r.Settings.Dataset))
                    (html (RunIndex.statusText r)) (RunIndex.epochsText r) (html (RunIndex.headlineText r))
                    (r.Started.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture)))
        add "</table>\n"
        // Final metrics, best marked.
        let table = metricsTable runs
        add "<h2>Final test metrics</h2>\n"
        if table.IsEmpty then add "<p class=\"note\">No run has metrics.json with test metrics (runs of earlier versions, or evaluations skipped): <code>generative eval RUN</code> measures them.</p>\n"
        else
            add "<p class=\"note\">The best value of each metric is marked (lower is better, except accuracies and the inception score).</p>\n<div class=\"scroll\"><table>\n<tr><th>run</th>"
            for (name, _, _) in table do add (sprintf "<th>%s</th>" (html name))
            add "</tr>\n"
            runs |> List.iteri (fun i r ->
                add (sprintf "<tr><td>%s</td>" (html (nameOf r)))
                for (_, values, best) in table do
                    match values.[i] with
                    | Some v -> add (sprintf "<td class=\"num%s\">%s</td>" (if best = Some i then " best" else "") (invariant v))
                    | None -> add "<td class=\"num\">-</td>"
                add "</tr>\n")
            add "</table></div>\n"
        // Settings that differ.
        let differing = differingSettings runs
        add "<h2>Settings that differ</h2>\n"
        if differing.IsEmpty then add "<p class=\"note\">Every setting is the same in every run.</p>\n"
        else
            add "<div class=\"scroll\"><table>\n<tr><th>setting</th>"
            for r in runs do add (sprintf "<th>%s</th>" (html (nameOf r)))
            add "</tr>\n"
            for (key, values) in differing do
                add (sprintf "<tr><td>%s</td>" (html key))
                for v in values do add (sprintf "<td>%s</td>" (html v))
                add "</tr>\n"
            add "</table></div>\n"
        // Curves.
        add "<h2>Curves</h2>\n<div class=\"controls\"><label>smoothing <input type=\"range\" id=\"smoothing\" min=\"0\" max=\"0.99\" step=\"0.01\" value=\"0\"> <span id=\"smoothing-value\">0.00</span></label>"
        add "<label><input type=\"checkbox\" id=\"log\"> log scale</label></div>\n"
        add (sprintf "<p class=\"note\">Histories longer than %d points are averaged in equal buckets.</p>\n<div id=\"charts\"></div>\n" maxPointsPerCurve)
        add "<script type=\"application/json\" id=\"curves\">"
        add ((curvesJson runs).Replace("</", "<\\/"))
        add "</script>\n"
        // Newest grids.
        add "<h2>Newest picture grids</h2>\n<div class=\"grids\">\n"
        for r in runs do
            match RunIndex.lastGrid r with
            | Some png ->
                // A grid's title is in `<series>.title` beside it (RunPictures); its file name ends in the epoch.
                let stem = Path.GetFileNameWithoutExtension png
                let cut = stem.LastIndexOf "-epoch-"
                let titleFile = Path.Combine(Path.GetDirectoryName png, (if cut > 0 then stem.Substring(0, cut) else stem) + ".title")
                let title = if File.Exists titleFile then File.ReadAllText(titleFile).Trim() else stem
                let epoch = if cut > 0 then sprintf ", epoch %s" (stem.Substring(cut + 7).TrimStart('0').PadLeft(1, '0')) else ""
                add (sprintf "<figure><img alt=\"%s\" src=\"data:image/png;base64,%s\"><figcaption>%s: %s%s</figcaption></figure>\n"
                        (html (nameOf r)) (Convert.ToBase64String(File.ReadAllBytes png)) (html (nameOf r)) (html title) epoch)
            | None -> add (sprintf "<figure><figcaption>%s: no picture grid</figcaption></figure>\n" (html (nameOf r)))
        add "</div>\n<script>"
        add script
        add "</script>\n</body>\n</html>\n"
        sb.ToString()

    /// Writes the comparison of the run folders to `path` (atomically) and returns its full path.
    let write (path: string) (folders: string list) : string =
        let runs = folders |> List.map RunIndex.summaryOf
        AtomicFile.writeText path (render runs)
        Path.GetFullPath path
