// Quick start of the adversarial autoencoders from C#: AAE-S, the supervised one (its decoder takes the one-hot label
// beside the code, so a discriminator pushes codes towards the prior N(0, 5² I) and the code is left with the style):
// train it, read its metrics, sample from the prior, draw its style traversal and style transfer, save it.
//
//     ./generative data fetch mnist
//     dotnet run -c Release --project examples/CSharp/AdversarialAutoencoders [-- epochs]
using Generative.CSharp;

var epochs = args.Length > 0 && int.TryParse(args[0], out var e) ? e : 1;
var ctx = new GenerativeContext(seed: 42);
var progress = new Progress<TrainingProgress>(p =>
{
    if (p.Step % 100 == 0)
        Console.WriteLine($"  step {p.Step}/{p.TotalSteps}  " + p.Metrics);   // the three phases' terms; p.Loss is "reconstruction"
});

// ExampleData.Mnist is ctx.Data.Mnist, or a generated stand-in in CI's smoke run (Shared/ExampleData.cs).
var mnist = ExampleData.Mnist(ctx, ImageNormalization.ZeroToOne);
// The source's networks, with the library's training: the discriminator on logits and also reading the label, so the
// codes learn to carry only the style. SupervisedAdversarialAsInSource() is the source's setting; With* changes any
// value, e.g. .WithPrior(CodePrior.Mixture()) for the paper's mixture of 10 Gaussians.
using var aae = ctx.Autoencoders.SupervisedAdversarial().Build();
Console.WriteLine($"AAE-S with {aae.ParameterCount:N0} parameters, prior {aae.Prior}");

// 128 images per step (the model's default; the source's is 1024). The codes lose the digit only after about 20 to 30
// epochs (docs/models.md): one epoch shows the three phases at work.
var run = await aae.FitAsync(mnist, new TrainingOptions { Epochs = epochs }, progress);
foreach (var metric in run.Metrics)
    Console.WriteLine($"  {metric.Name}: {metric.Value:G4}");

// Image i of a sample is written as class i mod 10: ten columns count through the digits.
using var samples = aae.Sample(80, seed: 1);
samples.SaveGrid("aae-s-samples.png", aae, columns: 10);
// Each row keeps a class and sweeps one code dimension: the style changes, the digit does not.
using var traversal = aae.StyleTraversal(steps: 10);
traversal.SaveGrid("aae-s-style-traversal.png", aae, columns: 10);
// Each row: a test digit, then its code (its style) written as 0, 1, ..., 9.
using var digits = mnist.TestImages[..8];
using var transfer = aae.StyleTransfer(digits);
transfer.SaveGrid("aae-s-style-transfer.png", aae, columns: 1 + aae.Classes);
aae.Save("aae-s.safetensors");
Console.WriteLine($"  report: {run.Report}");
Console.WriteLine("  wrote aae-s-samples.png, aae-s-style-traversal.png, aae-s-style-transfer.png and aae-s.safetensors");
Console.WriteLine("  (the command line draws the same grids from it: generative style aae-s.safetensors --kind transfer --out transfer.png)");
return 0;
