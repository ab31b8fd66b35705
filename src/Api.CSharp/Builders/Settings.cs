using System.Globalization;

namespace Generative.CSharp;

/// <summary>Argument checks and setting texts shared by the builders (the catalog's key=value form).</summary>
internal static class Settings
{
    public static string Int(int value) => value.ToString(CultureInfo.InvariantCulture);

    public static string Number(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    public static void Positive(int value, string paramName, string what)
    {
        if (value < 1)
            throw new ArgumentException($"{paramName}: expected {what} (at least 1) but got {value}.", paramName);
    }
}
