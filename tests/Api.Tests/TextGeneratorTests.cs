using System.Text.Json;
using Microsoft.FSharp.Collections;
using Microsoft.FSharp.Core;
using Xunit;

namespace Generative.CSharp.Tests;

/// <summary>Texts for the language models: generated, tiny, never from the network.</summary>
internal static class TinyText
{
    /// <summary>"abc" repeated, no line breaks: a pattern a tiny LSTM learns within two epochs.</summary>
    public static TextData Abc(int repeats = 700) => TextData.FromString("abc", string.Concat(Enumerable.Repeat("abc", repeats)));

    /// <summary>Lines of "abcabcabc", then lines of "xyzxyz" that fall in the test part only (the last 5%).</summary>
    public static TextData AbcThenXyz() =>
        TextData.FromString("abc-xyz", string.Concat(Enumerable.Repeat("abcabcabc\n", 200)) + string.Concat(Enumerable.Repeat("xyzxyz\n", 5)));

    public static string RunsRoot() => Path.Combine(Path.GetTempPath(), "generative-text-" + Guid.NewGuid().ToString("N"));

    public static string TempFile(string stem, string extension) =>
        Path.Combine(Path.GetTempPath(), stem + "-" + Guid.NewGuid().ToString("N") + extension);

    /// <summary>A tiny character model: one layer of 16, embedding 8, chunks of 10, no dropout, Adam 1e-2.</summary>
    public static TextGeneratorBuilder TinyCharLstm(GenerativeContext ctx) =>
        ctx.TextGenerators.CharLstm().WithHiddenSize(16).WithEmbeddingSize(8).WithLayers(1).WithDropout(0.0).WithSequenceLength(10)
           .WithOptimizer(Optimizer.Adam(1e-2));
}

public sealed class TextDataTests
{
    [Fact]
    public void FromString_rejects_a_text_too_short_to_split()
    {
        var e = Assert.Throws<ArgumentException>(() => TextData.FromString("short", "abc"));
        Assert.Equal("text", e.ParamName);
        Assert.Throws<ArgumentNullException>(() => TextData.FromString("none", null!));
        Assert.Throws<ArgumentException>(() => TextData.FromString(" ", "abc\nabc\nabc\n"));
    }

    [Fact]
    public void FromFile_reads_a_utf8_file_and_names_it()
    {
        var path = TinyText.TempFile("corpus", ".txt");
        var text = string.Concat(Enumerable.Repeat("héllo wörld\n", 40));
        File.WriteAllText(path, text);
        var data = TextData.FromFile(path);
        Assert.Equal(text, data.Text);
        Assert.Equal(Path.GetFileName(path), data.Name);
        Assert.Equal(Path.GetFullPath(path), data.FilePath);
        Assert.Equal(TextCorpus.split(text).Train, data.TrainingText);
        Assert.Throws<FileNotFoundException>(() => TextData.FromFile(path + ".missing"));
    }
}

public sealed class TextGeneratorBuilderTests
{
    private readonly GenerativeContext _ctx = new(seed: 5, device: ComputeDevice.Cpu);

    [Fact]
    public void Builders_start_from_the_catalog_defaults()
    {
        Assert.Equal(LanguageModelEntries.characters.Defaults, _ctx.TextGenerators.CharLstm().Config);
        Assert.Equal(LanguageModelEntries.words.Defaults, _ctx.TextGenerators.WordLstm().Config);
        Assert.Equal("char-lstm", _ctx.TextGenerators.CharLstm().ModelId);
        Assert.Equal("word-lstm", _ctx.TextGenerators.WordLstm().ModelId);
    }

