module Generative.Tests.Models.AaeTests

open System
open System.IO
open System.Threading
open Expecto
open FsCheck
open TorchSharp
open Generative
open Generative.Tests

/// Every parameter of a network as float arrays.
let private snapshot (net: Net) =
    [ for p in net.parameters() -> p.detach().clone().data<float32>().ToArray() ]

let private unchanged (before: float32[] list) (net: Net) = List.forall2 (=) before (snapshot net)
let private everyTensorChanged (before: float32[] list) (net: Net) = List.forall2 (<>) before (snapshot net)

let private fast = { FsCheckConfig.defaultConfig with maxTest = 10 }

/// Small networks, so the tests run in milliseconds; the source's sizes are checked separately.
let private small (preset: AaeConfig) = { preset with HiddenWidth = 32; DiscriminatorWidth = 48 }

let private created = lazy (Device.seed 3L; [ "AAE-U", Aae.create (small Aae.unsupervised); "AAE-S", Aae.create (small Aae.supervised) ])

let private throwsWithParam (paramName: string) (f: unit -> unit) =
    let e = TestData.raises<ArgumentException> f
    Expect.equal e.ParamName paramName (sprintf "ParamName of: %s" e.Message)

/// The sample mean [D] and covariance [D, D] (float64) of points [N, D].
let private moments (z: Tensor) =
    let x = z.to_type(torch.float64)
    let mean = x.mean([| 0L |])
    let centred = x - mean
    mean, centred.t().matmul(centred) / float (z.shape.[0] - 1L)

let private maxAbs (t: Tensor) = t.abs().max().ToDouble()

/// The component of each point of the paper's 10-component mixture: the nearest centre by the angle of its first
/// pair (a component spreads along its radius and barely across it, so by angle its points stay in its sector).
let private componentByAngle (z: Tensor) =
    let angle = torch.atan2(z.select(1L, 1L), z.select(1L, 0L))
    let sector = (angle / (2.0 * Math.PI / 10.0)).round().to_type(torch.int64)
    use ten = (10L).ToScalar()
    sector.add(ten).remainder(ten)

let private phaseTests =
    [ for name, preset in [ "AAE-U", Aae.unsupervised; "AAE-S (tied labels, logits)", Aae.supervised
                            "AAE-S as the source (probabilities)", Aae.supervisedSource ] ->
        test (sprintf "%s: each phase changes only the parameters it names" name) {
            Device.seed 5L
            let m = Aae.create (small preset)
            let o = Aae.optimizers m
            let data = TestData.bars 32 1L
            for (_, net) in Aae.modules m do net.train()
            let check phase (changes: Net list) =
                let before = [ for net in [ m.Encoder; m.Decoder; m.Discriminator ] -> net, snapshot net ]
                use _ = torch.NewDisposeScope()
                phase () |> ignore
                for net, weights in before do
                    if List.exists (fun n -> obj.ReferenceEquals(n, net)) changes then
                        Expect.isTrue (everyTensorChanged weights net) (sprintf "%s: every tensor of a network the phase names changes" name)
                    else Expect.isTrue (unchanged weights net) (sprintf "%s: a network the phase does not name keeps its weights" name)
            check (fun () -> Aae.reconstructionPhase m o.Reconstruction data.Images data.Labels) [ m.Encoder; m.Decoder ]
            check (fun () -> Aae.discriminatorPhase m o.Discriminator data.Images data.Labels) [ m.Discriminator ]
            check (fun () -> Aae.generatorPhase m o.Generator data.Images data.Labels) [ m.Encoder ]
            Expect.isTrue m.Encoder.training "the encoder is back in training mode after phase 2"
            Expect.isTrue (m.Discriminator.parameters() |> Seq.forall (fun p -> p.requires_grad)) "D is trainable again after phase 3"
        } ]

/// The bias of D's last linear layer (the one before its output stage).
let private lastBias (m: Aae) =
    m.Discriminator.named_parameters() |> Seq.filter (fun struct (name, _) -> name.EndsWith "bias") |> Seq.last |> fun struct (_, p) -> p

