using System;
using System.IO;
using Xunit;

namespace P2pEmu.Emulator.Tests.Topology.Dot;

/// <summary>A fact that runs Graphviz <c>dot</c>; skipped wherever it is not installed (the project does not require it).</summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
public sealed class DotFactAttribute : FactAttribute
{
    public DotFactAttribute()
    {
        if (Find() is null)
        {
            Skip = "Graphviz dot is not installed";
        }
    }

    /// <summary>The dot executable on PATH, or null.</summary>
    public static string? Find()
    {
        foreach (string directory in (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = Path.Combine(directory, "dot");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }
}
