namespace Generative

open System
open System.IO
open System.Text.Json
open System.Text.Json.Nodes
open Plotly.NET
open Plotly.NET.LayoutObjects
open Plotly.NET.TraceObjects

/// What the loss charts add to the curves of the terms measured after each epoch on part of the test set (terms
/// "test <metric>", `RunModel.EpochTest`): what part they measure, and the end-of-run value of each metric on the
/// whole test set, drawn as a star at the last epoch.
type EpochTestMarks =
    { /// The part of the test set measured after each epoch, e.g. "first 1000 test images".
      Sample: string
      /// The end-of-run value on the whole test set of each "test ..." term's metric, by term.
      Finals: Map<string, float>
      /// What the end-of-run values were measured on, e.g. "all 10000 test images".
      FinalSample: string }

/// Plotly.NET charts of histories and point clouds, and the HTML pieces to put them in a self-contained page.
[<RequireQualifiedAccess>]
module Charts =

    /// The plotly.js version Plotly.NET 6 ships (and inlines with `PlotlyJSReference.Full`).
    let plotlyJsVersion : string = Globals.PLOTLYJS_VERSION

    // Plotly.NET.dll carries plotly.min.js as the embedded resource "Plotly.NET.plotly-<version>.min.js"; it is the
    // text Plotly.NET itself inlines (InternalUtils.getFullPlotlyJS, which is not public), so read the resource directly.
    let private plotlyJsText =
        lazy (
            let asm = typeof<GenericChart>.Assembly
            let expected = sprintf "Plotly.NET.plotly-%s.min.js" plotlyJsVersion
            let name =
                asm.GetManifestResourceNames()
                |> Array.tryFind ((=) expected)
                |> Option.orElse (
                    asm.GetManifestResourceNames()
                    |> Array.tryFind (fun n -> n.StartsWith("Plotly.NET.plotly-", StringComparison.Ordinal) && n.EndsWith(".min.js", StringComparison.Ordinal)))
            match name with
            | None -> raise (InvalidOperationException(sprintf "Plotly.NET.dll has no embedded %s resource." expected))
            | Some n ->
                use stream = asm.GetManifestResourceStream n
                use reader = new StreamReader(stream)
                reader.ReadToEnd())

    /// The full plotly.min.js text (about 3.6 MB) embedded in Plotly.NET.dll, for inlining once in an offline page.
    let plotlyJs () : string = plotlyJsText.Force()

    /// A `<script>` element holding plotly.js, to be put once in a page's head before any chart fragment.
    let plotlyScriptTag () : string =
        // "</script" inside the text would end the element early; the shipped file has none, but stay safe.
        "<script type=\"text/javascript\">" + plotlyJs().Replace("</script", "<\\/script") + "</script>"

    /// A `<div>` + `<script>` drawing `chart` into a new div with id `id`, referencing a plotly.js loaded elsewhere in the
    /// page (the equivalent of `GenericChart.toChartHTML` with `PlotlyJSReference.NoReference`). The figure's fixed width
    /// is dropped so the chart fills its container and follows resizes; `<`, `>` and `&` in the JSON are escaped as
    /// \u003C... so text such as a legend entry "</script>" cannot end the script early.
    let toHtmlFragment (id: string) (chart: GenericChart) : string =
        if String.IsNullOrWhiteSpace id || id |> Seq.exists (fun ch -> not (Char.IsLetterOrDigit ch || ch = '-' || ch = '_')) then
            Errors.invalidArg "id" "a non-empty HTML id of letters, digits, '-' or '_'" id
        // toJson gives {"data", "layout", "config"}; toFigureJson would leave the config out.
        let figure = JsonNode.Parse(GenericChart.toJson chart).AsObject()
        match figure.["layout"] with
        | :? JsonObject as layout ->
            layout.Remove "width" |> ignore
            layout.["autosize"] <- JsonValue.Create true
        | _ -> ()
        let config =
            match figure.["config"] with
            | :? JsonObject as o -> o
            | _ -> JsonObject()
        config.["responsive"] <- JsonValue.Create true
        config.["displaylogo"] <- JsonValue.Create false
        // The default JavaScriptEncoder escapes HTML-sensitive characters, which is exactly what an inline script needs.
        let options = JsonSerializerOptions(WriteIndented = false)
        let data = figure.["data"] |> Option.ofObj |> Option.map (fun n -> n.ToJsonString options) |> Option.defaultValue "[]"
        let layout = figure.["layout"] |> Option.ofObj |> Option.map (fun n -> n.ToJsonString options) |> Option.defaultValue "{}"
        // Drawing waits for the whole page: a div measured while the page is still being parsed can be wider than its
        // final place in a grid, and plotly's "responsive" only follows window resizes, not later layout changes.
        sprintf "<div class=\"chart\" id=\"%s\"></div>\n<script type=\"text/javascript\">(function () {\n  var draw = function () { Plotly.newPlot(\"%s\", %s, %s, %s); };\n  if (document.readyState === \"loading\") document.addEventListener(\"DOMContentLoaded\", draw); else draw();\n})();</script>"
            id id data layout (config.ToJsonString options)

    // ---- styling shared by every chart, so the report looks consistent ----

    let private gridColour = Color.fromString "#e5e7eb"
    let private textColour = Color.fromString "#374151"

    /// Colours for terms and classes (Tableau 10), readable on white and distinct from each other.
    let palette : string[] =
        [| "#4e79a7"; "#f28e2b"; "#e15759"; "#76b7b2"; "#59a14f"; "#edc948"; "#b07aa1"; "#ff9da7"; "#9c755f"; "#bab0ac" |]

    let private axis (title: string) =
        LinearAxis.init (
            Title = Title.init (Text = title),
            ShowGrid = true, GridColor = gridColour, ZeroLine = false,
            ShowLine = true, LineColor = Color.fromString "#9ca3af", Ticks = StyleParam.TickOptions.Outside,
            TickColor = Color.fromString "#9ca3af", AutoMargin = StyleParam.TickAutoMargin.Height)

    /// An axis of class names: categories, so every class gets its label (names such as "0", "1" would otherwise make
    /// a numeric axis, which labels only every other one).
    let private classAxis (title: string) (tickAngle: int option) =
        LinearAxis.init (
            ?Title = (if title = "" then None else Some (Title.init (Text = title))),
            AxisType = StyleParam.AxisType.Category, ?TickAngle = tickAngle,
            ShowLine = true, LineColor = Color.fromString "#9ca3af")

    let private style (title: string) (height: int) (chart: GenericChart) =
        chart
        |> Chart.withTemplate ChartTemplates.lightMirrored
        |> Chart.withTitle (Title.init (Text = title, X = 0.0, XAnchor = StyleParam.XAnchorPosition.Left, Font = Font.init (Size = 15.0)))
        |> Chart.withLayout (
            Layout.init (
                Height = height,
                PaperBGColor = Color.fromString "white",
                PlotBGColor = Color.fromString "white",
                Font = Font.init (Family = StyleParam.FontFamily.Custom "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif", Size = 12.0, Color = textColour),
                Margin = Margin.init (Left = 64, Right = 24, Top = 84, Bottom = 50),
                HoverMode = StyleParam.HoverMode.Closest))
                // Title top left, legend just above the plot on the right, the mode bar above the legend: nothing overlaps.
        |> Chart.withLegendStyle (Orientation = StyleParam.Orientation.Horizontal, X = 1.0, XAnchor = StyleParam.XAnchorPosition.Right, Y = 1.01, YAnchor = StyleParam.YAnchorPosition.Bottom)

    /// Sets a raw plotly trace attribute that Plotly.NET's chart functions do not expose.
    let private setTrace (name: string) (value: obj) (chart: GenericChart) =
        chart |> GenericChart.mapTrace (fun t -> t.SetProperty(name, value); t)

    let private invariant (v: float) = v.ToString("G4", Globalization.CultureInfo.InvariantCulture)

    /// One chart per named term of the history (sorted by name): the per-step values as a thin line and the per-epoch
    /// means as markers (at the last step of each epoch), on a shared step axis. Hovering shows step, epoch and value.
    /// A term measured at each epoch's end (validation "val ...", per-epoch test "test ...") has only the markers; a
    /// "test ..." term also gets, from `epochTest`, the part of the test set it measures and its metric's end-of-run
    /// value on the whole test set as a star.
    let lossCurves (epochTest: EpochTestMarks option) (history: History) : GenericChart list =
        History.termNames history
        |> List.mapi (fun i term ->
            let colour = palette.[i % palette.Length]
            let epochOfStep = history.Steps |> List.map (fun s -> s.Step, s.Epoch) |> dict
            let steps = History.stepSeries term history
            let stepTrace =
                Chart.Line (
                    x = (steps |> List.map fst), y = (steps |> List.map snd), Name = "per step",
                    LineColor = Color.fromString colour, LineWidth = 1.0, Opacity = 0.55)
                |> setTrace "customdata" (steps |> List.map (fun (s, _) -> match epochOfStep.TryGetValue s with | true, e -> e | _ -> 0) |> Array.ofList)
                |> setTrace "hovertemplate" "step %{x}<br>epoch %{customdata}<br>value %{y:.5g}<extra>per step</extra>"
            let epochs =
                history.Epochs |> List.choose (fun e -> e.Terms.TryFind term |> Option.map (fun v -> e.Step, e.Epoch, v))
            let testMarks = if term.StartsWith "test " then epochTest else None
            // Validation and test terms are measured once at each epoch's end, not averaged over its steps.
            let epochName, epochHover, lastWord =
                if term.StartsWith "val " then "end of epoch (validation)", "after epoch %{customdata}", "after epoch"
                elif term.StartsWith "test " then
                    sprintf "each epoch, %s" (testMarks |> Option.map (fun m -> m.Sample) |> Option.defaultValue "part of the test set"),
                    "after epoch %{customdata}", "after epoch"
                else "epoch mean", "epoch %{customdata} mean", "epoch"
            let epochTrace =
                Chart.Line (
                    x = (epochs |> List.map (fun (s, _, _) -> s)), y = (epochs |> List.map (fun (_, _, v) -> v)),
                    Name = epochName, ShowMarkers = true, LineColor = Color.fromString colour, LineWidth = 1.5,
                    LineDash = StyleParam.DrawingStyle.Dot,
                    MarkerColor = Color.fromString colour,
                    Marker = Marker.init (Size = 8, Outline = Line.init (Color = Color.fromString "white", Width = 1.5)))
                |> setTrace "customdata" (epochs |> List.map (fun (_, e, _) -> e) |> Array.ofList)
                |> setTrace "hovertemplate" (epochHover + "<br>step %{x}<br>value %{y:.5g}<extra></extra>")
            let final =
                match testMarks, List.tryLast epochs with
                | Some marks, Some (lastStep, _, _) ->
                    marks.Finals.TryFind term |> Option.filter Double.IsFinite |> Option.map (fun v -> lastStep, v, marks.FinalSample)
                | _ -> None
            let finalTrace =
                final |> Option.map (fun (x, v, sample) ->
                    Chart.Point (
                        x = [ x ], y = [ v ], Name = sprintf "end of run, %s" sample,
                        MarkerColor = Color.fromString colour,
                        Marker = Marker.init (Size = 15, Symbol = StyleParam.MarkerSymbol.Star, Outline = Line.init (Color = Color.fromString "white", Width = 1.0)))
                    |> setTrace "hovertemplate" "end of run<br>value %{y:.5g}<extra></extra>")
            let traces = (if steps.IsEmpty then [] else [ stepTrace ]) @ (if epochs.IsEmpty then [] else [ epochTrace ]) @ Option.toList finalTrace
            let lastText =
                match epochs, steps with
                | _ :: _, _ ->
                    let _, e, v = List.last epochs
                    match final with
                    | Some (_, f, _) -> sprintf " (epoch %d: %s; end %s)" e (invariant v) (invariant f)
                    | None -> sprintf " (%s %d%s %s)" lastWord e (if lastWord = "epoch" then " mean" else "") (invariant v)
                | [], _ :: _ -> sprintf " (last %s)" (invariant (snd (List.last steps)))
                | [], [] -> ""
            Chart.combine traces
            |> style (term + lastText) 360
            |> Chart.withXAxis (axis "step")
            |> Chart.withYAxis (axis term))

    /// One chart with every term's per-epoch mean against the epoch number (useful when terms share a scale).
    let epochCurves (history: History) : GenericChart =
        History.termNames history
        |> List.mapi (fun i term ->
            let series = History.epochSeries term history
            Chart.Line (
                x = (series |> List.map fst), y = (series |> List.map snd), Name = term, ShowMarkers = true,
                LineColor = Color.fromString palette.[i % palette.Length], MarkerColor = Color.fromString palette.[i % palette.Length])
            // The trace name (the term) shows in the hover's side box, so user text never enters the template.
            |> setTrace "hovertemplate" "epoch %{x}<br>mean %{y:.5g}")
        |> Chart.combine
        |> style "Epoch means" 360
        |> Chart.withXAxis (axis "epoch")
        |> Chart.withYAxis (axis "mean value")

    /// A point cloud coloured by label: a 3-D scatter for 3-d points, a 2-D scatter for 2-d points. `labels.[i]` is the
    /// class of `points.[i]`; class k is named `classNames.[k]` when there is such a name, "class k" otherwise. One
    /// legend entry per class, so classes can be hidden by clicking.
    let latentScatter (points: float[][]) (labels: int[]) (classNames: string list) : GenericChart =
        if isNull points || points.Length = 0 then Errors.invalidArg "points" "at least one point" "none"
        if isNull labels || labels.Length <> points.Length then
            Errors.invalidArg "labels" (sprintf "one label per point (%d)" points.Length) (if isNull labels then "null" else string labels.Length)
        let dim = if isNull points.[0] then 0 else points.[0].Length
        if dim <> 2 && dim <> 3 then Errors.invalidArg "points" "2-d or 3-d points" (sprintf "%d-d points" dim)
        match points |> Array.tryFindIndex (fun p -> isNull p || p.Length <> dim) with
        | Some i -> Errors.invalidArg "points" (sprintf "every point %d-d" dim) (sprintf "point %d of another size" i)
        | None -> ()
        let names = Array.ofList classNames
        let nameOf k = if k >= 0 && k < names.Length then names.[k] else sprintf "class %d" k
        let traces =
            Array.zip points labels
            |> Array.groupBy snd
            |> Array.sortBy fst
            |> Array.map (fun (k, members) ->
                let ps = members |> Array.map fst
                let colour = Color.fromString palette.[((k % palette.Length) + palette.Length) % palette.Length]
                let name = nameOf k
                if dim = 3 then
                    Chart.Scatter3D (
                        xyz = (ps |> Array.map (fun p -> p.[0], p.[1], p.[2])), mode = StyleParam.Mode.Markers, Name = name,
                        MarkerColor = colour, Marker = Marker.init (Size = 3, Opacity = 0.8))
                else
                    Chart.Point (x = (ps |> Array.map (fun p -> p.[0])), y = (ps |> Array.map (fun p -> p.[1])), Name = name,
                                 MarkerColor = colour, Marker = Marker.init (Size = 5, Opacity = 0.7))
                // The class name shows in the hover's side box, so user text never enters the template.
                |> setTrace "hovertemplate" (if dim = 3 then "(%{x:.3g}, %{y:.3g}, %{z:.3g})" else "(%{x:.3g}, %{y:.3g})"))
        let chart =
            Chart.combine traces
            |> style (sprintf "Latent codes (%d-d)" dim) 520
            // Up to ten classes wrap a horizontal legend into the title, so list them down the right side instead.
            |> Chart.withLegendStyle (Orientation = StyleParam.Orientation.Vertical, X = 1.02, XAnchor = StyleParam.XAnchorPosition.Left, Y = 1.0, YAnchor = StyleParam.YAnchorPosition.Top)
            |> Chart.withMarginSize (Top = 50, Right = 10)
        if dim = 3 then
            let sceneAxis (t: string) = LinearAxis.init (Title = Title.init (Text = t), GridColor = gridColour)
            let scene = Scene.init (XAxis = sceneAxis "z1", YAxis = sceneAxis "z2", ZAxis = sceneAxis "z3")
            // Plotly's default camera (eye at 1.25, 1.25, 1.25) fills the card so tightly that the axis titles and tick
            // labels at the box's near corners are cut off; a camera farther out keeps the whole box inside.
            scene.SetProperty("camera", {| eye = {| x = 1.7; y = 1.7; z = 1.1 |} |})
            chart |> Chart.withScene scene
        else chart |> Chart.withXAxis (axis "z1") |> Chart.withYAxis (axis "z2")

    /// Several terms on one chart (e.g. a discriminator's mean output on real and on generated input): each term's
    /// per-step values as a line, and its validation value ("val <term>") after each epoch as markers when recorded.
    let comparedTerms (title: string) (terms: string list) (history: History) : GenericChart =
        let lastStepOf = history.Epochs |> List.map (fun e -> e.Epoch, e.Step) |> dict
        terms
        |> List.mapi (fun i term ->
            let colour = Color.fromString palette.[i % palette.Length]
            let steps = History.stepSeries term history
            let validation =
                History.epochSeries ("val " + term) history
                |> List.choose (fun (epoch, v) -> match lastStepOf.TryGetValue epoch with | true, s -> Some (s, epoch, v) | _ -> None)
            [ if not steps.IsEmpty then
                  Chart.Line (x = (steps |> List.map fst), y = (steps |> List.map snd), Name = term, LineColor = colour, LineWidth = 1.2)
                  |> setTrace "hovertemplate" "step %{x}<br>%{y:.5g}"
              if not validation.IsEmpty then
                  Chart.Line (
                      x = (validation |> List.map (fun (s, _, _) -> s)), y = (validation |> List.map (fun (_, _, v) -> v)),
                      Name = term + " (validation)", ShowMarkers = true, LineColor = colour, LineDash = StyleParam.DrawingStyle.Dot,
                      MarkerColor = colour, Marker = Marker.init (Size = 8, Outline = Line.init (Color = Color.fromString "white", Width = 1.5)))
                  |> setTrace "customdata" (validation |> List.map (fun (_, e, _) -> e) |> Array.ofList)
                  |> setTrace "hovertemplate" "end of epoch %{customdata}<br>%{y:.5g}" ])
        |> List.concat
        |> Chart.combine
        |> style title 360
        |> Chart.withXAxis (axis "step")
        |> Chart.withYAxis (axis "value")

    /// One chart per term measured on both training and validation data (epoch terms `t` and `val t`): the training
    /// epoch mean and the validation value against the epoch, so over-fitting shows as the two lines parting.
    let trainingValidationCurves (history: History) : (string * GenericChart) list =
        let names = History.termNames history |> Set.ofList
        [ for term in names do
            if not (term.StartsWith "val ") && names.Contains("val " + term) then
                let line (name: string) (series: (int * float) list) (colour: string) =
                    Chart.Line (
                        x = (series |> List.map fst), y = (series |> List.map snd), Name = name, ShowMarkers = true,
                        LineColor = Color.fromString colour, MarkerColor = Color.fromString colour)
                    |> setTrace "hovertemplate" "epoch %{x}<br>%{y:.5g}"
                let chart =
                    Chart.combine
                        [ line "training (epoch mean)" (History.epochSeries term history) palette.[0]
                          line "validation (end of epoch)" (History.epochSeries ("val " + term) history) palette.[1] ]
                    |> style (sprintf "%s: training and validation" term) 360
                    |> Chart.withXAxis (axis "epoch")
                    |> Chart.withYAxis (axis term)
                yield sprintf "Training and validation %s" term, chart ]

    let private classNameOf (names: string[]) k = if k < names.Length then names.[k] else sprintf "class %d" k

    /// An interactive confusion-matrix heatmap: rows are true classes, columns predicted classes, each cell the count
    /// (hover shows the count and its share of the true class). `counts.[t].[p]` as in ClassificationReport.
    let confusionHeatmap (counts: int[][]) (classNames: string list) : GenericChart =
        if isNull counts || counts.Length = 0 || counts |> Array.exists (fun r -> isNull r || r.Length <> counts.Length) then
            Errors.invalidArg "counts" "a non-empty square matrix" (if isNull counts then "null" else sprintf "%d rows" counts.Length)
        let names = Array.ofList classNames
        let labels = Array.init counts.Length (classNameOf names)
        let shares =
            counts |> Array.map (fun row ->
                let total = Array.sum row
                row |> Array.map (fun c -> if total = 0 then 0.0 else 100.0 * float c / float total))
        // Plotly draws the first row at the bottom; reverse so the first class is on top, as a matrix is read.
        Chart.Heatmap (
            zData = (counts |> Array.rev |> Array.map (Array.map float)), X = labels, Y = Array.rev labels,
            ColorScale = StyleParam.Colorscale.Custom [ 0.0, Color.fromString "#f7fbff"; 0.5, Color.fromString "#6baed6"; 1.0, Color.fromString "#08306b" ])
        |> setTrace "customdata" (shares |> Array.rev)
        |> setTrace "texttemplate" "%{z}"
        |> setTrace "hovertemplate" "true %{y}<br>predicted %{x}<br>%{z} images (%{customdata:.1f}% of the class)<extra></extra>"
        |> style "Confusion matrix (test set)" 560
        |> Chart.withXAxis (classAxis "predicted class" (Some -30))
        |> Chart.withYAxis (classAxis "true class" None)

    /// Per-class precision and recall as grouped bars (NaN, a class never predicted or absent, is left out).
    let perClassScores (precision: float[]) (recall: float[]) (classNames: string list) : GenericChart =
        if isNull precision || isNull recall || precision.Length <> recall.Length then
            Errors.invalidArg "recall" "one value per class, as many as precision" (if isNull recall then "null" else string recall.Length)
        let names = Array.ofList classNames
        let bars (name: string) (values: float[]) colour =
            let kept = values |> Array.mapi (fun k v -> classNameOf names k, v) |> Array.filter (fun (_, v) -> not (Double.IsNaN v))
            Chart.Column (values = (kept |> Array.map snd), Keys = (kept |> Array.map fst), Name = name, MarkerColor = Color.fromString colour)
            |> setTrace "hovertemplate" "%{x}<br>%{y:.4f}"
        Chart.combine [ bars "precision" precision palette.[0]; bars "recall" recall palette.[1] ]
        |> style "Precision and recall per class (test set)" 400
        |> Chart.withXAxis (classAxis "" (Some -30))
        |> Chart.withYAxis (axis "score")
    /// A bar chart of counts per class (e.g. the predicted classes of generated images: a mode-collapse detector),
    /// with a dashed line at the count a perfectly balanced set would have.
    let classHistogram (title: string) (counts: int[]) (classNames: string list) : GenericChart =
        if isNull counts || counts.Length = 0 then Errors.invalidArg "counts" "at least one class" "none"
        let names = Array.ofList classNames
        let labels = counts |> Array.mapi (fun k _ -> if k < names.Length then names.[k] else sprintf "class %d" k)
        let balanced = float (Array.sum counts) / float counts.Length
        let bars =
            Chart.Column (values = counts, Keys = labels, Name = "count", MarkerColor = Color.fromString palette.[0])
            |> setTrace "hovertemplate" "%{x}: %{y}<extra></extra>"
        let level =
            Chart.Line (x = labels, y = Array.create labels.Length balanced, Name = "balanced", LineColor = Color.fromString "#9ca3af",
                        LineDash = StyleParam.DrawingStyle.Dash)
        Chart.combine [ bars; level ]
        |> style title 360
        |> Chart.withXAxis (classAxis "class" None)
        |> Chart.withYAxis (axis "count")
