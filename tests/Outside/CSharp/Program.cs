// A C# consumer of the packages, built outside the repository by .ci/outside.sh: it references only Generative.CSharp
// and Generative.Runtime.Cpu. It trains a tiny VAE for a few steps on generated images (no network), samples, saves,
// loads, and checks that the loaded model gives exactly the outputs of the saved one. Exit code 0 means all held.
//     dotnet run -c Release -- <work folder>
using System.Buffers.Binary;
using Generative.CSharp;
using TorchSharp;

var work = args.Length > 0 ? args[0] : Path.Combine(Path.GetTempPath(), "generative-outside-" + Guid.NewGuid().ToString("N"));
Directory.CreateDirectory(work);
// First, as a new user would: without a runtime package this is where the error naming the package to add comes from.
var ctx = new GenerativeContext(seed: 7, device: ComputeDevice.Cpu);
torch.set_num_threads(1); // the check runs next to other jobs; a tiny model gains nothing from threads
var data = ctx.Data.FromIdxFolder(Bars.WriteIdxFolder(Path.Combine(work, "data"), train: 128, test: 32), ImageNormalization.ZeroToOne);
using var vae = ctx.Autoencoders.Variational(4).WithHiddenWidth(32).WithLikelihood(VaeLikelihood.Bernoulli).Build();

var losses = new List<double>();
var progress = new SyncProgress(p => losses.Add(p.Loss));
var run = await vae.FitAsync(data, new TrainingOptions { Epochs = 2, BatchSize = 32, RunsRoot = Path.Combine(work, "runs") }, progress);
Console.WriteLine($"trained {losses.Count} steps: loss {losses[0]:F1} -> {losses[^1]:F1}; run folder {run.Folder}");
Check(losses.Count == 8, $"8 steps (2 epochs of 4 batches), got {losses.Count}");
Check(losses.All(double.IsFinite), "finite losses");
Check(losses[^1] < losses[0], $"the loss went down ({losses[0]:F1} -> {losses[^1]:F1})");

using var samples = vae.Sample(8, seed: 3);
samples.SaveGrid(Path.Combine(work, "samples.png"), vae);
Check(File.Exists(Path.Combine(work, "samples.png")), "samples.png written");

var path = Path.Combine(work, "vae.safetensors");
vae.Save(path);
using var loaded = ctx.Load<VariationalAutoencoderModel>(path);
using var again = loaded.Sample(8, seed: 3);
Check(samples.Equals(again), "the loaded model samples exactly what the saved one did");
using var x = data.TestImages.narrow(0, 0, 8);
using var before = vae.Reconstruct(x);
using var after = loaded.Reconstruct(x);
Check(before.Equals(after), "the loaded model reconstructs exactly as the saved one did");
Console.WriteLine("C# consumer: all checks passed");
return 0;

static void Check(bool condition, string what)
{
    if (!condition)
    {
        Console.Error.WriteLine("FAILED: " + what);
        Environment.Exit(1);
    }
    Console.WriteLine("ok: " + what);
}

/// <summary>Writes a tiny MNIST-format data set: each image a horizontal bar whose row depends on its label.</summary>
static class Bars
{
    public static string WriteIdxFolder(string folder, int train, int test)
    {
        Directory.CreateDirectory(folder);
        Write(folder, "train", train, seed: 1);
        Write(folder, "t10k", test, seed: 2);
        return folder;
    }

    static void Write(string folder, string prefix, int count, int seed)
    {
        var random = new Random(seed);
        var labels = new byte[count];
        var pixels = new byte[count * 28 * 28];
        for (var i = 0; i < count; i++)
        {
            labels[i] = (byte)random.Next(10);
            var row = 2 + labels[i] * 2;
            for (var r = row; r < row + 3; r++)
                for (var c = 4; c < 24; c++)
                    pixels[i * 784 + r * 28 + c] = 255;
        }
        File.WriteAllBytes(Path.Combine(folder, $"{prefix}-images-idx3-ubyte"), Idx(0x803, [count, 28, 28], pixels));
        File.WriteAllBytes(Path.Combine(folder, $"{prefix}-labels-idx1-ubyte"), Idx(0x801, [count], labels));
    }

    static byte[] Idx(int magic, int[] dims, byte[] data)
    {
        var bytes = new byte[4 + 4 * dims.Length + data.Length];
        BinaryPrimitives.WriteInt32BigEndian(bytes, magic);
        for (var d = 0; d < dims.Length; d++) BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4 + 4 * d), dims[d]);
        data.CopyTo(bytes, 4 + 4 * dims.Length);
        return bytes;
    }
}

/// <summary>An IProgress that reports on the training thread (Progress&lt;T&gt; posts asynchronously and could lose the last steps).</summary>
sealed class SyncProgress(Action<TrainingProgress> onReport) : IProgress<TrainingProgress>
{
    public void Report(TrainingProgress value) { lock (this) onReport(value); }
}
