namespace Generative

open System
open System.Globalization
open System.IO
open System.Net
open System.Text
open Plotly.NET

/// A sequence of images of one kind across a run (e.g. the fixed-noise grid after each epoch), shown with a slider.
type ImageSeries =
    { /// Heading of the series, e.g. "Fixed-noise samples".
      Title: string
      /// One or two sentences saying what the images are.
      Caption: string
      /// (label such as "epoch 3", path of a PNG file) in display order; the last frame is shown first.
      Frames: (string * string) list }

/// Passages of one kind across a run (e.g. text a language model writes after each epoch), shown with a slider.
type TextSeries =
    { Title: string
      Caption: string
      /// (label such as "epoch 3", the text) in display order; the last frame is shown first.
      Frames: (string * string) list }

/// Passages of text a model wrote (e.g. samples of a language model), shown verbatim, one block each.
type TextSamples =
    { Title: string
      /// One or two sentences saying what the passages are and how they were drawn.
      Caption: string
      Samples: string list }

/// A table a model declares (e.g. nearest neighbours, per-class figures), shown with its header row.
type ReportTable =
    { Title: string
      Caption: string
      Header: string list
      Rows: string list list }

/// The header's account of a run: how it ended and why, how far and how long it trained, what it measured.
type RunHeader =
    { Status: RunStatus
      /// Why it stopped (or that it completed), one or two sentences.
      Reason: string
      /// The end-of-run evaluation was skipped: no test metrics.
      EvaluationSkipped: bool
      /// Whole epochs trained (those with an epoch record).
      EpochsTrained: int
      /// Epochs the run was set to train.
      EpochsPlanned: int
      /// Steps trained in all, including those of an epoch stopped part-way.
      Steps: int64
      /// Seconds spent training: the epochs' durations plus the part of an unfinished epoch, when known.
      Seconds: float
      /// What `Seconds` leaves out, shown under it (e.g. the untimed steps of an unfinished epoch); "" when nothing.
      TimeNote: string
      /// The run's headline metrics (name, value, how it was measured), shown first; empty when not measured.
      Headline: (string * string * string) list }

/// Everything a run report shows.
type ReportContent =
    { /// Page heading, e.g. "DCGAN on MNIST".
      Title: string
      /// The model's identifier, shown as a badge in the header.
      ModelId: string
      /// A short paragraph under the heading.
      Summary: string
      /// The run's status, progress and headline metrics for the header; None: the header shows the history's last
      /// epoch means instead.
      Run: RunHeader option
      /// The run's history: one loss chart per named term.
      History: History
      /// What the loss charts of per-epoch test terms ("test ...") say they measured, with the end-of-run values to
      /// mark on them; None: the charts say only "part of the test set".
      EpochTest: EpochTestMarks option
      /// Image series (samples, reconstructions) shown with sliders.
      ImageSeries: ImageSeries list
      /// Extra charts (title, chart), e.g. a latent scatter.
      Charts: (string * GenericChart) list
      /// Text the model wrote across the run, one slider each.
      TextSeries: TextSeries list
      /// Text the model wrote, shown verbatim.
      Texts: TextSamples list
      /// Tables the model declares.
      Tables: ReportTable list
      /// (name, value, how it was measured).
      Metrics: (string * string * string) list
      /// The run's configuration as (key, value).
      Config: (string * string) list
      /// Versions, device, seed, data checksums as (key, value).
      Environment: (string * string) list }

