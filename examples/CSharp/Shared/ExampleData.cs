// The data the C# examples train on, shared by every example project (each links this file). Normally it is exactly
// the library's call (ctx.Data.Mnist, TextData.FromFile). GENERATIVE_EXAMPLE_SMOKE=1 (set by `./test.sh examples`)
// makes the examples run in seconds without the network: MNIST becomes a small generated stand-in of the same shapes,
// written as IDX files and read back through ctx.Data.FromIdxFolder, and a text becomes a short generated one, so one
// epoch is a few steps. The variable is read here only, so the examples themselves show the real thing.
using Generative.CSharp;

internal static class ExampleData
{
    /// <summary>True when the examples run as a smoke test on generated data (GENERATIVE_EXAMPLE_SMOKE=1).</summary>
    public static bool Smoke { get; } = Environment.GetEnvironmentVariable("GENERATIVE_EXAMPLE_SMOKE") == "1";

    /// <summary>MNIST from the local cache (<c>ctx.Data.Mnist</c>); in a smoke run, 512 generated training and 256
    /// test images whose label k is a bright bar at row 2 + 2k.</summary>
    public static ImageData Mnist(GenerativeContext ctx, ImageNormalization normalization)
    {
        if (!Smoke) return ctx.Data.Mnist(normalization);
        var folder = Directory.CreateTempSubdirectory("generative-example-mnist-").FullName;
        WriteSplit(folder, "train", 512, new Random(1));
        WriteSplit(folder, "t10k", 256, new Random(2));
        return ctx.Data.FromIdxFolder(folder, normalization, "MNIST (generated stand-in)");
    }

    /// <summary>The text in <paramref name="path"/> (<c>TextData.FromFile</c>); in a smoke run, a short generated
    /// text.</summary>
    public static TextData Text(string path) =>
        Smoke
            ? TextData.FromString("generated text", string.Concat(Enumerable.Range(0, 200).Select(i =>
                $"Line {i}: the quick brown fox jumps over the lazy dog {i % 7} times.\n")))
            : TextData.FromFile(path);

    private static void WriteSplit(string folder, string prefix, int count, Random random)
    {
        var labels = new byte[count];
        var pixels = new byte[count * 28 * 28];
        for (var i = 0; i < count; i++)
        {
            labels[i] = (byte)random.Next(10);
            for (var p = 0; p < 28 * 28; p++)
            {
                var row = p / 28;
                var onBar = row >= 2 + 2 * labels[i] && row < 5 + 2 * labels[i];
                pixels[i * 28 * 28 + p] = onBar ? (byte)255 : (byte)random.Next(26);
            }
        }
        WriteIdx(Path.Combine(folder, $"{prefix}-images-idx3-ubyte"), [count, 28, 28], pixels);
        WriteIdx(Path.Combine(folder, $"{prefix}-labels-idx1-ubyte"), [count], labels);
    }

    // IDX: two zero bytes, the type (0x08: unsigned byte), the number of dimensions, each dimension as a big-endian
    // 32-bit integer, then the data.
    private static void WriteIdx(string path, int[] dims, byte[] data)
    {
        using var writer = new BinaryWriter(File.Create(path));
        writer.Write(new byte[] { 0, 0, 0x08, (byte)dims.Length });
        foreach (var d in dims) writer.Write(System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(d));
        writer.Write(data);
    }
}
