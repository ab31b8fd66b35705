// MSBuild inline task (compiled by RoslynCodeTaskFactory): makes TorchSharp's native shim loadable on hosts
// whose libstdc++ lacks GLIBCXX_3.4.32 (Debian 12), by setting VER_FLG_WEAK on that version-need entry.
// Kept as a C# task so the build needs neither Python nor binutils.
using System;
using System.IO;
using System.Linq;
using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

public class MarkGlibcxxNeedWeak : Task
{
    const string MissingVersion = "GLIBCXX_3.4.32";
    const uint ShtGnuVerneed = 0x6ffffffe;
    const ushort VerFlgWeak = 0x2;

    [Required] public string Folder { get; set; } = "";

    public override bool Execute()
    {
        if (!Directory.Exists(Folder)) return true;
        var fallback = Path.Combine(Folder, "cpu");
        if (Directory.Exists(fallback) && File.Exists(Path.Combine(fallback, "libLibTorchSharp.so")))
        {
            Directory.Delete(fallback, true);
            Log.LogMessage(MessageImportance.High, "Removed TorchSharp's unpatched fallback folder " + fallback);
        }
        if (HostHasVersion()) return true;
        foreach (var lib in Directory.EnumerateFiles(Folder, "libLibTorchSharp.so", SearchOption.AllDirectories))
        {
            try
            {
                if (Patch(lib)) Log.LogMessage(MessageImportance.High, "Marked " + MissingVersion + " weak in " + lib);
            }
            catch (Exception e)
            {
                Log.LogError("Could not patch " + lib + " for this host's libstdc++: " + e.Message);
            }
        }
        return !Log.HasLoggedErrors;
    }

    static bool HostHasVersion()
    {
        string[] candidates =
        {
            "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/lib/aarch64-linux-gnu/libstdc++.so.6",
            "/usr/lib64/libstdc++.so.6", "/usr/lib/libstdc++.so.6", "/lib64/libstdc++.so.6",
        };
        var found = candidates.FirstOrDefault(File.Exists);
        if (found == null) return true; // not a glibc/libstdc++ host we know: leave the library alone
        return IndexOf(File.ReadAllBytes(found), Encoding.ASCII.GetBytes(MissingVersion + "\0")) >= 0;
    }

    static int IndexOf(byte[] haystack, byte[] needle)
    {
        for (int i = 0; i <= haystack.Length - needle.Length; i++)
        {
            int j = 0;
            while (j < needle.Length && haystack[i + j] == needle[j]) j++;
            if (j == needle.Length) return i;
        }
        return -1;
    }

    /// Returns true when the file was changed. Writes a new file and renames it over the old one, so a
    /// hard link into the NuGet cache (if the copy made one) is broken rather than edited.
    static bool Patch(string path)
    {
        var b = File.ReadAllBytes(path);
        if (b.Length < 64 || b[0] != 0x7f || b[1] != (byte)'E' || b[2] != (byte)'L' || b[3] != (byte)'F')
            throw new InvalidDataException("not an ELF file");
        if (b[4] != 2 || b[5] != 1) throw new InvalidDataException("expected a 64-bit little-endian ELF file");
        long shoff = BitConverter.ToInt64(b, 0x28);
        int shentsize = BitConverter.ToUInt16(b, 0x3A), shnum = BitConverter.ToUInt16(b, 0x3C);
        bool changed = false, seen = false;
        for (int s = 0; s < shnum; s++)
        {
            long sh = shoff + (long)s * shentsize;
            if (BitConverter.ToUInt32(b, (int)sh + 4) != ShtGnuVerneed) continue;
            long offset = BitConverter.ToInt64(b, (int)sh + 0x18);
            int link = (int)BitConverter.ToUInt32(b, (int)sh + 0x28);
            int count = (int)BitConverter.ToUInt32(b, (int)sh + 0x2C);
            long strtab = BitConverter.ToInt64(b, (int)(shoff + (long)link * shentsize) + 0x18);
            long vn = offset;
            for (int i = 0; i < count; i++)
            {
                int auxCount = BitConverter.ToUInt16(b, (int)vn + 2);
                long aux = vn + BitConverter.ToUInt32(b, (int)vn + 8);
                for (int a = 0; a < auxCount; a++)
                {
                    long nameAt = strtab + BitConverter.ToUInt32(b, (int)aux + 8);
                    int end = (int)nameAt;
                    while (b[end] != 0) end++;
                    if (Encoding.ASCII.GetString(b, (int)nameAt, end - (int)nameAt) == MissingVersion)
                    {
                        seen = true;
                        ushort flags = BitConverter.ToUInt16(b, (int)aux + 4);
                        if ((flags & VerFlgWeak) == 0)
                        {
                            BitConverter.GetBytes((ushort)(flags | VerFlgWeak)).CopyTo(b, (int)aux + 4);
                            changed = true;
                        }
                    }
                    aux += BitConverter.ToUInt32(b, (int)aux + 12);
                }
                vn += BitConverter.ToUInt32(b, (int)vn + 12);
            }
        }
        if (!seen || !changed) return false;
        var temp = path + ".patching";
        File.WriteAllBytes(temp, b);
        File.Delete(path);
        File.Move(temp, path);
        return true;
    }
}