    [Fact]
    public void Every_With_sets_its_setting_on_a_copy()
    {
        var original = _ctx.TextGenerators.WordLstm();
        var edited = original.WithHiddenSize(32).WithLayers(3).WithEmbeddingSize(24).WithDropout(0.1).WithSequenceLength(12)
                             .WithTieWeights(false).WithLowerCase(false).WithMinCount(2).WithMaxVocabulary(500)
                             .WithOptimizer(Optimizer.RmsProp(1e-3)).WithClipNorm(0.5).WithLearningRateHalfLife(100)
                             .WithPrecision(Precision.BFloat16).WithEma(0.99);
        Assert.Equal(LanguageModelEntries.words.Defaults, original.Config);
        Assert.Equal(Precision.Float32, original.Precision);
        Assert.Equal(Precision.BFloat16, edited.Precision);
        Assert.Equal((32, 3, 24, 0.1, 12), (edited.HiddenSize, edited.Layers, edited.EmbeddingSize, edited.Dropout, edited.SequenceLength));
        Assert.Equal((false, false, 2, 500), (edited.TieWeights, edited.LowerCase, edited.MinCount, edited.MaxVocabulary));
        Assert.Equal((Optimizer.RmsProp(1e-3), 0.5, 100), (edited.Optimizer, edited.ClipNorm, edited.LearningRateHalfLife));
        Assert.Equal((0.0, 0.99), (original.EmaDecay, edited.EmaDecay));
        // The record itself, as the command line would read `--set key=value` for each of them.
        var cli = Catalog.find("word-lstm").Configure.Invoke(ListModule.OfSeq(new[]
        {
            Tuple.Create("hidden", "32"), Tuple.Create("layers", "3"), Tuple.Create("embedding", "24"), Tuple.Create("dropout", "0.1"),
            Tuple.Create("sequence-length", "12"), Tuple.Create("tie-weights", "false"), Tuple.Create("lower-case", "false"),
            Tuple.Create("min-count", "2"), Tuple.Create("max-vocabulary", "500"), Tuple.Create("optimizer", "rmsprop:lr=0.001"),
            Tuple.Create("clip-norm", "0.5"), Tuple.Create("lr-half-life", "100"), Tuple.Create("precision", "bf16"),
            Tuple.Create("ema", "0.99"),
        }));
        Assert.Equal(cli.Settings, ModelSpec.configured(LanguageModelEntries.words, edited.Config).Settings);
    }

    public static IEnumerable<object[]> BadValues() =>
    [
        ["hidden"], ["layers"], ["embedding"], ["dropout"], ["tie-weights"], ["sequence-length"], ["min-count"], ["max-vocabulary"],
        ["clip-norm"], ["lr-half-life"], ["ema"],
    ];

    private TextGeneratorBuilder Bad(string key)
    {
        var chars = TinyText.TinyCharLstm(_ctx);
        return key switch
        {
            "hidden" => chars.WithHiddenSize(0),
            "layers" => chars.WithLayers(0),
            "embedding" => chars.WithEmbeddingSize(-1),
            "dropout" => chars.WithDropout(1.0),
            "tie-weights" => chars.WithTieWeights(true),   // embedding 8, hidden 16
            "sequence-length" => chars.WithSequenceLength(0),
            "min-count" => chars.WithMinCount(0),
            "max-vocabulary" => chars.WithMaxVocabulary(1),
            "clip-norm" => chars.WithClipNorm(double.PositiveInfinity),
            "lr-half-life" => chars.WithLearningRateHalfLife(-1),
            "ema" => chars.WithEma(1.0),
            _ => throw new ArgumentException(key),
        };
    }

    [Theory]
    [MemberData(nameof(BadValues))]
    public void Build_rejects_a_bad_value_naming_its_setting_key(string key)
    {
        var e = Assert.Throws<ArgumentException>(() => Bad(key).Build(TinyText.Abc()));
        Assert.Equal(key, e.ParamName);
        // The same name `--set` takes for these models.
        Assert.Contains(key, Catalog.find("char-lstm").Settings.Select(s => s.Key));
    }

    [Fact]
    public void WithPrecision_rejects_an_undefined_value_naming_its_setting_key()
    {
        var e = Assert.Throws<ArgumentException>(() => _ctx.TextGenerators.CharLstm().WithPrecision((Precision)7));
        Assert.Equal("precision", e.ParamName);
        Assert.Contains("precision", Catalog.find("char-lstm").Settings.Select(s => s.Key));
    }

    [Fact]
    public void Build_needs_a_corpus()
    {
        Assert.Throws<ArgumentNullException>(() => _ctx.TextGenerators.CharLstm().Build(null!));
        Assert.Throws<ArgumentNullException>(() => _ctx.TextGenerators.CharLstm().WithOptimizer(null!));
    }

