// Quick start of the autoencoder family from C#: a variational autoencoder (train, sample from N(0, I), read the ELBO
// and the importance-sampled NLL) and a denoising autoencoder (train on noisy input, clean noisy test digits).
//
//     ./generative data fetch mnist
//     dotnet run -c Release --project examples/CSharp/Autoencoders [-- epochs]
using Generative.CSharp;
using TorchSharp;

var epochs = args.Length > 0 && int.TryParse(args[0], out var e) ? e : 1;
var ctx = new GenerativeContext(seed: 42);
var progress = new Progress<TrainingProgress>(p =>
{
    if (p.Step % 300 == 0)
        Console.WriteLine($"  step {p.Step}/{p.TotalSteps}  " + p.Metrics);   // every term the model reports, e.g. "kl 27.1  loss 531  reconstruction 504"
});

// A VAE with the source's 20-d latent space; β weighs the KL term, the likelihood can be Gaussian or Bernoulli.
// ExampleData.Mnist is ctx.Data.Mnist, or a generated stand-in in CI's smoke run (Shared/ExampleData.cs).
var minusOneToOne = ExampleData.Mnist(ctx, ImageNormalization.MinusOneToOne);
using (var vae = ctx.Autoencoders.Variational(latentDim: 20).WithBeta(1.0).Build())
{
    Console.WriteLine($"VAE with {vae.ParameterCount:N0} parameters");
    var run = await vae.FitAsync(minusOneToOne, new TrainingOptions { Epochs = epochs, BatchSize = 128 }, progress);
    foreach (var metric in run.Metrics)
        Console.WriteLine($"  {metric.Name}: {metric.Value:G5}");
    using var samples = vae.Sample(64, seed: 1);
    samples.SaveGrid("vae-samples.png", vae);   // [-1, 1] images, drawn as the model's normalisation says
    Console.WriteLine($"  report: {run.Report}; wrote vae-samples.png");
}

// A denoising autoencoder: Gaussian noise (std 0.5) on [0, 1] digits, clean digits as targets.
var zeroToOne = ExampleData.Mnist(ctx, ImageNormalization.ZeroToOne);
using (var dae = ctx.Autoencoders.Denoising(Noise.Gaussian(0.5)).Build())
{
    Console.WriteLine("Denoising autoencoder");
    var run = await dae.FitAsync(zeroToOne, new TrainingOptions { Epochs = epochs, BatchSize = 64 }, progress);
    using var clean = zeroToOne.TestImages[..16];
    using var noisy = (clean + torch.randn_like(clean) * 0.5).clamp(0.0, 1.0);
    using var denoised = dae.Reconstruct(noisy);
    noisy.SaveGrid("dae-noisy.png", zeroToOne);
    denoised.SaveGrid("dae-denoised.png", dae);
    Console.WriteLine($"  test MSE per pixel: {run.Metrics.First(m => m.Name == "test MSE per pixel").Value:G4}; wrote dae-noisy.png, dae-denoised.png");
}
return 0;