let private saturationTests =
    [ test "a saturated discriminator still learns on logits; on probabilities its gradient vanishes" {
        let gradientAt (output: DiscriminatorOutput) =
            Device.seed 6L
            let m = Aae.create { small Aae.unsupervised with DiscriminatorOutput = output; Dropout = 0.0 }
            // D says "prior" with certainty for every code: a sigmoid of +40 is exactly 1 in float32.
            using (torch.no_grad()) (fun _ -> (lastBias m).fill_(40.0f.ToScalar()) |> ignore)
            use prior = torch.randn([| 16L; 10L |])
            use codes = torch.randn([| 16L; 10L |])
            use labels = torch.zeros([| 16L |], dtype = torch.int64)
            let terms = Aae.discriminatorTerms m prior codes labels
            Expect.equal (terms.["d_code"].ToDouble()) 1.0 (sprintf "%A: D(code) rounds to 1" output)
            terms.["d_loss"].backward()
            let g = (lastBias m).grad.abs().sum().ToDouble()
            for t in terms.Values do t.Dispose()
            g
        Expect.isGreaterThan (gradientAt Score) 0.5 "logits: the fake codes still pull D's bias down (gradient 1 per code, mean over 16)"
        Expect.equal (gradientAt Probability) 0.0 "probabilities: BCE's clamped log(1 - 1) gives D no gradient, as in the source"
      }

      test "a logit discriminator gives the same losses as a sigmoid one where both are finite" {
        Device.seed 7L
        let logits = Aae.create { small Aae.supervised with DiscriminatorOutput = Score; Dropout = 0.0 }
        let probabilities = Aae.create { small Aae.supervised with DiscriminatorOutput = Probability; Dropout = 0.0 }
        probabilities.Discriminator.load_state_dict(logits.Discriminator.state_dict()) |> ignore
        use prior = torch.randn([| 32L; 10L |])
        use codes = torch.randn([| 32L; 10L |])
        use labels = torch.randint(10L, [| 32L |], dtype = torch.int64)
        let a = Aae.discriminatorTerms logits prior codes labels
        let b = Aae.discriminatorTerms probabilities prior codes labels
        for key in [ "d_loss"; "d_prior"; "d_code" ] do
            Expect.floatClose Accuracy.medium (a.[key].ToDouble()) (b.[key].ToDouble()) key
        use ga = Aae.generatorLoss logits codes labels
        use gb = Aae.generatorLoss probabilities codes labels
        Expect.floatClose Accuracy.medium (ga.ToDouble()) (gb.ToDouble()) "g_loss"
        use pa = Aae.discriminate logits codes labels
        use pb = Aae.discriminate probabilities codes labels
        Expect.isLessThan ((pa - pb).abs().max().ToDouble()) 1e-6 "discriminate gives probabilities either way"
      } ]

let private priorTests =
    [ test "the Gaussian prior has mean 0 and covariance std² I" {
        use g = new torch.Generator(1UL)
        use z = LatentPrior.sample g (IsotropicGaussian 5.0) 6 torch.CPU None 40000L
        let mean, cov = moments z
        Expect.isLessThan (maxAbs mean) 0.1 "mean within 0.1 of 0 (its standard error is 0.025)"
        use expected = LatentPrior.covariance (IsotropicGaussian 5.0) 6
        Expect.floatClose Accuracy.medium (expected.[0L, 0L].ToDouble()) 25.0 "the analytic variance is std²"
        Expect.isLessThan (maxAbs (cov - expected)) 0.75 "covariance within 0.75 of 25 I (3% of the variance)"
      }

      test "the mixture has its analytic mean and covariance and equal component weights" {
        let prior = LatentPrior.paperMixture
        use g = new torch.Generator(2UL)
        use z = LatentPrior.sample g prior 4 torch.CPU None 50000L
        let mean, cov = moments z
        use expectedMean = LatentPrior.mean prior 4
        use expectedCov = LatentPrior.covariance prior 4
        Expect.isLessThan (maxAbs (mean - expectedMean)) 0.02 "mean"
        Expect.isLessThan (maxAbs (cov - expectedCov)) 0.03 "covariance, the pairs' correlation through the shared component included"
        let counts = torch.bincount(componentByAngle z, minlength = 10L).to_type(torch.float64) / 50000.0
        Expect.isLessThan (maxAbs (counts - 0.1)) 0.006 "every component has weight 1/10 (standard error 0.0013)"
      }

      test "the mixture draws each code from the component it is given" {
        use g = new torch.Generator(3UL)
        use labels = torch.tensor([| for i in 0L .. 999L -> i % 10L |])
        use z = LatentPrior.sample g LatentPrior.paperMixture 2 torch.CPU (Some labels) 1000L
        // A radial draw below -radius (2.8 stds: 0.26% of draws) crosses the origin into the opposite sector.
        let share = (componentByAngle z).eq(labels).to_type(torch.float64).mean().ToDouble()
        Expect.isGreaterThan share 0.99 "codes lie in their own component's sector"
      }

      test "priors print and parse back, and bad text names the prior" {
        for p in [ LatentPrior.source; IsotropicGaussian 1.5; LatentPrior.paperMixture; GaussianMixture(4, 2.0, 0.3, 0.1) ] do
            Expect.equal (LatentPrior.parse (LatentPrior.describe p)) p (LatentPrior.describe p)
        Expect.equal (LatentPrior.parse "mixture") LatentPrior.paperMixture "fields default to the paper's"
        for bad in [ "uniform"; "gaussian:std=x"; "gaussian:radius=1"; "mixture:components=2.5"; "gaussian:std" ] do
            throwsWithParam "prior" (fun () -> LatentPrior.parse bad |> ignore)
      } ]

