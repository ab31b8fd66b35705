module Generative.Tests.Reports.BrowserTests

open System
open System.Diagnostics
open System.IO
open System.Text.Json.Nodes
open System.Text.RegularExpressions
open Expecto
open Generative.Tests
open Generative
open Generative.Tests.Reports.RunReportTests

/// Debian's headless Chromium (`apt-get install -y chromium`), if on the PATH.
let private chromium () =
    let dirs = (Environment.GetEnvironmentVariable "PATH" |> Option.ofObj |> Option.defaultValue "").Split(Path.PathSeparator)
    [ "chromium"; "chromium-browser" ]
    |> List.tryPick (fun name -> dirs |> Array.tryPick (fun d -> let p = Path.Combine(d, name) in if File.Exists p then Some p else None))

/// Records every script error of the page, from before plotly.js loads.
let private errorHook =
    "<script>window.__errors=[];window.addEventListener('error',function(e){window.__errors.push(String(e.message));});</script>"

/// After the page has loaded and drawn: what each chart holds, the first loss chart's smoothed trace at the default
/// smoothing, its y-axis after ticking "log scale", and the smoothed trace after the slider goes to 0; written as JSON
/// into <pre id="probe">, which --dump-dom prints (with the probe's own error, if the page could not be driven).
let private probe = """<script>
window.addEventListener('load', function () { setTimeout(function () {
  var out = { errors: window.__errors, charts: [] };
  document.querySelectorAll('.chart').forEach(function (d) {
    out.charts.push({ id: d.id, svg: d.querySelectorAll('svg.main-svg').length, plotly: d.classList.contains('js-plotly-plot'),
      traces: d.data ? d.data.map(function (t) { return t.name || ''; }) : [] });
  });
  try {
  var gd = document.getElementById('loss-0');
  var find = function (name) { return (gd.data || []).filter(function (t) { return t.name === name; })[0]; };
  var smoothed = find('smoothed');
  out.smoothed = smoothed ? Array.prototype.slice.call(smoothed.y) : null;
  out.smoothedVisible = smoothed ? smoothed.visible : null;
  var box = document.querySelector('#curve-controls input.log-scale');
  box.checked = true; box.dispatchEvent(new Event('change'));
  out.yAxisType = gd.layout.yaxis.type;
  var range = document.querySelector('#curve-controls input.smoothing');
  range.value = '0'; range.dispatchEvent(new Event('input'));
  out.smoothedVisibleAtZero = find('smoothed') ? find('smoothed').visible : null;
  } catch (e) { out.probeError = String(e); }
  out.errorsAfter = window.__errors;
  var pre = document.createElement('pre'); pre.id = 'probe'; pre.textContent = JSON.stringify(out); document.body.appendChild(pre);
}, 100); });
</script>"""

/// TensorBoard's smoothing, written again here to check the page's: a debiased exponential moving average.
let private ema (w: float) (ys: float list) =
    ys |> List.mapFold (fun (last, n) y -> let last, n = last * w + (1.0 - w) * y, n + 1 in last / (1.0 - w ** float n), (last, n)) (0.0, 0)
    |> fst

/// Runs Chromium on `html` and returns the DOM after the scripts ran.
let private dumpDom (exe: string) (file: string) =
    let psi = ProcessStartInfo(exe, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false)
    for a in [ "--headless"; "--disable-gpu"; "--no-sandbox"; "--disable-background-networking"; "--virtual-time-budget=10000"
               "--dump-dom"; Uri(file).AbsoluteUri ] do psi.ArgumentList.Add a
    use p = Process.Start psi
    let err = p.StandardError.ReadToEndAsync()
    let out = p.StandardOutput.ReadToEndAsync()
    if not (p.WaitForExit 120_000) then
        p.Kill true
        failtestf "Chromium did not finish within 120 s"
    out.Result, err.Result

[<Tests>]
let tests =
    testList "Reports.Browser" [
        test "a report drawn by headless Chromium has every chart, working smoothing and log scale, and no script error" {
            match chromium () with
            | None -> skiptest "Chromium is not installed; install it with: apt-get install -y chromium"
            | Some exe ->
            let dir = Path.Combine(Path.GetTempPath(), "generative-browser-" + Guid.NewGuid().ToString("N"))
            try
                Directory.CreateDirectory dir |> ignore
                let content = sampleContent dir "Browser test"
                let html = RunReport.render content
                let file = Path.Combine(dir, "report.html")
                File.WriteAllText(file, html.Replace("<head>\n", "<head>\n" + errorHook).Replace("</body>", probe + "</body>"))
                let dom, stderr = dumpDom exe file
                let m = Regex.Match(dom, "<pre id=\"probe\">(.*?)</pre>", RegexOptions.Singleline)
                if not m.Success then failtestf "the page's probe did not run; Chromium said: %s" (stderr.Substring(0, min 2000 stderr.Length))
                let result = JsonNode.Parse(Net.WebUtility.HtmlDecode m.Groups.[1].Value)
                let strings (n: JsonNode) = n.AsArray() |> Seq.map (fun e -> e.GetValue<string>()) |> List.ofSeq
                let errors = strings result.["errors"]
                Expect.isEmpty errors (sprintf "no script error while loading, but: %s" (String.Join("; ", errors)))
                let later = strings result.["errorsAfter"]
                Expect.isEmpty later (sprintf "no script error from the controls, but: %s" (String.Join("; ", later)))
                Expect.isNull result.["probeError"] "the controls could be driven"
                let charts = result.["charts"].AsArray() |> List.ofSeq
                let terms = History.termNames content.History
                Expect.equal charts.Length (terms.Length + content.Charts.Length) "every chart div"
                for c in charts do
                    let id = c.["id"].GetValue<string>()
                    Expect.isTrue (c.["plotly"].GetValue<bool>()) (sprintf "%s is a plotly plot" id)
                    Expect.isGreaterThan (c.["svg"].GetValue<int>()) 0 (sprintf "%s drew its svg" id)
                let loss0 = charts |> List.find (fun c -> c.["id"].GetValue<string>() = "loss-0")
                Expect.equal (strings loss0.["traces"]) [ "per step"; "epoch mean"; "smoothed" ] "the page added a smoothed trace"
                let raw = History.stepSeries terms.Head content.History |> List.map snd
                let smoothed = result.["smoothed"].AsArray() |> Seq.map (fun n -> n.GetValue<float>()) |> List.ofSeq
                Expect.equal smoothed.Length raw.Length "one smoothed value per step"
                List.zip smoothed (ema 0.6 raw) |> List.iteri (fun i (got, expected) ->
                    Expect.floatClose Accuracy.medium got expected (sprintf "smoothed value %d is the debiased EMA with weight 0.6" i))
                Expect.isTrue (result.["smoothedVisible"].GetValue<bool>()) "smoothing shows at 0.6"
                Expect.equal (result.["yAxisType"].GetValue<string>()) "log" "log scale ticked: log axis"
                Expect.isFalse (result.["smoothedVisibleAtZero"].GetValue<bool>()) "no smoothed line at 0"
            finally
                Directory.Delete(dir, true)
        }
    ]
