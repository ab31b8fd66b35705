using Microsoft.FSharp.Collections;

namespace Generative.CSharp;

/// <summary>
/// A text a language model trains on (<see cref="TextGeneratorModel"/>): a UTF-8 file or a string. Training splits it
/// as the command line does (<c>TextCorpus.split</c>): the first 90% for training, then 5% for validation and 5% for
/// the test, each cut moved to the next line start; the vocabulary comes from the training part only.
/// </summary>
public sealed class TextData
{
    private TextData(TextSource source, string? path)
    {
        Source = source;
        FilePath = path;
    }

    /// <summary>The library's text value, as a run holds it.</summary>
    internal TextSource Source { get; }

    /// <summary>The file the text was read from (full path), or null for a text given as a string.</summary>
    public string? FilePath { get; }

    /// <summary>For reports: the file's name, or the name given with the string.</summary>
    public string Name => Source.Name;

    /// <summary>The whole text.</summary>
    public string Text => Source.Text;

    /// <summary>
    /// Reads a UTF-8 text file (plain or .gz; a byte-order mark is dropped), as <c>generative train --text FILE</c>
    /// does.
    /// </summary>
    /// <exception cref="FileNotFoundException">No such file.</exception>
    /// <exception cref="InvalidDataException">The file is not UTF-8 or holds no text; the message names it.</exception>
    /// <exception cref="ArgumentException">The text is too short for non-empty training, validation and test parts;
    /// ParamName is "text".</exception>
    public static TextData FromFile(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var full = System.IO.Path.GetFullPath(path);
        return Checked(new TextData(TextCorpus.readFile(full), full));
    }

    /// <summary>A text held in memory. Training copies it into its run folder (as text.txt), so the run can be
    /// resumed with <c>generative train --resume</c>.</summary>
    /// <param name="name">A name for reports, e.g. "my-notes".</param>
    /// <param name="text">The text.</param>
    /// <exception cref="ArgumentNullException"><paramref name="name"/> or <paramref name="text"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="name"/> is empty (ParamName "name"), or the text is too short
    /// for non-empty training, validation and test parts (ParamName "text").</exception>
    public static TextData FromString(string name, string text)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(text);
        return Checked(new TextData(new TextSource(name, text, FSharpList<Tuple<string, string>>.Empty), null));
    }

    // Split once when created, so a text too short to train on is reported where it is given rather than at Build().
    private static TextData Checked(TextData data)
    {
        _ = TextCorpus.split(data.Text);
        return data;
    }

    /// <summary>The part a model trains on (and builds its vocabulary from): about the first 90%.</summary>
    public string TrainingText => TextCorpus.split(Text).Train;

    internal RunData RunData => RunData.NewTextData(Source);
}
