using System.Buffers.Binary;
using System.IO.Compression;
using TorchSharp;
using Xunit;

namespace Generative.CSharp.Tests;

/// <summary>Picture grids take their value range from the model (or data set) the images belong to.</summary>
public sealed class SaveGridTests
{
    private readonly GenerativeContext _ctx = new(seed: 1, device: ComputeDevice.Cpu);

    private static string TempPng() => Path.Combine(Path.GetTempPath(), "grid-" + Guid.NewGuid().ToString("N") + ".png");

    // The library writes 8-bit greyscale PNGs with filter 0 on every row; this reads one back as rows of grey levels.
    private static byte[][] ReadGreyPng(string path)
    {
        var png = File.ReadAllBytes(path);
        var (pos, width, height) = (8, 0, 0);
        using var idat = new MemoryStream();
        while (pos < png.Length)
        {
            var length = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(pos, 4));
            var kind = System.Text.Encoding.ASCII.GetString(png, pos + 4, 4);
            if (kind == "IHDR")
            {
                width = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(pos + 8, 4));
                height = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(pos + 12, 4));
                Assert.Equal(0, png[pos + 8 + 9]);   // colour type: grey
            }
            if (kind == "IDAT") idat.Write(png, pos + 8, length);
            pos += 12 + length;
        }
        idat.Position = 0;
        using var z = new ZLibStream(idat, CompressionMode.Decompress);
        using var raw = new MemoryStream();
        z.CopyTo(raw);
        var bytes = raw.ToArray();
        return Enumerable.Range(0, height).Select(y => bytes.AsSpan(y * (width + 1) + 1, width).ToArray()).ToArray();
    }

    // The grey level at the centre of image `index` of a one-row grid of 28x28 images (2-pixel padding).
    private static byte CentreGrey(string path, int index) => ReadGreyPng(path)[2 + 14][2 + index * 30 + 14];

    [Fact]
    public void A_gans_images_in_minus_one_to_one_are_drawn_from_black_to_white()
    {
        using var gan = _ctx.Gans.Mlp().Build();
        Assert.Equal(ImageNormalization.MinusOneToOne, gan.Normalization);
        // What a GAN's tanh output holds: -1 (black), 0 (mid grey) and 1 (white).
        using var images = torch.cat([torch.full(1, 1, 28, 28, -1f), torch.zeros(1, 1, 28, 28), torch.ones(1, 1, 28, 28)], 0);
        var path = TempPng();
        images.SaveGrid(path, gan);
        Assert.Equal(0, CentreGrey(path, 0));
        Assert.InRange(CentreGrey(path, 1), 127, 128);
        Assert.Equal(255, CentreGrey(path, 2));
    }

    [Fact]
    public void A_data_sets_images_are_drawn_in_its_normalisation()
    {
        var data = _ctx.Data.FromIdxFolder(TinyData.Create(8, 8), ImageNormalization.MeanStd);
        using var images = data.TestImages.narrow(0, 0, 1);
        var path = TempPng();
        images.SaveGrid(path, data);
        // TinyData draws a white bar on black: both must survive the round trip through mean/std.
        var greys = ReadGreyPng(path).Skip(2).Take(28).SelectMany(row => row.Skip(2).Take(28)).ToHashSet();
        Assert.Contains((byte)0, greys);
        Assert.Contains((byte)255, greys);
        Assert.Equal("normalization", Assert.Throws<ArgumentException>(() => images.SaveGrid(TempPng(), (ImageNormalization)9)).ParamName);
    }
}