    [Fact]
    public void Build_takes_the_vocabulary_from_the_training_part_as_the_command_line_does()
    {
        var corpus = TinyText.AbcThenXyz();
        var builder = TinyText.TinyCharLstm(_ctx);
        using var model = builder.Build(corpus);
        // <unk>, "\n", a, b, c: the x, y and z of the test part are not in it.
        Assert.Equal(5, model.VocabularySize);
        var unfitted = ModelSpec.configured(builder.Spec, builder.Config).Settings;
        var cli = Catalog.find("char-lstm").FitToData.Invoke(RunData.NewTextData(corpus.Source)).Invoke(unfitted);
        Assert.Equal(cli.Select(t => (t.Item1, t.Item2)), model.Settings);
        Assert.Contains(model.Settings, s => s.Key == "vocabulary" && s.Value.Length > 0);
    }

    [Fact]
    public void Same_context_seed_same_initial_weights()
    {
        using var a = TinyText.TinyCharLstm(_ctx).Build(TinyText.Abc());
        using var b = TinyText.TinyCharLstm(new GenerativeContext(seed: 5, device: ComputeDevice.Cpu)).Build(TinyText.Abc());
        var options = new GenerationOptions { Temperature = 0 };
        Assert.Equal(a.Generate("ab", 40, options), b.Generate("ab", 40, options));
    }
}

public sealed class TextGenerationTests
{
    private readonly GenerativeContext _ctx = new(seed: 9, device: ComputeDevice.Cpu);

    [Fact]
    public async Task A_tiny_model_learns_a_repeated_string_and_continues_it_at_temperature_0()
    {
        var corpus = TinyText.Abc();
        using var model = TinyText.TinyCharLstm(_ctx).Build(corpus);
        var progress = new RecordingProgress<TrainingProgress>();
        var run = await model.FitAsync(corpus, new TrainingOptions { Epochs = 2, BatchSize = 8, RunsRoot = TinyText.RunsRoot() }, progress);

        Assert.Equal(2, run.Epochs.Count);
        Assert.Equal(progress.Items.Count, (int)progress.Items[^1].TotalSteps);
        Assert.True(run.Epochs[1].Metrics["val loss"] < 0.1, $"val loss {run.Epochs[1].Metrics["val loss"]} nats per character");
        Assert.Contains(run.Metrics, m => m.Name == "test bits per character");
        Assert.Equal("abcabcabcabcabc", model.Generate("abc", 15, new GenerationOptions { Temperature = 0 }));
        Assert.Equal("cabcab", model.Generate("ab", 6, new GenerationOptions { Temperature = 0 }));
    }

    [Fact]
    public void TopK_1_draws_what_temperature_0_picks()
    {
        // An untrained model: its next-token distribution is far from certain, so plain sampling would differ.
        using var model = TinyText.TinyCharLstm(_ctx).Build(TinyText.AbcThenXyz());
        var greedy = model.Generate("ab", 60, new GenerationOptions { Temperature = 0 });
        Assert.Equal(greedy, model.Generate("ab", 60, new GenerationOptions { Temperature = 1.5, TopK = 1, Seed = 3 }));
        Assert.NotEqual(greedy, model.Generate("ab", 60, new GenerationOptions { Temperature = 1.5, Seed = 3 }));
    }

    [Fact]
    public void The_same_seed_gives_the_same_text()
    {
        using var model = TinyText.TinyCharLstm(_ctx).Build(TinyText.AbcThenXyz());
        var a = model.Generate("", 50, new GenerationOptions { Temperature = 1.0, Seed = 17 });
        Assert.Equal(50, a.Length);
        Assert.Equal(a, model.Generate("", 50, new GenerationOptions { Temperature = 1.0, Seed = 17 }));
        Assert.NotEqual(a, model.Generate("", 50, new GenerationOptions { Temperature = 1.0, Seed = 18 }));
    }

