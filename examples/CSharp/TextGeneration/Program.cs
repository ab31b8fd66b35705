// Text generation from C#: train a character-level LSTM language model (char-lstm) on a text file for one short
// epoch, watch progress, stop with Ctrl+C (a checkpoint is kept), then write text after a prompt, all at once and
// streamed piece by piece as it is drawn, and save the model.
//
//     dotnet run -c Release --project examples/CSharp/TextGeneration [-- text-file [epochs]]
//
// The text file defaults to README.md in the current folder (the repository's own, when run from its root); any
// UTF-8 text works, and a few hundred kilobytes or more give a model worth sampling.
using Generative.CSharp;

var path = args.Length > 0 ? args[0] : "README.md";
var epochs = args.Length > 1 && int.TryParse(args[1], out var e) ? e : 1;
if (!File.Exists(path))
{
    Console.Error.WriteLine($"{path}: text file not found. Usage: TextGeneration [text-file [epochs]]");
    return 2;
}

var ctx = new GenerativeContext(seed: 42);                // CUDA when available, else CPU
// TextData.FromFile(path), or a generated text in CI's smoke run (Shared/ExampleData.cs); split 90/5/5 at line ends,
// as `generative train --text` does.
var text = ExampleData.Text(path);

// The vocabulary is built from the text's training part; a bad value is an ArgumentException naming its setting.
using var model = ctx.TextGenerators.CharLstm()
                     .WithHiddenSize(128)
                     .WithEmbeddingSize(64)
                     .WithSequenceLength(64)
                     .WithOptimizer(Optimizer.Adam(lr: 3e-3))
                     .Build(text);
Console.WriteLine($"char-lstm with {model.ParameterCount:N0} parameters, {model.VocabularySize} characters, on {ctx.TorchDevice.type}");

using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, args) => { args.Cancel = true; stop.Cancel(); };

var progress = new Progress<TrainingProgress>(p =>
{
    if (p.Step % 10 == 0)
        Console.WriteLine($"epoch {p.Epoch}/{p.Epochs}  step {p.Step}/{p.TotalSteps}  loss {p.Loss:F3} nats per character  {p.ExamplesPerSecond:N0} characters/s");
});

try
{
    // 16 rows of the text read side by side, 64 characters per step of each.
    var run = await model.FitAsync(text, new TrainingOptions { Epochs = epochs, BatchSize = 16 }, progress, stop.Token);
    foreach (var metric in run.Metrics)
        Console.WriteLine($"{metric.Name}: {metric.Value:G4}  ({metric.HowMeasured})");
    Console.WriteLine($"report: {run.Report}");
}
catch (OperationCanceledException)
{
    Console.WriteLine("stopped; the run folder holds a checkpoint to resume from with `generative train --resume <folder>`");
    return 130;
}

// The same seed writes the same text; temperature 0 would always take the most likely character.
var options = new GenerationOptions { Temperature = 0.8, Seed = 1 };
Console.WriteLine();
Console.WriteLine("The" + model.Generate("The", 200, options));

// Streamed: each character is printed as soon as it is drawn (Ctrl+C stops it).
Console.WriteLine();
Console.Write("A");
try
{
    await foreach (var piece in model.GenerateStreamAsync("A", 300, options with { Seed = 2 }, stop.Token))
        Console.Write(piece);
}
catch (OperationCanceledException) { }
Console.WriteLine();

model.Save("char-lstm.safetensors");
Console.WriteLine("wrote char-lstm.safetensors (load it back with TextGeneratorModel.Load)");
return 0;
