using System;
using System.IO;

namespace P2pEmu.Testing;

/// <summary>Where the repository's own files and the test host are, for tests that read examples or sources, or start other projects' builds.</summary>
public static class RepositoryPaths
{
    private static readonly Lazy<string> s_root = new(FindRoot);

    /// <summary>The folder holding P2pEmu.sln, found by walking up from the test binaries.</summary>
    public static string Root => s_root.Value;

    /// <summary>The <c>dotnet</c> host running these tests (so a child process uses the same SDK), or <c>dotnet</c> from PATH.</summary>
    public static string DotnetHost =>
        Environment.ProcessPath is { } host && Path.GetFileNameWithoutExtension(host) == "dotnet" ? host : "dotnet";

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
