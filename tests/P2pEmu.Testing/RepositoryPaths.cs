using System;
using System.IO;

namespace P2pEmu.Testing;

/// <summary>Where the repository's own files are, for tests that read examples, sources or other projects' builds.</summary>
public static class RepositoryPaths
{
    private static readonly Lazy<string> s_root = new(FindRoot);

    /// <summary>The folder holding P2pEmu.sln, found by walking up from the test binaries.</summary>
    public static string Root => s_root.Value;

    private static string FindRoot()
    {
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "P2pEmu.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"no P2pEmu.sln above {AppContext.BaseDirectory}");
    }
}
