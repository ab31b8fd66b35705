namespace Generative.CSharp;

/// <summary>
/// The language models (LM-LSTM), each as a typed builder over its catalog model (<c>LanguageModelEntries</c>):
/// <c>ctx.TextGenerators.CharLstm().WithHiddenSize(128).Build(corpus)</c>. The vocabulary comes from the corpus given
/// to Build.
/// </summary>
public sealed class TextGeneratorCatalog
{
    private readonly GenerativeContext _context;

    internal TextGeneratorCatalog(GenerativeContext context) => _context = context;

    /// <summary>
    /// char-lstm: character level, every character of the training text a token; 2 x 256 LSTM, embedding 128,
    /// dropout 0.2, sequence 100, Adam 2e-3, clipping at norm 5.
    /// </summary>
    public TextGeneratorBuilder CharLstm() => new(_context, LanguageModelEntries.characters);

    /// <summary>
    /// word-lstm: word level, lower-cased words seen at least 3 times (at most 10,000 tokens), punctuation marks and
    /// line breaks as tokens; 2 x 256 LSTM with tied embedding and output weights, dropout 0.3, sequence 35, Adam
    /// 2e-3, clipping at norm 5.
    /// </summary>
    public TextGeneratorBuilder WordLstm() => new(_context, LanguageModelEntries.words);

    /// <summary>
    /// Loads a text generator saved with <see cref="TrainableModel.Save"/>, or the newest checkpoint of a run folder of one.
    /// </summary>
    /// <exception cref="FileNotFoundException">No such file or folder.</exception>
    /// <exception cref="InvalidDataException">Not a model file, a damaged one, or another kind of model; the message names
    /// the file and what it holds.</exception>
    public TextGeneratorModel Load(string path) => ModelLoader.Load<TextGeneratorModel>(_context, path);
}
