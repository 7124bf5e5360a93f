using System;
using System.Diagnostics;
using System.IO;
using System.Linq;

namespace P2pEmu.Testing;

/// <summary>Finds and runs the real <c>tshark</c> (Wireshark) on a capture file.</summary>
public static class TsharkTool
{
    /// <summary>
    /// Payload dissectors Wireshark tries on every InfiniBand payload; one of them would claim our test payloads
    /// (RPC-over-RDMA reads "hello" as a malformed header), so they are turned off.
    /// </summary>
    private static readonly string[] s_payloadHeuristics =
    [
        "rpcordma", "smb_direct", "iser", "nvme-rdma", "lnet", "smc", "infiniband_sdp", "fcoib", "eoib",
    ];

    /// <summary>The tshark executable: the first on PATH, else /usr/bin/tshark; null when neither exists.</summary>
    public static string? Find() =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Append("/usr/bin")
            .Select(directory => Path.Combine(directory, "tshark"))
            .FirstOrDefault(File.Exists);

    /// <summary>Runs <c>tshark -r FILE -T fields -E separator=| -e FIELD…</c> with the payload heuristics off.</summary>
    /// <returns>One array of field values per packet.</returns>
    /// <exception cref="InvalidOperationException">tshark is missing (in CI that fails the test) or exits non-zero.</exception>
    public static string[][] Fields(string capture, params string[] fields)
    {
        string tshark = Find() ?? throw new InvalidOperationException("tshark is not installed: none on PATH or in /usr/bin");
        var start = new ProcessStartInfo(tshark)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in new[] { "-r", capture, "-T", "fields", "-E", "separator=|" })
        {
            start.ArgumentList.Add(argument);
        }

        foreach (string heuristic in s_payloadHeuristics)
        {
            start.ArgumentList.Add("--disable-protocol");
            start.ArgumentList.Add(heuristic);
        }

        foreach (string field in fields)
        {
            start.ArgumentList.Add("-e");
            start.ArgumentList.Add(field);
        }

        using Process process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {tshark}");
        System.Threading.Tasks.Task<string> error = process.StandardError.ReadToEndAsync();
        string output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"tshark -r {capture} exited with {process.ExitCode}: {error.Result}");
        }

        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => line.TrimEnd('\r').Split('|')).ToArray();
    }
}
