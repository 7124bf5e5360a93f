using System;
using System.Diagnostics;
using System.IO;

namespace P2pEmu.Emulator.Tests.Topology.Lspci;

/// <summary>Finds and runs the real <c>lspci</c> (pciutils) on a dump file.</summary>
internal static class LspciTool
{
    private const string StandardPath = "/usr/bin/lspci";

    /// <summary>The lspci executable: /usr/bin/lspci, else the first on PATH; null when neither exists.</summary>
    public static string? Find()
    {
        if (File.Exists(StandardPath))
        {
            return StandardPath;
        }

        string? path = Environment.GetEnvironmentVariable("PATH");
        if (path is null)
        {
            return null;
        }

        foreach (string directory in path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = Path.Combine(directory, "lspci");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    /// <summary>Writes <paramref name="dump"/> to a temporary file and runs <c>lspci -F FILE</c> with <paramref name="arguments"/>.</summary>
    /// <returns>lspci's standard output.</returns>
    /// <exception cref="InvalidOperationException">lspci is missing (in CI that fails the test), exits non-zero, or writes nothing.</exception>
    public static string Run(string dump, params string[] arguments)
    {
        string lspci = Find() ?? throw new InvalidOperationException("lspci (pciutils) is not installed: /usr/bin/lspci is missing and no lspci is on PATH");
        string file = Path.Combine(Path.GetTempPath(), $"p2pemu-lspci-{Guid.NewGuid():N}.txt");
        File.WriteAllText(file, dump);
        try
        {
            var start = new ProcessStartInfo(lspci)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            start.ArgumentList.Add("-F");
            start.ArgumentList.Add(file);
            foreach (string argument in arguments)
            {
                start.ArgumentList.Add(argument);
            }

            using Process process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {lspci}");
            System.Threading.Tasks.Task<string> error = process.StandardError.ReadToEndAsync();
            string output = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            if (process.ExitCode != 0 || output.Length == 0)
            {
                throw new InvalidOperationException($"lspci -F {file} {string.Join(' ', arguments)} exited with {process.ExitCode}: {error.Result}");
            }

            return output.Replace("\r\n", "\n", StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }
}
