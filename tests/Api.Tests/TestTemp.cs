using System.Runtime.CompilerServices;

namespace Generative.CSharp.Tests;

/// <summary>
/// Points the test process's temporary directory (TMPDIR, which <see cref="Path.GetTempPath"/> reads at every call and
/// child processes inherit) at a folder of its own when the assembly loads, and deletes that folder, with whatever the
/// tests left in it, when the process exits. Without it every run left hundreds of run folders and model files in /tmp.
/// </summary>
internal static class TestTemp
{
    [ModuleInitializer]
    internal static void Isolate()
    {
        var folder = Path.Combine(Path.GetTempPath(), $"generative-api-tests-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(folder);
        Environment.SetEnvironmentVariable("TMPDIR", folder);
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try { Directory.Delete(folder, true); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Console.Error.WriteLine($"tests: could not delete their temporary folder {folder}: {e.Message}");
            }
        };
    }
}
