// Quick start from C#: train the single-layer autoencoder (AE-LIN) on MNIST, watch progress, stop with Ctrl+C
// (a checkpoint is kept), then reconstruct test digits and save the model.
//
//     ./generative data fetch mnist
//     dotnet run -c Release --project examples/CSharp/QuickStart [-- epochs]
using Generative.CSharp;

var epochs = args.Length > 0 && int.TryParse(args[0], out var e) ? e : 1;

var ctx = new GenerativeContext(seed: 42);                // CUDA when available, else CPU
// ctx.Data.Mnist(ImageNormalization.ZeroToOne), or a generated stand-in in CI's smoke run (Shared/ExampleData.cs);
// missing data: the error says which command fetches it.
var mnist = ExampleData.Mnist(ctx, ImageNormalization.ZeroToOne);

using var model = ctx.Autoencoders.Linear()
                     .WithHiddenSize(128)
                     .WithOptimizer(Optimizer.Adam(lr: 1e-3))
                     .Build();
Console.WriteLine($"AE-LIN with {model.ParameterCount:N0} parameters on {ctx.TorchDevice.type}");

using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, args) => { args.Cancel = true; stop.Cancel(); };

var progress = new Progress<TrainingProgress>(p =>
{
    if (p.Step % 200 == 0)
        Console.WriteLine($"epoch {p.Epoch}/{p.Epochs}  step {p.Step}/{p.TotalSteps}  loss {p.Loss:F5}  {p.ExamplesPerSecond:N0} img/s");
});

try
{
    var run = await model.FitAsync(mnist, new TrainingOptions { Epochs = epochs, BatchSize = 64 }, progress, stop.Token);
    foreach (var metric in run.Metrics)
        Console.WriteLine($"{metric.Name}: {metric.Value:G4}  ({metric.HowMeasured})");
    Console.WriteLine($"report: {run.Report}");
}
catch (OperationCanceledException)
{
    Console.WriteLine("stopped; the run folder holds a checkpoint: model.ResumeAsync(folder, mnist) or `generative train --resume <folder>` continues it");
    return 130;
}

// Reconstruct the first 32 test digits and save them under their originals.
using var originals = mnist.TestImages[..32];
using var reconstructions = model.Reconstruct(originals);
originals.SaveGrid("quickstart-originals.png", mnist);
reconstructions.SaveGrid("quickstart-reconstructions.png", model);
model.Save("ae-linear.safetensors");
Console.WriteLine("wrote quickstart-originals.png, quickstart-reconstructions.png and ae-linear.safetensors");
return 0;
