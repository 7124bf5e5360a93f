using System;
using System.Collections.Generic;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Diagnostics.NETCore.Client;

namespace P2pEmu.Cli.Trace;

/// <summary>
/// Collects an EventPipe trace from a running process with <c>Microsoft.Diagnostics.NETCore.Client</c>, as
/// <c>dotnet-trace collect</c> does: the session's stream goes to a <c>.nettrace</c> file until the duration is over,
/// the caller cancels, or the process exits.
/// </summary>
internal static class TraceCollector
{
    /// <returns>The bytes written to <paramref name="outputPath"/>.</returns>
    /// <exception cref="ServerNotAvailableException">No diagnostics endpoint for <paramref name="processId"/> (no such .NET process).</exception>
    public static long Collect(int processId, string outputPath, IReadOnlyList<EventPipeProvider> providers, TimeSpan? duration, CancellationToken cancellationToken)
    {
        var client = new DiagnosticsClient(processId);
        using EventPipeSession session = client.StartEventPipeSession(providers, requestRundown: true, circularBufferMB: 256);
        using FileStream file = File.Create(outputPath);
        Task copy = session.EventStream.CopyToAsync(file, CancellationToken.None);
        try
        {
            int timeout = duration is { } d ? (int)Math.Min(d.TotalMilliseconds, int.MaxValue) : Timeout.Infinite;
            Task.WaitAny([copy, Task.Delay(timeout, cancellationToken)], CancellationToken.None);
        }
        finally
        {
            if (!copy.IsCompleted)
            {
                StopQuietly(session);
            }

            WaitQuietly(copy);
        }

        file.Flush();
        return file.Length;
    }

    /// <summary>The session ends with the process as well; a stop that finds it gone is not an error.</summary>
    private static void StopQuietly(EventPipeSession session)
    {
        try
        {
            session.Stop();
        }
        catch (Exception e) when (e is ServerNotAvailableException or EndOfStreamException or IOException)
        {
        }
    }

    private static void WaitQuietly(Task copy)
    {
        try
        {
            copy.Wait(TimeSpan.FromSeconds(30));
        }
        catch (AggregateException e) when (e.InnerException is IOException or ObjectDisposedException)
        {
        }
    }
}
