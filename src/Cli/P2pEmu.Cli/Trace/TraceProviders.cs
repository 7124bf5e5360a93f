using System;
using System.Collections.Generic;
using System.Diagnostics.Tracing;
using System.Linq;
using Microsoft.Diagnostics.NETCore.Client;

namespace P2pEmu.Cli.Trace;

/// <summary>The EventPipe providers <c>p2pemu trace</c> enables: the emulator's EventSources, every event, Verbose.</summary>
internal static class TraceProviders
{
    /// <summary>One EventSource per layer (DESIGN "Observability"); a source the process does not have emits nothing.</summary>
    public static IReadOnlyList<string> Default { get; } = ["P2pEmu.Fabric", "P2pEmu.Iommu", "P2pEmu.Dma", "P2pEmu.Nvme", "P2pEmu.Nic"];

    /// <summary>The providers for <paramref name="names"/> (null or empty: <see cref="Default"/>), each with every keyword at Verbose.</summary>
    /// <exception cref="ArgumentException">A name is empty.</exception>
    public static List<EventPipeProvider> For(IReadOnlyList<string>? names)
    {
        IReadOnlyList<string> chosen = names is { Count: > 0 } ? names : Default;
        if (chosen.Any(string.IsNullOrWhiteSpace))
        {
            throw new ArgumentException("A provider name is empty.", nameof(names));
        }

        return chosen.Distinct(StringComparer.Ordinal).Select(name => new EventPipeProvider(name, EventLevel.Verbose, keywords: -1)).ToList();
    }
}