let private shapeTests =
    [ testPropertyWithConfig fast "encoder, decoder and discriminator shapes for any batch size" <| fun (size: PositiveInt) ->
        let n = 1 + size.Get % 40
        for name, m in created.Force() do
            use _ = torch.NewDisposeScope()
            for (_, net) in Aae.modules m do net.eval()
            let data = TestData.bars n (int64 n)
            let z = Aae.encode m data.Images
            Expect.equal z.shape [| int64 n; 10L |] (sprintf "%s: codes" name)
            let x = Aae.decode m z (Some data.Labels)
            Expect.equal x.shape [| int64 n; 1L; 28L; 28L |] (sprintf "%s: images" name)
            Expect.isTrue (x.min().ToSingle() >= 0.0f && x.max().ToSingle() <= 1.0f) (sprintf "%s: sigmoid range" name)
            Expect.equal (Aae.discriminate m z data.Labels).shape [| int64 n; 1L |] (sprintf "%s: D" name)
            use g = new torch.Generator(1UL)
            Expect.equal (Aae.sampleWith g m n).shape [| int64 n; 1L; 28L; 28L |] (sprintf "%s: samples" name)

      test "the networks have the source's sizes" {
        Device.seed 1L
        let count (net: Net) = net.parameters() |> Seq.sumBy (fun p -> p.numel())
        let u = Aae.create Aae.unsupervised
        let s = Aae.create Aae.supervised
        // 784·392+392 + 392·392+392 + 392·10+10; decoder 10·392+392 + 392·392+392 + 392·784+784;
        // D 10·1500+1500 + 1500·1500+1500 + 1500+1.
        Expect.equal (count u.Encoder) 465706L "encoder"
        Expect.equal (count u.Decoder) 466480L "decoder"
        Expect.equal (count u.Discriminator) 2269501L "discriminator"
        Expect.equal (count s.Decoder) (466480L + 10L * 392L) "AAE-S's decoder reads 10 more inputs"
      }

      test "the supervised decoder needs the labels, and style grids have their rows" {
        let m = created.Force() |> List.find (fst >> (=) "AAE-S") |> snd
        for (_, net) in Aae.modules m do net.eval()
        use z = torch.zeros([| 3L; 10L |])
        throwsWithParam "labels" (fun () -> Aae.decode m z None |> ignore)
        throwsWithParam "labels" (fun () -> Aae.decode m z (Some (torch.tensor([| 0L; 1L; 10L |]))) |> ignore)
        use traversal = Aae.styleTraversal m [ 0; 1; 2; 3; 4 ] 10
        Expect.equal traversal.shape [| 100L; 1L; 28L; 28L |] "2 dimensions x 5 labels x 10 steps"
        let data = TestData.bars 4 9L
        use transfer = Aae.styleTransfer m data.Images
        Expect.equal transfer.shape [| 44L; 1L; 28L; 28L |] "4 rows of the image and 10 classes"
        Expect.isTrue (transfer.[11L].Equals(data.Images.[1L])) "each row starts with its image"
        let u = created.Force() |> List.find (fst >> (=) "AAE-U") |> snd
        Expect.throwsT<InvalidOperationException> (fun () -> Aae.styleTraversal u [ 0 ] 10 |> ignore) "AAE-U has no label to fix"
      } ]

let private learningTests =
    [ for name, preset in [ "AAE-U", Aae.unsupervised; "AAE-S", Aae.supervised ] ->
        test (sprintf "%s learns to reconstruct a small batch within seconds" name) {
            Device.seed 7L
            let m = Aae.create { preset with HiddenWidth = 128; DiscriminatorWidth = 64 }
            let trainer = Aae.trainer m
            Trainer.train trainer
            let data = TestData.bars 64 2L
            let batch = { Inputs = data.Images; Targets = data.Labels }
            let step () =
                use _ = torch.NewDisposeScope()
                trainer.Step batch
            let first = step ()
            let mutable last = first
            for _ in 1 .. 150 do last <- step ()
            Expect.isLessThan last.["reconstruction"] (first.["reconstruction"] / 2.0)
                (sprintf "reconstruction fell from %g to %g" first.["reconstruction"] last.["reconstruction"])
            for term in [ "d_loss"; "g_loss"; "d_prior"; "d_code" ] do
                Expect.isTrue (Double.IsFinite last.[term]) (sprintf "%s is reported" term)
        } ]

