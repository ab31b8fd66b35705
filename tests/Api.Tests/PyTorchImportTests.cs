using System.Collections;
using Microsoft.FSharp.Collections;
using TorchSharp;
using TorchSharp.PyBridge;
using Xunit;

namespace Generative.CSharp.Tests;

/// <summary><c>ctx.ImportPyTorch</c>: a PyTorch state dict (.pth) into a catalog model, checked by name.</summary>
public sealed class PyTorchImportTests
{
    private readonly GenerativeContext _ctx = new(seed: 1, device: ComputeDevice.Cpu);

    /// <summary>Writes the library's ae-linear weights (seeded), renamed by <paramref name="rename"/>, as a .pth file.</summary>
    private static (string Path, RunModel Source) WriteAeLinear(Func<string, string> rename)
    {
        Generative.Device.seed(5);
        var source = Catalog.find("ae-linear").Configure.Invoke(FSharpList<Tuple<string, string>>.Empty).Build.Invoke(torch.CPU);
        var table = new Hashtable();
        foreach (var entry in Checkpoint.stateOf(source.Trainer)) table[rename(entry.Item1)] = entry.Item2;
        var path = Path.Combine(Path.GetTempPath(), "ae-" + Guid.NewGuid().ToString("N") + ".pth");
        using (var stream = File.Create(path)) PyTorchPickler.PickleStateDict(stream, table, false);
        return (path, source);
    }

    [Fact]
    public void ImportPyTorch_gives_the_source_models_reconstructions_and_saves_a_loadable_model_file()
    {
        var (path, source) = WriteAeLinear(name => name);
        var saved = Path.ChangeExtension(path, ".safetensors");
        try
        {
            using var imported = Assert.IsType<AutoencoderModel>(_ctx.ImportPyTorch("ae-linear", path));
            using var x = torch.rand(4, 1, 28, 28);
            using var expected = source.Reconstruct.Value.Invoke(x);
            using var a = imported.Reconstruct(x);
            Assert.True(a.Equals(expected), "the .pth's weights");
            imported.Save(saved);
            using var loaded = _ctx.Load<AutoencoderModel>(saved);
            using var b = loaded.Reconstruct(x);
            Assert.True(b.Equals(expected), "the saved model file holds them");
        }
        finally { File.Delete(path); File.Delete(saved); }
    }

    [Fact]
    public void ImportPyTorch_refuses_a_renamed_tensor_naming_it_and_the_file()
    {
        var (path, _) = WriteAeLinear(name => name == "decoder.0.weight" ? "decoder.weight" : name);
        try
        {
            var e = Assert.Throws<InvalidDataException>(() => _ctx.ImportPyTorch("ae-linear", path));
            Assert.Contains("decoder.0.weight", e.Message);
            Assert.Contains(path, e.Message);
        }
        finally { File.Delete(path); }
    }
}
