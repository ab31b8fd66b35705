module Generative.Tests.Reports.ChartsTests

open System
open System.Text.Json.Nodes
open Expecto
open Generative.Tests
open Plotly.NET
open Generative
open Generative.Tests.Reports.ImagesTests

/// A small history: 2 epochs of 3 steps with terms "a" and "b" ("b" only per epoch in epoch 2).
let smallHistory =
    { Steps =
        [ for s in 1L .. 6L ->
            { Step = s; Epoch = (if s <= 3L then 1 else 2); Terms = Map [ "a", 1.0 / float s; "b", 2.0 / float s ] } ]
      Epochs =
        [ { Epoch = 1; Step = 3L; Terms = Map [ "a", 0.6; "b", 1.2 ]; Seconds = 1.5 }
          { Epoch = 2; Step = 6L; Terms = Map [ "a", 0.2; "b", 0.4 ]; Seconds = 1.4 } ] }

let private figure (chart: GenericChart) = JsonNode.Parse(GenericChart.toJson chart)

[<Tests>]
let tests =
    testList "Reports.Charts" [
        test "plotly.js comes from Plotly.NET's embedded resource" {
            let js = Charts.plotlyJs ()
            Expect.isGreaterThan js.Length 1_000_000 "the full minified library"
            Expect.stringContains js "Plotly" "looks like plotly.js"
            Expect.equal Charts.plotlyJsVersion "2.28.0" "Plotly.NET 6.0.0 ships plotly.js 2.28.0"
            Expect.isFalse (js.Contains "</script") "safe to inline"
        }

        test "lossCurves gives one chart per term with per-step and per-epoch traces" {
            let charts = Charts.lossCurves None smallHistory
            Expect.equal charts.Length 2 "terms a and b"
            let f = figure charts.Head
            let data = f.["data"].AsArray()
            Expect.equal data.Count 2 "per-step line and epoch means"
            Expect.sequenceEqual (data.[0].["x"].AsArray() |> Seq.map (fun n -> n.GetValue<int64>())) [ 1L .. 6L ] "steps on x"
            Expect.sequenceEqual (data.[0].["customdata"].AsArray() |> Seq.map (fun n -> n.GetValue<int>())) [ 1; 1; 1; 2; 2; 2 ] "epoch of each step"
            Expect.stringContains (data.[0].["hovertemplate"].GetValue<string>()) "epoch %{customdata}" "hover shows the epoch"
            Expect.sequenceEqual (data.[1].["x"].AsArray() |> Seq.map (fun n -> n.GetValue<int64>())) [ 3L; 6L ] "epoch means at the epoch's last step"
            Expect.stringContains (f.["layout"].["xaxis"].ToJsonString()) "step" "x axis titled step"
            Expect.stringContains (f.["layout"].["title"].ToJsonString()) "a" "titled by term"
        }

        test "a per-epoch test term's chart says what part it measures and stars the end-of-run value; validation terms are not epoch means" {
            let history =
                { Steps = [ for i in 1 .. 4 -> { Step = int64 i; Epoch = (i + 1) / 2; Terms = Map [ "loss", float i ] } ]
                  Epochs =
                    [ for e in 1 .. 2 ->
                        { Epoch = e; Step = int64 (2 * e); Seconds = 1.0
                          Terms = Map [ "loss", 1.0; "val loss", 2.0; "test MSE per pixel", 0.5 / float e ] } ] }
            let marks = { Sample = "first 8 test images"; Finals = Map [ "test MSE per pixel", 0.2 ]; FinalSample = "all 16 test images" }
            let charts = Charts.lossCurves (Some marks) history
            Expect.equal charts.Length 3 "loss, test MSE per pixel, val loss"
            let traces (i: int) = (figure charts.[i]).["data"].AsArray() |> List.ofSeq
            let names (i: int) = traces i |> List.map (fun t -> t.["name"].GetValue<string>())
            Expect.equal (names 1) [ "each epoch, first 8 test images"; "end of run, all 16 test images" ] "what each trace measures"
            let star = (traces 1).[1]
            Expect.equal [ star.["x"].[0].GetValue<int64>(); ] [ 4L ] "at the last epoch's step"
            Expect.equal (star.["y"].[0].GetValue<float>()) 0.2 "the end-of-run value"
            Expect.stringContains ((figure charts.[1]).["layout"].["title"].ToJsonString()) "end 0.2" "the title gives it"
            Expect.equal (names 2) [ "end of epoch (validation)" ] "a validation value is not an epoch mean"
            Expect.equal (names 0) [ "per step"; "epoch mean" ] "training terms unchanged"
            let unmarked = Charts.lossCurves None history
            Expect.equal ((figure unmarked.[1]).["data"].AsArray().Count) 1 "without marks, no star"
        }

        test "an empty history gives no charts" {
            Expect.isEmpty (Charts.lossCurves None History.empty) "no terms"
        }

        test "toHtmlFragment references no plotly.js, fills its container and escapes script-ending text" {
            let chart = Chart.Line(x = [ 1; 2 ], y = [ 1.0; 2.0 ], Name = "</script><b>x</b>")
            let html = Charts.toHtmlFragment "c-1" chart
            Expect.stringStarts html "<div class=\"chart\" id=\"c-1\"></div>" "a div with the id"
            Expect.equal (html.Split("</script>").Length) 2 "only the fragment's own script end tag"
            Expect.isFalse (html.Contains "<b>") "no raw markup from data"
            Expect.isFalse (html.Contains "\"width\":600") "no fixed (default 600 px) width"
            Expect.isLessThan html.Length 20_000 "no library inside"
            throwsArg "id" (fun () -> Charts.toHtmlFragment "bad id\"" chart |> ignore)
        }

        test "latentScatter is 3-D for 3-d points and 2-D for 2-d points, one trace per class" {
            let rng = Random 1
            let labels = Array.init 30 (fun i -> i % 3)
            let pts3 = Array.init 30 (fun _ -> Array.init 3 (fun _ -> rng.NextDouble()))
            let f3 = figure (Charts.latentScatter pts3 labels [ "zero"; "one"; "two" ])
            let data3 = f3.["data"].AsArray()
            Expect.equal data3.Count 3 "three classes"
            Expect.equal (data3.[0].["type"].GetValue<string>()) "scatter3d" "3-D"
            Expect.equal (data3 |> Seq.map (fun t -> t.["name"].GetValue<string>()) |> List.ofSeq) [ "zero"; "one"; "two" ] "class names"
            let eye = f3.["layout"].["scene"].["camera"].["eye"]
            let distance = sqrt ([ "x"; "y"; "z" ] |> List.sumBy (fun k -> eye.[k].GetValue<float>() ** 2.0))
            Expect.isGreaterThan distance 2.4 "a camera farther out than plotly's default (2.17), so no axis label is cut off"
            let pts2 = pts3 |> Array.map (fun p -> p.[0..1])
            let f2 = figure (Charts.latentScatter pts2 labels [ "zero" ])
            let data2 = f2.["data"].AsArray()
            Expect.equal (data2.[0].["type"].GetValue<string>()) "scatter" "2-D"
            Expect.equal (data2.[2].["name"].GetValue<string>()) "class 2" "unnamed classes get a default name"
            throwsArg "points" (fun () -> Charts.latentScatter (pts3 |> Array.map (fun p -> Array.append p [| 0.0 |])) labels [] |> ignore)
            throwsArg "labels" (fun () -> Charts.latentScatter pts3 labels.[1..] [] |> ignore)
        }

        testTheory "class charts label every class: their class axis is categories" [ "histogram"; "scores"; "confusion" ] <| fun which ->
            let names = [ for k in 0 .. 9 -> string k ]
            let chart =
                match which with
                | "histogram" -> Charts.classHistogram "Predicted classes" (Array.init 10 id) names
                | "scores" -> Charts.perClassScores (Array.create 10 0.5) (Array.create 10 0.5) names
                | _ -> Charts.confusionHeatmap (Array.init 10 (fun i -> Array.init 10 (fun j -> if i = j then 5 else 0))) names
            let layout = (figure chart).["layout"]
            let axisType = layout.["xaxis"].["type"] |> Option.ofObj |> Option.map (fun n -> n.GetValue<string>())
            Expect.equal axisType (Some "category") "x axis of classes"

        test "epochCurves has one trace per term against the epoch" {
            let f = figure (Charts.epochCurves smallHistory)
            Expect.equal (f.["data"].AsArray().Count) 2 "a and b"
        }
    ]