let private saveLoadTests =
    [ for id in [ "aae"; "aae-s" ] ->
        test (sprintf "%s: save then load gives identical codes and samples" id) {
            let entry = Catalog.find id
            let settings = [ "hidden-width", "24"; "discriminator-width", "16" ]
            Device.seed 4L
            let m = (entry.Configure settings).Build torch.CPU
            let data = TestData.bars 16 5L
            Trainer.train m.Trainer
            for _ in 1 .. 3 do
                use _ = torch.NewDisposeScope()
                m.Trainer.Step { Inputs = data.Images; Targets = data.Labels } |> ignore
            Trainer.eval m.Trainer
            let path = Path.Combine(Path.GetTempPath(), sprintf "%s-%s.safetensors" id (Guid.NewGuid().ToString("N")))
            Experiment.saveModel path id (entry.Configure settings).Settings entry.Normalization m
            Device.seed 99L
            let loadedId, loadedSettings, _, loaded = Experiment.loadModel path Cpu
            File.Delete path
            Expect.equal loadedId id "model id"
            Expect.equal loadedSettings (entry.Configure settings).Settings "settings"
            use _ = torch.no_grad()
            use za = m.Encode.Value data.Images
            use zb = loaded.Encode.Value data.Images
            Expect.isTrue (za.Equals zb) "identical codes"
            let sample (model: RunModel) =
                use g = new torch.Generator(8UL)
                model.Sample.Value g 12
            use a = sample m
            use b = sample loaded
            Expect.isTrue (a.Equals b) "identical samples"
        } ]

