namespace Generative.CSharp;

/// <summary>The distribution of the generator's input noise.</summary>
public enum GanNoise
{
    /// <summary>z ~ N(0, I).</summary>
    Normal,
    /// <summary>z ~ U[-1, 1].</summary>
    Uniform,
}
