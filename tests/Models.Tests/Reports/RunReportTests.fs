module Generative.Tests.Reports.RunReportTests

open System
open System.IO
open System.Text.RegularExpressions
open Expecto
open Generative.Tests
open TorchSharp
open Generative
open Generative.Tests.Reports.ImagesTests

/// Occurrences of `part` in `text`.
let private count (part: string) (text: string) =
    let mutable n, i = 0, text.IndexOf(part, StringComparison.Ordinal)
    while i >= 0 do
        n <- n + 1
        i <- text.IndexOf(part, i + part.Length, StringComparison.Ordinal)
    n

/// A fake run: `steps` steps of two decaying noisy terms over `epochs` epochs.
let fakeHistory (steps: int) (epochs: int) =
    let rng = Random 7
    let perEpoch = steps / epochs
    let stepRecords =
        [ for s in 1 .. steps ->
            let t = float s / float steps
            { Step = int64 s; Epoch = min epochs ((s - 1) / perEpoch + 1)
              Terms = Map [ "reconstruction", 0.25 * exp (-3.0 * t) + 0.03 + 0.02 * rng.NextDouble()
                            "kl", 2.0 + 8.0 * (1.0 - exp (-4.0 * t)) + 0.8 * (rng.NextDouble() - 0.5) ] } ]
    let epochRecords =
        [ for e in 1 .. epochs ->
            let inEpoch = stepRecords |> List.filter (fun s -> s.Epoch = e)
            let mean name = inEpoch |> List.averageBy (fun s -> s.Terms.[name])
            { Epoch = e; Step = (List.last inEpoch).Step; Terms = Map [ "reconstruction", mean "reconstruction"; "kl", mean "kl" ]
              Seconds = 12.5 } ]
    { Steps = stepRecords; Epochs = epochRecords }

/// Digit-like blobs: strokes that sharpen with the epoch, as a batch [n,1,28,28] in [0,1].
let fakeDigits (n: int) (sharpness: float) (seed: int) =
    torch.manual_seed (int64 seed) |> ignore
    use noise = torch.rand(int64 n, 1L, 28L, 28L)
    use ys = torch.linspace(-1.0, 1.0, 28L).reshape(1L, 1L, 28L, 1L)
    use xs = torch.linspace(-1.0, 1.0, 28L).reshape(1L, 1L, 1L, 28L)
    use radius = (ys * ys + xs * xs).sqrt()
    use ring = (-(radius - 0.55).abs() * (8.0 * sharpness)).exp()
    use blend = ring * sharpness + noise * (1.0 - sharpness)
    blend.clamp(0.0f.ToScalar(), 1.0f.ToScalar())

/// A sample report content with frames written as PNG files under `dir`.
let sampleContent (dir: string) (title: string) =
    let frames =
        [ for e in 1 .. 3 ->
            let path = Path.Combine(dir, sprintf "samples-epoch-%d.png" e)
            use digits = fakeDigits 64 (float e / 3.0) e
            Images.saveGrid path 8 digits
            sprintf "epoch %d" e, path ]
    let rng = Random 3
    let labels = Array.init 300 (fun i -> i % 10)
    let points = labels |> Array.map (fun k -> let a = float k * 0.628 in [| cos a * 3.0 + rng.NextDouble(); sin a * 3.0 + rng.NextDouble() |])
    { Title = title
      ModelId = "vae-mlp-mnist"
      Summary = "A variational autoencoder with a 2-d latent space, trained for 5 epochs on MNIST (fake data for this test)."
      Run = None
      History = fakeHistory 500 5
      EpochTest = None
      ImageSeries = [ { Title = "Fixed-noise samples"; Caption = "64 decodings of the same latent codes after each epoch."; Frames = frames } ]
      Charts =
        [ "Latent space (2-d)", Charts.latentScatter points labels [ for k in 0 .. 9 -> string k ]
          "Latent space (3-d)", Charts.latentScatter (points |> Array.mapi (fun i p -> [| p.[0]; p.[1]; float (i % 10) * 0.3 |])) labels [] ]
      TextSeries = []; Texts = []
      Tables = []
      Metrics = [ "reconstruction MSE", "0.0312", "mean over the 10 000 test images"; "FID", "41.7", "Frechet distance of 2048-d features, 10 000 samples" ]
      Config = [ "epochs", "5"; "batch size", "128"; "learning rate", "0.001"; "latent dim", "2" ]
      Environment = [ "TorchSharp", "0.107.0"; "device", "cpu"; "seed", "42"; "mnist sha256", "9fb629c4189551a2d022fa330f9573f3" ] }