    [Theory]
    [InlineData(-0.5, 0, 1.0, "temperature")]
    [InlineData(double.NaN, 0, 1.0, "temperature")]
    [InlineData(1.0, -1, 1.0, "top-k")]
    [InlineData(1.0, 0, 0.0, "top-p")]
    [InlineData(1.0, 0, 1.5, "top-p")]
    public void Generation_rejects_bad_options_naming_them_as_generate_does(double temperature, int topK, double topP, string param)
    {
        using var model = TinyText.TinyCharLstm(_ctx).Build(TinyText.Abc());
        var options = new GenerationOptions { Temperature = temperature, TopK = topK, TopP = topP };
        Assert.Equal(param, Assert.Throws<ArgumentException>(() => model.Generate("a", 5, options)).ParamName);
        // Checked by the call itself, before anything is enumerated.
        Assert.Equal(param, Assert.Throws<ArgumentException>(() => model.GenerateStreamAsync("a", 5, options)).ParamName);
        Assert.Equal("length", Assert.Throws<ArgumentException>(() => model.GenerateStreamAsync("a", -1)).ParamName);
        Assert.Equal("length", Assert.Throws<ArgumentException>(() => model.Generate("a", -1)).ParamName);
        Assert.Throws<ArgumentNullException>(() => model.Generate(null!, 5));
    }

    [Fact]
    public async Task GenerateStreamAsync_pieces_concatenate_to_what_Generate_writes_with_the_same_seed()
    {
        using var model = TinyText.TinyCharLstm(_ctx).Build(TinyText.AbcThenXyz());
        var options = new GenerationOptions { Temperature = 1.0, Seed = 11 };
        var pieces = new List<string>();
        await foreach (var piece in model.GenerateStreamAsync("abc", 80, options))
            pieces.Add(piece);
        Assert.Equal(80, pieces.Count);
        Assert.All(pieces, p => Assert.Single(p));
        Assert.Equal(model.Generate("abc", 80, options), string.Concat(pieces));
    }

    // How long writing `length` tokens takes in full: what a stream that does not stop its generation would take.
    private static TimeSpan FullGeneration(TextGeneratorModel model, int length)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        model.Generate("a", length, new GenerationOptions { Seed = 1 });
        return clock.Elapsed;
    }

    // The streams below ask for 100 times the tokens timed in full (1,000, about 0.4 s on 2 cores), so a stream whose
    // generation went on would take about 40 s; one that stops takes its start-up (a few tenths of a second, which a
    // bound relative to 1,000 tokens does not survive) plus a few tokens. The bound, 10 times the 1,000 tokens' time,
    // sits far from both.
    private const int TimedTokens = 1000;
    private const int StreamedTokens = 100 * TimedTokens;

    [Fact]
    public async Task GenerateStreamAsync_stops_generating_when_cancelled()
    {
        using var model = TinyText.TinyCharLstm(_ctx).Build(TinyText.Abc());
        var full = FullGeneration(model, TimedTokens);
        using var cts = new CancellationTokenSource();
        var count = 0;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var _ in model.GenerateStreamAsync("a", StreamedTokens, new GenerationOptions { Seed = 1 }, cts.Token))
                if (++count == 5) cts.Cancel();
        });
        // The enumeration ends only once its generation has (it awaits it), so a stopped generation ends it early.
        Assert.Equal(5, count);
        Assert.True(clock.Elapsed < full * 10, $"cancelled after {clock.Elapsed}; {TimedTokens} tokens take {full}, {StreamedTokens} about 100 times that");
    }

    [Fact]
    public async Task Leaving_the_enumeration_early_stops_generation()
    {
        using var model = TinyText.TinyCharLstm(_ctx).Build(TinyText.Abc());
        var full = FullGeneration(model, TimedTokens);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var first = new List<string>();
        await foreach (var piece in model.GenerateStreamAsync("a", StreamedTokens, new GenerationOptions { Seed = 1 }))
        {
            first.Add(piece);
            if (first.Count == 3) break;
        }
        Assert.Equal(3, first.Count);
        Assert.True(clock.Elapsed < full * 10, $"left after {clock.Elapsed}; {TimedTokens} tokens take {full}, {StreamedTokens} about 100 times that");
    }
}

public sealed class TextGeneratorFileTests
{
    private readonly GenerativeContext _ctx = new(seed: 13, device: ComputeDevice.Cpu);