let private validationTests =
    [ test "configs reject bad settings naming them" {
        let u = Aae.unsupervised
        throwsWithParam "hidden-width" (fun () -> Aae.validate { u with HiddenWidth = 0 })
        throwsWithParam "code-size" (fun () -> Aae.validate { u with CodeSize = 100_000_000 })
        throwsWithParam "discriminator-width" (fun () -> Aae.validate { u with DiscriminatorWidth = -1 })
        throwsWithParam "dropout" (fun () -> Aae.validate { u with Dropout = 1.0 })
        throwsWithParam "classes" (fun () -> Aae.validate { u with Classes = 1 })
        throwsWithParam "code-size" (fun () -> Aae.validate { u with CodeSize = 3; Prior = LatentPrior.paperMixture })
        throwsWithParam "tie-labels" (fun () -> Aae.validate { u with TieLabelsToPrior = true; Prior = GaussianMixture(4, 1.4, 0.5, 0.05) })
        Aae.validate { Aae.supervised with TieLabelsToPrior = true }
        throwsWithParam "prior" (fun () -> Aae.validate { u with Prior = IsotropicGaussian 0.0 })
        throwsWithParam "adversarial-weight" (fun () -> Aae.validate { u with AdversarialWeight = nan })
        throwsWithParam "validation" (fun () -> Aae.validate { u with Validation = 1.0 })
        throwsWithParam "lr" (fun () -> Aae.validate { u with GeneratorOptimizer = Optim.adam 0.0 })
        throwsWithParam "labelled-fraction" (fun () -> Aae.validate { u with LabelledFraction = 0.0 })
        throwsWithParam "labelled-fraction" (fun () -> Aae.validate { u with LabelledFraction = 0.5 })
        throwsWithParam "labelled-fraction" (fun () ->
            Aae.validate { Aae.supervised with TieLabelsToPrior = true; Prior = LatentPrior.paperMixture; LabelledFraction = 0.5 })
        Aae.validate { u with TieLabelsToPrior = true; Prior = LatentPrior.paperMixture; LabelledFraction = 0.5 }
      }

      test "a semi-supervised run hides all but its labelled share of the labels, evenly spread" {
        let config = { Aae.unsupervised with TieLabelsToPrior = true; Prior = LatentPrior.paperMixture; LabelledFraction = 0.1 }
        let data = TestData.bars 1000 4L
        let hidden = Aae.hideLabels config data
        let kept = hidden.Labels.ge(0L.ToScalar())
        Expect.equal (kept.sum().ToInt64()) 100L "100 of 1000 labels kept"
        Expect.equal (kept.narrow(0L, 0L, 500L).sum().ToInt64()) 50L "spread over the split, not the first 100"
        Expect.isTrue (hidden.Labels.masked_select(kept).Equals(data.Labels.masked_select(kept))) "kept labels are the true ones"
        Expect.isTrue (hidden.Images.Equals data.Images) "images unchanged"
      }

      test "tied labels: D reads the label, and an unlabelled image's prior code comes from any component" {
        Device.seed 2L
        let m = Aae.create { small Aae.unsupervised with CodeSize = 2; TieLabelsToPrior = true; Prior = LatentPrior.paperMixture }
        Expect.equal (Aae.discriminatorInputSize m.Config) 13 "code 2 + 10 classes + the no-label class"
        use labels = torch.tensor(Array.create 2000 3L)
        use unlabelled = torch.tensor(Array.create 2000 -1L)
        use g = new torch.Generator(5UL)
        use tied = Aae.priorSample g m torch.CPU labels
        use free = Aae.priorSample g m torch.CPU unlabelled
        Expect.isGreaterThan ((componentByAngle tied).eq(3L.ToScalar()).to_type(torch.float64).mean().ToDouble()) 0.99 "labelled: the label's component"
        let share = (componentByAngle free).eq(3L.ToScalar()).to_type(torch.float64).mean().ToDouble()
        Expect.isLessThan share 0.2 "unlabelled: spread over the components (about 0.1 in component 3)"
        use z = torch.zeros([| 2L; 2L |])
        use two = torch.tensor([| 3L; -1L |])
        use d = Aae.discriminate m z two
        Expect.equal d.shape [| 2L; 1L |] "D takes a labelled and an unlabelled code"
        Expect.isFalse (d.[0L].Equals(d.[1L])) "the label changes D's input"
      }

      test "tied labels with a Gaussian prior: D reads the label, and every label draws from the same prior" {
        Device.seed 4L
        let m = Aae.create { small Aae.supervised with TieLabelsToPrior = true }
        Expect.equal (Aae.discriminatorInputSize m.Config) 21 "code 10 + 10 classes + the no-label class"
        let draw (label: int64) =
            use g = new torch.Generator(6UL)
            use labels = torch.tensor(Array.create 50 label)
            Aae.priorSample g m torch.CPU labels
        use three = draw 3L
        use seven = draw 7L
        Expect.isTrue (three.Equals seven) "the same draws whatever the label: codes must carry no label to pass"
        use z = torch.zeros([| 2L; 10L |])
        use two = torch.tensor([| 3L; 7L |])
        use d = Aae.discriminate m z two
        Expect.isFalse (d.[0L].Equals(d.[1L])) "the label changes D's input"
        use grid = Aae.styleTraversal m [ 0; 9 ] 3
        Expect.equal grid.shape [| 12L; 1L; 28L; 28L |] "a traversal around the one centre"
      }

      test "the codes D judges: a Gaussian encoder's draws, a deterministic encoder's codes" {
        Device.seed 5L
        let data = TestData.bars 64 4L
        for encoder in [ Deterministic; Gaussian ] do
            let m = Aae.create { small Aae.unsupervised with Encoder = encoder }
            m.Encoder.eval()
            let means, labels = AdversarialAutoencoderEntries.codesOf m data 64L
            use means = means
            use _ = labels
            use judged = AdversarialAutoencoderEntries.judgedCodesOf m data 64L
            use again = AdversarialAutoencoderEntries.judgedCodesOf m data 64L
            Expect.equal judged.shape means.shape (sprintf "%A: [N, code]" encoder)
            Expect.isTrue (judged.Equals again) (sprintf "%A: the evaluation seed fixes them" encoder)
            match encoder with
            | Deterministic -> Expect.isTrue (judged.Equals means) "deterministic: the codes themselves"
            | Gaussian ->
                use spread = (judged - means).std()
                Expect.isGreaterThan (spread.ToDouble()) 0.1 "Gaussian: draws around the means, with the encoder's noise"
      }

      test "settings print and read back" {
        let config = { Aae.supervised with Prior = GaussianMixture(10, 2.0, 0.4, 0.1); TieLabelsToPrior = true; AdversarialWeight = 2.0; LabelledFraction = 0.5; DiscriminatorOutput = Score }
        Expect.equal (SettingsTable.read Aae.settings Aae.supervised (SettingsTable.print Aae.settings config)) config "round trip"
      } ]

[<Tests>]
let tests =
    testList "Models.Aae" [
        testList "phases" phaseTests
        testList "saturation" saturationTests
        testList "priors" priorTests
        testList "shapes" shapeTests
        testList "learning" learningTests
        testList "save and load" saveLoadTests
        testList "validation" validationTests
    ]