[<Tests>]
let tests =
    testList "Reports.RunReport" [
        test "the report inlines plotly.js once, one chart per term, every frame as a data URI, escaped text" {
            let dir = Path.Combine(Path.GetTempPath(), "generative-report-" + Guid.NewGuid().ToString("N"))
            try
                Directory.CreateDirectory dir |> ignore
                let content = sampleContent dir "VAE <script>alert(1)</script> & \"friends\""
                let html = RunReport.render content
                Expect.equal (count (Charts.plotlyJs ()) html) 1 "plotly.js exactly once"
                Expect.equal (count "<script type=\"text/javascript\">!function" html + count "Plotly.NET" html) 0 "no second copy or Plotly.NET CDN reference"
                // (plotly.js itself mentions https://cdn.plot.ly/ as topojson's default; only script sources matter.)
                Expect.isFalse (html.Contains "<script src") "no external script"
                let terms = History.termNames content.History
                Expect.equal (Regex.Matches(html, "<div class=\"chart\" id=\"loss-\\d+\"></div>").Count) terms.Length "one loss chart div per term"
                Expect.equal (Regex.Matches(html, "<div class=\"chart\" id=\"chart-\\d+\"></div>").Count) 2 "the extra charts"
                for label, path in content.ImageSeries.Head.Frames do
                    Expect.stringContains html ("data:image/png;base64," + Convert.ToBase64String(File.ReadAllBytes path)) (sprintf "frame %s embedded" label)
                    Expect.stringContains html (sprintf "data-label=\"%s\"" label) "frame labelled"
                Expect.equal (count "<figure class=\"frame\"" html) 3 "three frames"
                Expect.isFalse (html.Contains "<script>alert(1)") "title escaped"
                Expect.stringContains html "VAE &lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;friends&quot;" "escaped title"
                Expect.stringContains html "image-rendering: pixelated" "pixelated upscaling"
                Expect.stringContains html "width=\"726\"" "242 px grid shown 3x"
                for name, value, how in content.Metrics do
                    Expect.stringContains html (Net.WebUtility.HtmlEncode how) (sprintf "how %s was measured" name)
                    Expect.stringContains html value "metric value"
                Expect.stringContains html "mnist sha256" "environment"
            finally
                Directory.Delete(dir, true)
        }

        test "a missing frame file or an empty history still renders" {
            let content =
                { Title = "t"; ModelId = ""; Summary = ""; Run = None; History = History.empty; EpochTest = None
                  ImageSeries = [ { Title = "s"; Caption = ""; Frames = [ "epoch 1", "/nonexistent/frame.png" ] } ]
                  Charts = []; TextSeries = []; Texts = []; Tables = []; Metrics = []; Config = []; Environment = [] }
            let html = RunReport.render content
            Expect.stringContains html "Missing image file: /nonexistent/frame.png" "missing file noted"
            Expect.stringContains html "No steps recorded." "empty history noted"
            Expect.equal (count (Charts.plotlyJs ()) html) 1 "plotly.js still once"
            Expect.isFalse (html.Contains "id=\"text\"") "no text section when the model declares no text"
            Expect.isFalse (html.Contains "id=\"tables\"") "no table section when the model declares no table"
        }

        test "text samples and tables a model declares are shown verbatim and escaped, each in its section" {
            let content =
                { Title = "t"; ModelId = "lm"; Summary = ""; Run = None; History = History.empty; EpochTest = None; ImageSeries = []; Charts = []
                  TextSeries = []
                  Texts = [ { Title = "Samples at temperature 0.8"; Caption = "Three passages from the prompt ROMEO:"
                              Samples = [ "ROMEO:\nWhat <light> through\n  yonder window & breaks?"; "second" ] } ]
                  Tables = [ { Title = "Nearest words"; Caption = "cosine similarity"; Header = [ "word"; "neighbours" ]
                               Rows = [ [ "king"; "queen <3" ]; [ "love"; "hate" ] ] } ]
                  Metrics = []; Config = []; Environment = [] }
            let html = RunReport.render content
            Expect.stringContains html "<a href=\"#text\">Text</a>" "listed in the contents"
            Expect.stringContains html "<a href=\"#tables\">Tables</a>" "tables listed in the contents"
            Expect.stringContains html "<pre class=\"sample\">ROMEO:\nWhat &lt;light&gt; through\n  yonder window &amp; breaks?</pre>" "line breaks kept, markup escaped"
            Expect.equal (count "<pre class=\"sample\">" html) 2 "one block per passage"
            Expect.stringContains html "<th>word</th><th>neighbours</th>" "header row"
            Expect.stringContains html "<tr><td>king</td><td>queen &lt;3</td></tr>" "cells escaped"
        }

        test "a run's header leads with its status and headline metric, and counts the steps of a stopped epoch" {
            let history = fakeHistory 500 5
            let stopped = { history with Steps = history.Steps @ [ { Step = 501L; Epoch = 6; Terms = Map [ "reconstruction", 0.1; "kl", 3.0 ] } ] }
            let run =
                { Status = RunStatus.Interrupted; Reason = "Stopped by Ctrl+C <during> epoch 6."; EvaluationSkipped = true
                  EpochsTrained = 5; EpochsPlanned = 16; Steps = 501L; Seconds = 64.5; TimeNote = ""
                  Headline = [ "test MSE per pixel", "0.0312", "mean over the test images" ] }
            let content =
                { Title = "t"; ModelId = "ae"; Summary = ""; Run = Some run; History = stopped; EpochTest = None; ImageSeries = []; Charts = []
                  TextSeries = []; Texts = []; Tables = []; Metrics = []; Config = []; Environment = [] }
            let html = RunReport.render content
            let start = html.IndexOf("<header", StringComparison.Ordinal)
            let header = html.Substring(start, html.IndexOf("</header>", StringComparison.Ordinal) - start)
            Expect.stringContains header "id=\"run-status\">interrupted</span>" "status badge"
            Expect.stringContains header ">evaluation skipped</span>" "evaluation skipped badge"
            Expect.stringContains header "Stopped by Ctrl+C &lt;during&gt; epoch 6." "the reason, escaped"
            let headline = header.IndexOf("<div class=\"stat headline\" title=\"mean over the test images\"><div class=\"k\">test MSE per pixel</div><div class=\"v\">0.0312</div>", StringComparison.Ordinal)
            Expect.isGreaterThan headline 0 "the headline metric, with how it was measured"
            let epochs = header.IndexOf("<div class=\"k\">epochs</div><div class=\"v\">5 of 16</div><div class=\"sub\">+ 1 steps of epoch 6</div>", StringComparison.Ordinal)
            Expect.isGreaterThan epochs headline "then the epochs, with the stopped epoch's steps"
            Expect.stringContains header "<div class=\"k\">training time</div><div class=\"v\">1m 04s</div>" "the time"
            Expect.isFalse (header.Contains "(epoch 5)") "no last training loss cards"
            let completed = RunReport.render { content with Run = Some { run with Status = RunStatus.Completed; EvaluationSkipped = false } }
            Expect.stringContains completed "id=\"run-status\">completed</span>" "completed"
            Expect.isFalse (completed.Contains ">evaluation skipped<") "evaluation measured"
        }

        test "the loss curves have a smoothing slider and a log-scale toggle; metric values do not wrap" {
            let dir = Path.Combine(Path.GetTempPath(), "generative-report-" + Guid.NewGuid().ToString("N"))
            try
                Directory.CreateDirectory dir |> ignore
                let html = RunReport.render (sampleContent dir "t")
                Expect.stringContains html "<input type=\"range\" class=\"smoothing\" min=\"0\" max=\"0.99\" step=\"0.01\" value=\"0.6\"" "slider from 0 to 0.99"
                Expect.stringContains html "<input type=\"checkbox\" class=\"log-scale\">" "log toggle"
                Expect.stringContains html "<td class=\"number\">41.7</td>" "values in number cells"
                Expect.isTrue (Regex.IsMatch(html, "td\\.number \\{[^}]*white-space: nowrap")) "number cells do not wrap"
            finally
                Directory.Delete(dir, true)
        }

        test "write is atomic and writes what render returns" {
            let dir = Path.Combine(Path.GetTempPath(), "generative-report-" + Guid.NewGuid().ToString("N"))
            try
                Directory.CreateDirectory dir |> ignore
                let content = sampleContent dir "Sample run"
                let path = Path.Combine(dir, "out", "report.html")
                RunReport.write path content
                Expect.equal (File.ReadAllText path) (RunReport.render content) "same text"
                Expect.isEmpty (Directory.GetFiles(Path.GetDirectoryName path, "*.tmp")) "no temporary file left"
                // For looking at by eye: GENERATIVE_SAMPLE_REPORT=/some/dir keeps a copy of the sample report there.
                match Environment.GetEnvironmentVariable "GENERATIVE_SAMPLE_REPORT" with
                | null | "" -> ()
                | keep -> RunReport.write (Path.Combine(keep, "report.html")) content
            finally
                Directory.Delete(dir, true)
        }
    ]