    [Fact]
    public async Task Save_then_Load_generates_the_same_text()
    {
        var corpus = TinyText.Abc(300);
        using var model = TinyText.TinyCharLstm(_ctx).Build(corpus);
        await model.FitAsync(corpus, new TrainingOptions { Epochs = 1, BatchSize = 8, RunsRoot = TinyText.RunsRoot() });
        var path = TinyText.TempFile("char-lstm", ".safetensors");
        model.Save(path);
        using var loaded = TextGeneratorModel.Load(new GenerativeContext(seed: 99, device: ComputeDevice.Cpu), path);
        Assert.Equal(model.Settings, loaded.Settings);
        Assert.Equal(model.VocabularySize, loaded.VocabularySize);
        Assert.Equal(model.ParameterCount, loaded.ParameterCount);
        var options = new GenerationOptions { Temperature = 1.0, Seed = 4 };
        Assert.Equal(model.Generate("ab", 100, options), loaded.Generate("ab", 100, options));
    }

    [Fact]
    public void A_text_generator_file_is_not_an_image_model_and_back()
    {
        using var model = TinyText.TinyCharLstm(_ctx).Build(TinyText.Abc());
        var path = TinyText.TempFile("char-lstm", ".safetensors");
        model.Save(path);
        var e = Assert.Throws<InvalidDataException>(() => AutoencoderModel.Load(_ctx, path));
        Assert.Contains("char-lstm (a text generator), which is not an autoencoder", e.Message);
        using var ae = _ctx.Autoencoders.Linear().WithHiddenSize(8).Build();
        var aePath = TinyText.TempFile("ae", ".safetensors");
        ae.Save(aePath);
        Assert.Contains("not a text generator", Assert.Throws<InvalidDataException>(() => TextGeneratorModel.Load(_ctx, aePath)).Message);
    }

    [Fact]
    public async Task A_fit_on_a_string_keeps_the_text_in_its_run_folder_and_resumes_from_it()
    {
        var corpus = TinyText.Abc(300);
        using var model = TinyText.TinyCharLstm(_ctx).Build(corpus);
        var folder = Path.Combine(TinyText.RunsRoot(), "run");
        var run = await model.FitAsync(corpus, new TrainingOptions { Epochs = 1, BatchSize = 8, RunFolder = folder });
        Assert.Equal(folder, run.Folder);

        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "run.json")));
        var textFile = json.RootElement.GetProperty("textFile").GetString()!;
        Assert.Equal(Path.GetFullPath(Path.Combine(folder, "text.txt")), textFile);
        Assert.Equal(corpus.Text, File.ReadAllText(textFile));
        Assert.Equal("abc", json.RootElement.GetProperty("dataset").GetString());
        var written = json.RootElement.GetProperty("modelSettings").EnumerateObject().Select(p => (p.Name, p.Value.GetString()!));
        Assert.Equal(model.Settings, written);

        // What `generative train --resume <folder> --epochs 2` does.
        var resumed = Experiment.resume(folder, FSharpOption<TrainingBudget>.Some(TrainingBudget.NewEpochs(2)), DeviceChoice.Cpu, Experiment.consoleEvents, CancellationToken.None);
        Assert.True(resumed.Outcome.IsCompleted, $"resume: {resumed.Outcome}");
        Assert.Equal(2, resumed.History.Epochs.Length);
    }

    [Fact]
    public async Task A_fit_on_a_file_names_the_file_in_run_json()
    {
        var path = TinyText.TempFile("abc", ".txt");
        File.WriteAllText(path, string.Concat(Enumerable.Repeat("abcabc\n", 50)));
        var corpus = TextData.FromFile(path);
        using var model = TinyText.TinyCharLstm(_ctx).Build(corpus);
        var run = await model.FitAsync(corpus, new TrainingOptions { Epochs = 1, BatchSize = 4, RunsRoot = TinyText.RunsRoot() });
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(run.Folder, "run.json")));
        Assert.Equal(Path.GetFullPath(path), json.RootElement.GetProperty("textFile").GetString());
        Assert.False(File.Exists(Path.Combine(run.Folder, "text.txt")), "a file is named, not copied");
    }
}
