using System.Buffers.Binary;

namespace Generative.CSharp.Tests;

/// <summary>Writes a tiny MNIST-format data set (IDX files) to a temporary folder: no network, no real data.</summary>
internal static class TinyData
{
    /// <summary>A folder with train/t10k images and labels: a bar whose row depends on the label.</summary>
    public static string Create(int train = 256, int test = 64)
    {
        var folder = Path.Combine(Path.GetTempPath(), "generative-api-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        Write(folder, "train", train, seed: 1);
        Write(folder, "t10k", test, seed: 2);
        return folder;
    }

    private static void Write(string folder, string prefix, int count, int seed)
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

    private static byte[] Idx(int magic, int[] dims, byte[] data)
    {
        var bytes = new byte[4 + 4 * dims.Length + data.Length];
        BinaryPrimitives.WriteInt32BigEndian(bytes, magic);
        for (var d = 0; d < dims.Length; d++) BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4 + 4 * d), dims[d]);
        data.CopyTo(bytes, 4 + 4 * dims.Length);
        return bytes;
    }
}

/// <summary>An IProgress that records synchronously (Progress&lt;T&gt; posts asynchronously).</summary>
internal sealed class RecordingProgress<T>(Action<T>? onReport = null) : IProgress<T>
{
    private readonly List<T> _items = [];

    public IReadOnlyList<T> Items { get { lock (_items) return _items.ToList(); } }

    public void Report(T value)
    {
        lock (_items) _items.Add(value);
        onReport?.Invoke(value);
    }
}