/// One self-contained HTML page per run: opens offline, survives being moved (images are embedded, plotly.js is inlined once).
[<RequireQualifiedAccess>]
module RunReport =

    /// Escapes text for HTML element content and quoted attribute values.
    let private esc (s: string) = if isNull s then "" else WebUtility.HtmlEncode s

    let private num (v: float) =
        if Double.IsNaN v || Double.IsInfinity v then string v
        elif v <> 0.0 && (abs v >= 1e5 || abs v < 1e-3) then v.ToString("0.###e+0", CultureInfo.InvariantCulture)
        else v.ToString("0.####", CultureInfo.InvariantCulture)

    let private duration (seconds: float) =
        let t = TimeSpan.FromSeconds seconds
        if t.TotalHours >= 1.0 then sprintf "%dh %02dm" (int t.TotalHours) t.Minutes
        elif t.TotalMinutes >= 1.0 then sprintf "%dm %02ds" (int t.TotalMinutes) t.Seconds
        else sprintf "%.1fs" seconds

    /// The width in pixels of a PNG file (from its IHDR chunk), if the bytes are a PNG.
    let private pngWidth (bytes: byte[]) =
        if bytes.Length >= 24 && bytes.AsSpan(0, 8).SequenceEqual(ReadOnlySpan Images.pngSignature) then
            Some (Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(ReadOnlySpan(bytes, 16, 4)))
        else None

    let private css = """
:root { --bg:#f4f5f7; --card:#fff; --ink:#1f2937; --muted:#6b7280; --line:#e5e7eb; --accent:#4e79a7; --head:#111827; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin:0; background:var(--bg); color:var(--ink);
  font: 15px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
.wrap { max-width: 1240px; margin: 0 auto; padding: 0 24px; }
header.top { background: linear-gradient(135deg, #111827 0%, #1f3a5f 100%); color:#f9fafb; padding: 28px 0 24px; }
header.top .eyebrow { text-transform: uppercase; letter-spacing: .12em; font-size: 12px; color:#9ca3af; }
header.top h1 { margin: 4px 0 8px; font-size: 30px; font-weight: 650; letter-spacing: -.01em; }
.badge { display:inline-block; font: 600 13px/1 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
  background: rgba(255,255,255,.12); border: 1px solid rgba(255,255,255,.25); color:#e5e7eb; padding: 6px 10px; border-radius: 999px; }
header.top .summary { max-width: 860px; margin: 12px 0 0; color:#d1d5db; font-size: 16px; }
.stats { display:flex; flex-wrap:wrap; gap: 10px; margin-top: 20px; }
.stat { background: rgba(255,255,255,.08); border: 1px solid rgba(255,255,255,.14); border-radius: 10px; padding: 10px 14px; min-width: 120px; }
.stat .k { font-size: 12px; color:#9ca3af; text-transform: uppercase; letter-spacing: .06em; }
.stat .v { font-size: 20px; font-weight: 600; font-variant-numeric: tabular-nums; color:#fff; white-space: nowrap; }
.stat .sub { font-size: 12px; color:#d1d5db; white-space: nowrap; }
.stat.headline { background: rgba(255,255,255,.16); border-color: rgba(255,255,255,.32); }
.stat.headline .v { font-size: 26px; }
.status-line { display:flex; flex-wrap:wrap; align-items:center; gap: 8px; margin-top: 16px; }
.status { display:inline-block; font-weight: 650; font-size: 13px; text-transform: uppercase; letter-spacing: .06em; padding: 4px 10px; border-radius: 999px; }
.status.ok { background:#d1fae5; color:#065f46; }
.status.info { background:#dbeafe; color:#1e3a8a; }
.status.warn { background:#fef3c7; color:#92400e; }
.status.muted { background:#e5e7eb; color:#374151; }
.status-line .reason { color:#e5e7eb; font-size: 14px; }
.curve-controls { display:flex; flex-wrap:wrap; align-items:center; gap: 10px 18px; margin: 0 0 12px; padding: 10px 14px;
  background: var(--card); border: 1px solid var(--line); border-radius: 10px; font-size: 14px; }
.curve-controls label { display:flex; align-items:center; gap: 8px; }
.curve-controls input[type=range] { width: 220px; accent-color: var(--accent); }
.curve-controls output { min-width: 3.2em; font-variant-numeric: tabular-nums; font-weight: 600; }
.curve-controls .hint { color: var(--muted); font-size: 13px; }
nav.toc { position: sticky; top: 0; z-index: 10; background: rgba(255,255,255,.92); backdrop-filter: blur(6px); border-bottom: 1px solid var(--line); }
nav.toc .wrap { display:flex; gap: 4px; overflow-x: auto; padding-top: 6px; padding-bottom: 6px; }
nav.toc a { color: var(--ink); text-decoration: none; padding: 6px 12px; border-radius: 6px; font-size: 14px; white-space: nowrap; }
nav.toc a:hover { background: #eef2f7; color: var(--accent); }
main { padding-top: 8px; padding-bottom: 40px; }
section { scroll-margin-top: 56px; }
h2 { font-size: 20px; margin: 28px 0 12px; font-weight: 650; }
h3 { font-size: 16px; margin: 0 0 4px; font-weight: 600; }
.grid { display:grid; grid-template-columns: repeat(auto-fit, minmax(520px, 1fr)); gap: 16px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 12px; padding: 16px 18px;
  box-shadow: 0 1px 2px rgba(16,24,40,.04), 0 1px 3px rgba(16,24,40,.06); min-width: 0; }
.card .caption { color: var(--muted); margin: 0 0 12px; font-size: 14px; }
pre.sample { white-space: pre-wrap; overflow-wrap: anywhere; margin: 0 0 10px; padding: 10px 12px; background: #f9fafb;
  border: 1px solid var(--line); border-radius: 8px; font: 13px/1.5 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
.chart { width: 100%; min-height: 300px; }
.empty { color: var(--muted); font-style: italic; }
.series .stage { display:flex; justify-content:center; align-items:flex-start; background: #fafafa; border: 1px solid var(--line);
  border-radius: 8px; padding: 12px; overflow: auto; }
.series figure { margin: 0; }
.series img { display:block; image-rendering: pixelated; image-rendering: crisp-edges; max-width: 100%; height: auto; }
.series .missing { color: #b91c1c; padding: 24px; }
.controls { display:flex; align-items:center; gap: 12px; margin-top: 12px; }
.controls input[type=range] { flex: 1; accent-color: var(--accent); }
.controls .frame-label { min-width: 150px; text-align: right; font-variant-numeric: tabular-nums; color: var(--ink); font-weight: 600; font-size: 14px; }
.controls button { font: inherit; font-size: 13px; border: 1px solid var(--line); background: #fff; border-radius: 6px; padding: 4px 10px; cursor: pointer; }
.controls button:hover { border-color: var(--accent); color: var(--accent); }
table { width: 100%; border-collapse: collapse; font-size: 14px; }
th, td { text-align: left; padding: 8px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-size: 12px; text-transform: uppercase; letter-spacing: .06em; color: var(--muted); font-weight: 600; }
tr:last-child td { border-bottom: none; }
td.value { font: 13px/1.5 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; word-break: break-word; }
td.how { color: var(--muted); }
td.number { font: 13px/1.5 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; white-space: nowrap; }
td.metric { min-width: 12em; font-weight: 500; }
td.key { white-space: nowrap; font-weight: 500; }
footer { color: var(--muted); font-size: 13px; padding: 20px 0 36px; border-top: 1px solid var(--line); }
@media (max-width: 640px) { .grid { grid-template-columns: 1fr; } header.top h1 { font-size: 24px; } }
"""

    // Each series: frames stacked, all but one hidden; the range input (and a play button) picks which one shows.
    // Without scripts the last frame still shows.
    let private sliderJs = """
(function () {
  document.querySelectorAll('.series').forEach(function (s) {
    var frames = s.querySelectorAll('.frame');
    var range = s.querySelector('input[type=range]');
    var label = s.querySelector('.frame-label');
    var play = s.querySelector('button.play');
    if (!range || frames.length === 0) return;
    var timer = null;
    function show(i) {
      frames.forEach(function (f, j) { f.hidden = j !== i; });
      range.value = String(i);
      label.textContent = frames[i].getAttribute('data-label') + '  (' + (i + 1) + '/' + frames.length + ')';
    }
    range.addEventListener('input', function () { show(parseInt(range.value, 10)); });
    play.addEventListener('click', function () {
      if (timer) { clearInterval(timer); timer = null; play.textContent = '\u25B6 Play'; return; }
      play.textContent = '\u275A\u275A Pause';
      if (parseInt(range.value, 10) === frames.length - 1) show(0);
      timer = setInterval(function () {
        var i = parseInt(range.value, 10) + 1;
        if (i >= frames.length) { clearInterval(timer); timer = null; play.textContent = '\u25B6 Play'; return; }
        show(i);
      }, 700);
    });
    show(parseInt(range.value, 10));
  });
})();
"""

    /// One card of the header: a small key over a large value, with an optional line under it and a tooltip.
    let private statCard (sb: StringBuilder) (extraClass: string) (key: string) (value: string) (sub: string) (tooltip: string) =
        sb.AppendFormat("<div class=\"stat{0}\"{1}><div class=\"k\">{2}</div><div class=\"v\">{3}</div>{4}</div>\n",
                        (if extraClass = "" then "" else " " + extraClass),
                        (if String.IsNullOrWhiteSpace tooltip then "" else sprintf " title=\"%s\"" (esc tooltip)),
                        esc key, esc value, (if String.IsNullOrWhiteSpace sub then "" else sprintf "<div class=\"sub\">%s</div>" (esc sub))) |> ignore

    /// The words and colour of a status badge.
    let statusLabel (status: RunStatus) =
        match status with
        | RunStatus.Completed -> "completed"
        | RunStatus.StoppedEarly -> "stopped early"
        | RunStatus.Interrupted -> "interrupted"
        | RunStatus.StepBudgetReached -> "step budget reached"
        | RunStatus.Diverged -> "diverged"
        | RunStatus.Training -> "training"
        | RunStatus.NotRecorded -> "not recorded"

    let private statusTone (status: RunStatus) =
        match status with
        | RunStatus.Completed -> "ok"
        | RunStatus.StoppedEarly | RunStatus.StepBudgetReached -> "info"
        | RunStatus.Interrupted | RunStatus.Diverged -> "warn"
        | RunStatus.Training | RunStatus.NotRecorded -> "muted"

    /// The header of a run: its status and why, its headline metrics, then how far and how long it trained.
    let private runHeaderHtml (sb: StringBuilder) (history: History) (run: RunHeader) =
        sb.Append("<div class=\"status-line\">") |> ignore
        sb.AppendFormat("<span class=\"status {0}\" id=\"run-status\">{1}</span>", statusTone run.Status, esc (statusLabel run.Status)) |> ignore
        if run.EvaluationSkipped then sb.Append("<span class=\"status warn\">evaluation skipped</span>") |> ignore
        sb.AppendFormat("<span class=\"reason\">{0}</span></div>\n", esc run.Reason) |> ignore
        sb.Append("<div class=\"stats\">\n") |> ignore
        for name, value, how in run.Headline do statCard sb "headline" name value "" how
        if run.Headline.IsEmpty && run.EvaluationSkipped then
            statCard sb "headline" "test metrics" "not measured" "the evaluation was skipped" ""
        let recorded = match history.Epochs with [] -> 0L | es -> (List.last es).Step
        let partSteps = run.Steps - recorded
        statCard sb "" "epochs" (sprintf "%d of %d" run.EpochsTrained run.EpochsPlanned)
            (if partSteps > 0L then sprintf "+ %s steps of epoch %d" (partSteps.ToString("N0", CultureInfo.InvariantCulture)) (run.EpochsTrained + 1) else "") ""
        statCard sb "" "steps" (run.Steps.ToString("N0", CultureInfo.InvariantCulture)) "" ""
        statCard sb "" "training time" (if run.Seconds = 0.0 && run.TimeNote <> "" then "not recorded" else duration run.Seconds) run.TimeNote ""
        sb.Append("</div>\n") |> ignore


    /// The loss charts' smoothing slider and log-scale toggle (`curve-controls`), in plain JS (the page is offline).
    /// Smoothing is TensorBoard's: an exponential moving average with weight w, debiased at the start
    /// (s_t = w s_(t-1) + (1 - w) y_t over the finite values, shown as s_t / (1 - w^n) after n of them), drawn as a
    /// "smoothed" trace over the faded per-step values; w = 0 shows the raw values only. The log scale applies to a
    /// chart whose values are all positive; the others stay linear and the hint says how many.
    let private curvesJs = """
(function () {
  var bar = document.getElementById('curve-controls');
  if (!bar || typeof Plotly === 'undefined') return;
  var range = bar.querySelector('input.smoothing');
  var out = bar.querySelector('output');
  var logBox = bar.querySelector('input.log-scale');
  var hint = bar.querySelector('.hint');
  function ema(ys, w) {
    var last = 0, n = 0, res = [];
    for (var k = 0; k < ys.length; k++) {
      var y = ys[k];
      if (typeof y !== 'number' || !isFinite(y)) { res.push(y); continue; }
      last = last * w + (1 - w) * y; n++;
      res.push(w === 0 ? y : last / (1 - Math.pow(w, n)));
    }
    return res;
  }
  function charts() {
    return Array.prototype.filter.call(document.querySelectorAll('.chart[id^="loss-"]'), function (gd) { return gd.data; });
  }
  function indexOf(gd, name) {
    for (var k = 0; k < gd.data.length; k++) if (gd.data[k].name === name) return k;
    return -1;
  }
  function smooth() {
    var w = parseFloat(range.value);
    out.textContent = w.toFixed(2);
    charts().forEach(function (gd) {
      var i = indexOf(gd, 'per step');
      if (i < 0) return;
      var raw = gd.data[i];
      var ys = ema(Array.prototype.slice.call(raw.y), w);
      var j = indexOf(gd, 'smoothed');
      if (j < 0) {
        Plotly.addTraces(gd, { type: 'scatter', mode: 'lines', name: 'smoothed', x: raw.x, y: ys, visible: w > 0,
          customdata: raw.customdata, line: { color: (raw.line && raw.line.color) || '#4e79a7', width: 2 },
          hovertemplate: 'step %{x}<br>epoch %{customdata}<br>smoothed %{y:.5g}<extra>smoothed</extra>' });
      } else {
        Plotly.restyle(gd, { y: [ys], visible: w > 0 }, [j]);
      }
      Plotly.restyle(gd, { opacity: w > 0 ? 0.25 : 0.55 }, [i]);
    });
  }
  function positive(gd) {
    return gd.data.every(function (t) {
      return Array.prototype.every.call(t.y || [], function (y) { return !(typeof y === 'number' && isFinite(y)) || y > 0; });
    });
  }
  function scale() {
    var linear = 0;
    charts().forEach(function (gd) {
      var log = logBox.checked && positive(gd);
      if (logBox.checked && !log) linear++;
      Plotly.relayout(gd, { 'yaxis.type': log ? 'log' : 'linear', 'yaxis.autorange': true });
    });
    hint.textContent = linear > 0 ? linear + (linear === 1 ? ' chart has' : ' charts have') + ' values \u2264 0 and stays linear' : '';
  }
  function start() {
    range.addEventListener('input', smooth);
    logBox.addEventListener('change', scale);
    smooth();
    if (logBox.checked) scale();
  }
  // The charts draw when the document has loaded (see Charts.toHtmlFragment); this listener comes after theirs.
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start); else start();
})();
"""

    /// Upscale factor for a frame: integer (so pixels stay square blocks), about 3x, never wider than ~760 px.
    let private scaleFor (width: int) = max 1 (min 4 (760 / max 1 width))

    let private imageFrame (sb: StringBuilder) (label: string, path: string) =
        let bytes = if File.Exists path then Some (File.ReadAllBytes path) else None
        match bytes with
        | Some b ->
            let size =
                match pngWidth b with
                | Some w -> sprintf " width=\"%d\"" (w * scaleFor w)
                | None -> ""
            sb.AppendFormat("<img alt=\"{0}\"{1} src=\"data:image/png;base64,", esc label, size) |> ignore
            sb.Append(Convert.ToBase64String b).Append("\">") |> ignore
        | None ->
            // A report is written at the end of a long run; a missing picture must not lose the rest of the page.
            sb.AppendFormat("<div class=\"missing\">Missing image file: {0}</div>", esc path) |> ignore

    let private textFrame (sb: StringBuilder) (_: string, text: string) =
        sb.AppendFormat("<pre class=\"sample\">{0}</pre>", esc text) |> ignore

    /// A card with a title, a caption and frames of which one shows at a time, picked with a slider (`sliderJs`);
    /// `frameBody` writes a frame's content.
    let private seriesCard (sb: StringBuilder) (title: string) (caption: string) (frames: (string * 'Frame) list)
                           (emptyText: string) (frameBody: StringBuilder -> string * 'Frame -> unit) =
        sb.Append("<div class=\"card series\">\n") |> ignore
        sb.AppendFormat("<h3>{0}</h3>\n", esc title) |> ignore
        if not (String.IsNullOrWhiteSpace caption) then
            sb.AppendFormat("<p class=\"caption\">{0}</p>\n", esc caption) |> ignore
        if frames.IsEmpty then sb.AppendFormat("<p class=\"empty\">{0}</p>\n", esc emptyText) |> ignore
        else
            sb.Append("<div class=\"stage\">\n") |> ignore
            let last = frames.Length - 1
            frames |> List.iteri (fun i (label, frame) ->
                sb.AppendFormat("<figure class=\"frame\" data-label=\"{0}\"{1}>", esc label, (if i = last then "" else " hidden")) |> ignore
                frameBody sb (label, frame)
                sb.Append("</figure>\n") |> ignore)
            sb.Append("</div>\n") |> ignore
            let lastLabel = fst (List.last frames)
            let single = if frames.Length = 1 then " hidden" else ""
            sb.AppendFormat(
                "<div class=\"controls\"{0}><button type=\"button\" class=\"play\">&#9654; Play</button>"
                + "<input type=\"range\" min=\"0\" max=\"{1}\" value=\"{1}\" step=\"1\" aria-label=\"frame\">"
                + "<span class=\"frame-label\">{2}</span></div>\n",
                single, last, esc lastLabel) |> ignore
        sb.Append("</div>\n") |> ignore

    let private seriesHtml (sb: StringBuilder) (series: ImageSeries) =
        seriesCard sb series.Title series.Caption series.Frames "No images." imageFrame

    let private keyValueTable (sb: StringBuilder) (rows: (string * string) list) =
        if rows.IsEmpty then sb.Append("<p class=\"empty\">Nothing recorded.</p>\n") |> ignore
        else
            sb.Append("<table><tbody>\n") |> ignore
            for k, v in rows do
                sb.AppendFormat("<tr><td class=\"key\">{0}</td><td class=\"value\">{1}</td></tr>\n", esc k, esc v) |> ignore
            sb.Append("</tbody></table>\n") |> ignore

    /// The HTML id of the loss chart of the i-th term (0-based, terms sorted by name as in `History.termNames`).
    let lossChartId (i: int) = sprintf "loss-%d" i

    /// The HTML id of the i-th extra chart (0-based, in `Charts` order).
    let extraChartId (i: int) = sprintf "chart-%d" i

    /// The report as one self-contained HTML page: plotly.js inlined once, images embedded as data URIs, all text escaped.
    let render (content: ReportContent) : string =
        let history = content.History
        let terms = History.termNames history
        let sb = StringBuilder(4_000_000)
        let title = if String.IsNullOrWhiteSpace content.Title then "Run report" else content.Title
        sb.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
          .Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
          .AppendFormat("<meta name=\"generator\" content=\"Generative run report; plotly.js {0}\">\n", esc Charts.plotlyJsVersion)
          .AppendFormat("<title>{0}</title>\n", esc (if String.IsNullOrWhiteSpace content.ModelId then title else title + " · " + content.ModelId))
          .Append("<style>").Append(css).Append("</style>\n")
          // plotly.js goes first in the head so every chart's inline script below can call Plotly.newPlot at once.
          .Append(Charts.plotlyScriptTag()).Append("\n</head>\n<body>\n") |> ignore

        // ---- header ----
        sb.Append("<header class=\"top\"><div class=\"wrap\">\n<div class=\"eyebrow\">Run report</div>\n")
          .AppendFormat("<h1>{0}</h1>\n", esc title) |> ignore
        if not (String.IsNullOrWhiteSpace content.ModelId) then
            sb.AppendFormat("<span class=\"badge\" title=\"model id\">{0}</span>\n", esc content.ModelId) |> ignore
        if not (String.IsNullOrWhiteSpace content.Summary) then
            sb.AppendFormat("<p class=\"summary\">{0}</p>\n", esc content.Summary) |> ignore
        match content.Run with
        | Some run -> runHeaderHtml sb history run
        | None ->
            let stats =
                [ if not history.Steps.IsEmpty then
                      "steps", string (history.Steps |> List.map (fun s -> s.Step) |> List.max)
                  if not history.Epochs.IsEmpty then
                      "epochs", string (history.Epochs |> List.map (fun e -> e.Epoch) |> List.max)
                      let seconds = history.Epochs |> List.sumBy (fun e -> e.Seconds)
                      if seconds > 0.0 then "training time", duration seconds
                      let lastEpoch = List.last history.Epochs
                      for t in terms do
                          match lastEpoch.Terms.TryFind t with
                          | Some v -> sprintf "%s (epoch %d)" t lastEpoch.Epoch, num v
                          | None -> () ]
            if not stats.IsEmpty then
                sb.Append("<div class=\"stats\">\n") |> ignore
                for k, v in stats do statCard sb "" k v "" ""
                sb.Append("</div>\n") |> ignore
        sb.Append("</div></header>\n") |> ignore

        // ---- table of contents: only sections that have something ----
        let sections =
            [ "losses", "Loss curves"
              if not content.ImageSeries.IsEmpty then "images", "Images"
              if not content.Charts.IsEmpty then "charts", "Charts"
              if not content.TextSeries.IsEmpty then "passages", "Text by epoch"
              if not content.Texts.IsEmpty then "text", "Text"
              if not content.Tables.IsEmpty then "tables", "Tables"
              "metrics", "Metrics"
              "config", "Config & environment" ]
        sb.Append("<nav class=\"toc\"><div class=\"wrap\">") |> ignore
        for id, name in sections do sb.AppendFormat("<a href=\"#{0}\">{1}</a>", id, esc name) |> ignore
        sb.Append("</div></nav>\n<main class=\"wrap\">\n") |> ignore

        // ---- loss curves ----
        sb.Append("<section id=\"losses\">\n<h2>Loss curves</h2>\n") |> ignore
        if terms.IsEmpty then sb.Append("<div class=\"card\"><p class=\"empty\">No steps recorded.</p></div>\n") |> ignore
        else
            sb.Append("<div class=\"curve-controls\" id=\"curve-controls\">")
              .Append("<label>Smoothing <input type=\"range\" class=\"smoothing\" min=\"0\" max=\"0.99\" step=\"0.01\" value=\"0.6\" aria-label=\"smoothing\"><output>0.60</output></label>")
              .Append("<label><input type=\"checkbox\" class=\"log-scale\"> log scale</label>")
              .Append("<span class=\"hint\"></span></div>\n")
              .Append("<div class=\"grid\">\n") |> ignore
            Charts.lossCurves content.EpochTest history
            |> List.iteri (fun i chart ->
                sb.Append("<div class=\"card\">\n").Append(Charts.toHtmlFragment (lossChartId i) chart).Append("\n</div>\n") |> ignore)
            sb.Append("</div>\n") |> ignore
        sb.Append("</section>\n") |> ignore

        // ---- image series ----
        if not content.ImageSeries.IsEmpty then
            sb.Append("<section id=\"images\">\n<h2>Images</h2>\n<div class=\"grid\">\n") |> ignore
            for s in content.ImageSeries do seriesHtml sb s
            sb.Append("</div>\n</section>\n") |> ignore

        // ---- text series ----
        if not content.TextSeries.IsEmpty then
            sb.Append("<section id=\"passages\">\n<h2>Text by epoch</h2>\n") |> ignore
            for t in content.TextSeries do seriesCard sb t.Title t.Caption t.Frames "No text." textFrame
            sb.Append("</section>\n") |> ignore

        // ---- extra charts ----
        if not content.Charts.IsEmpty then
            sb.Append("<section id=\"charts\">\n<h2>Charts</h2>\n<div class=\"grid\">\n") |> ignore
            content.Charts
            |> List.iteri (fun i (name, chart) ->
                sb.AppendFormat("<div class=\"card\">\n<h3>{0}</h3>\n", esc name)
                  .Append(Charts.toHtmlFragment (extraChartId i) chart).Append("\n</div>\n") |> ignore)
            sb.Append("</div>\n</section>\n") |> ignore

        // ---- what the model declared besides images and charts: text it wrote, tables ----
        // One section per kind, one card per item: a title, a caption, then the item's own body.
        let declaredSection (id: string) (heading: string) (items: 'T list) (titleOf: 'T -> string * string) (body: 'T -> unit) =
            if not items.IsEmpty then
                sb.AppendFormat("<section id=\"{0}\">\n<h2>{1}</h2>\n", id, esc heading) |> ignore
                for item in items do
                    let title, caption = titleOf item
                    sb.AppendFormat("<div class=\"card\">\n<h3>{0}</h3>\n<p class=\"caption\">{1}</p>\n", esc title, esc caption) |> ignore
                    body item
                    sb.Append("</div>\n") |> ignore
                sb.Append("</section>\n") |> ignore
        declaredSection "text" "Text" content.Texts (fun t -> t.Title, t.Caption) (fun t ->
            for sample in t.Samples do sb.AppendFormat("<pre class=\"sample\">{0}</pre>\n", esc sample) |> ignore)
        declaredSection "tables" "Tables" content.Tables (fun t -> t.Title, t.Caption) (fun t ->
            sb.Append("<table><thead><tr>") |> ignore
            for h in t.Header do sb.AppendFormat("<th>{0}</th>", esc h) |> ignore
            sb.Append("</tr></thead><tbody>\n") |> ignore
            for row in t.Rows do
                sb.Append("<tr>") |> ignore
                for cell in row do sb.AppendFormat("<td>{0}</td>", esc cell) |> ignore
                sb.Append("</tr>\n") |> ignore
            sb.Append("</tbody></table>\n") |> ignore)

        // ---- metrics ----
        sb.Append("<section id=\"metrics\">\n<h2>Metrics</h2>\n<div class=\"card\">\n") |> ignore
        if content.Metrics.IsEmpty then sb.Append("<p class=\"empty\">No metrics measured.</p>\n") |> ignore
        else
            sb.Append("<table><thead><tr><th>Metric</th><th>Value</th><th>How it was measured</th></tr></thead><tbody>\n") |> ignore
            for name, value, how in content.Metrics do
                // A number never wraps; a long metric name may (it is text), the explanation takes the rest.
                sb.AppendFormat("<tr><td class=\"metric\">{0}</td><td class=\"number\">{1}</td><td class=\"how\">{2}</td></tr>\n",
                                esc name, esc value, esc how) |> ignore
            sb.Append("</tbody></table>\n") |> ignore
        sb.Append("</div>\n</section>\n") |> ignore

        // ---- config and environment ----
        sb.Append("<section id=\"config\">\n<div class=\"grid\">\n<div>\n<h2>Config</h2>\n<div class=\"card\">\n") |> ignore
        keyValueTable sb content.Config
        sb.Append("</div>\n</div>\n<div>\n<h2>Environment</h2>\n<div class=\"card\">\n") |> ignore
        keyValueTable sb content.Environment
        sb.Append("</div>\n</div>\n</div>\n</section>\n</main>\n") |> ignore

        sb.AppendFormat(
            "<footer><div class=\"wrap\">Generated by Generative. Self-contained: plotly.js {0} and every image are embedded; the page works offline.</div></footer>\n",
            esc Charts.plotlyJsVersion)
          .Append("<script type=\"text/javascript\">").Append(sliderJs).Append(curvesJs).Append("</script>\n</body>\n</html>\n") |> ignore
        sb.ToString()

    /// Renders the report and writes it to `path` as UTF-8 (atomically: temporary file, then rename; creates the folder).
    let write (path: string) (content: ReportContent) : unit =
        Images.writeAtomic path (UTF8Encoding(false).GetBytes(render content))
