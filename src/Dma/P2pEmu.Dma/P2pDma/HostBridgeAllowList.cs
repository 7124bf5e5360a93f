using System.Collections.Generic;
using P2pEmu.Emulator.Topology;

namespace P2pEmu.Dma.P2pDma;

/// <summary>The host bridges Linux trusts to forward P2P traffic (spec §2.2, <c>pci_p2pdma_whitelist</c>).</summary>
public static class HostBridgeAllowList
{
    private const ushort Intel = 0x8086;

    /// <summary>The entries both kernel profiles carry, in the kernel's order.</summary>
    public static IReadOnlyList<HostBridgeAllowListEntry> Common { get; } = new HostBridgeAllowListEntry[]
    {
        new(Intel, 0x3C00, true, "Intel Xeon E5 / Core i7"),
        new(Intel, 0x3C01, true, "Intel Xeon E5 / Core i7"),
        new(Intel, 0x2F00, true, "Intel Xeon E5 v3 / E7 v3"),
        new(Intel, 0x2F01, true, "Intel Xeon E5 v3 / E7 v3"),
        new(Intel, 0x2030, false, "Intel Skylake-E"),
        new(Intel, 0x2031, false, "Intel Skylake-E"),
        new(Intel, 0x2032, false, "Intel Skylake-E"),
        new(Intel, 0x2033, false, "Intel Skylake-E"),
        new(Intel, 0x2020, false, "Intel Skylake-E"),
        new(Intel, 0x09A2, false, "Intel Ice Lake-SP"),
        new(Intel, 0x0B25, false, "Intel DSA (Sapphire Rapids)"),
        new(Intel, 0x0CFE, false, "Intel IAX (Sapphire Rapids)"),
        new(Intel, 0x11FB, false, "Intel DSA (Granite Rapids-D)"),
        new(Intel, 0x1212, false, "Intel DSA (Diamond Rapids)"),
        new(Intel, 0x1216, false, "Intel IAA (Diamond Rapids)"),
        new(Intel, 0x4940, false, "Intel QAT 4xxx"),
        new(Intel, 0x4942, false, "Intel QAT 401xx"),
        new(Intel, 0x4944, false, "Intel QAT 402xx"),
        new(Intel, 0x4946, false, "Intel QAT 420xx"),
        new(Intel, 0x4948, false, "Intel QAT 6xxx"),
        new(0x1AE0, null, false, "Google (any device)"),
    };

    /// <summary>NVIDIA entries found only in the 2026 development tree (spec §2.2).</summary>
    public static IReadOnlyList<HostBridgeAllowListEntry> Nvidia2026 { get; } = new HostBridgeAllowListEntry[]
    {
        new(0x10DE, 0x2F95, false, "NVIDIA"),
        new(0x10DE, 0x2F96, false, "NVIDIA"),
        new(0x10DE, 0x2F97, false, "NVIDIA"),
        new(0x10DE, 0x2F98, false, "NVIDIA"),
    };

    /// <summary>The list a kernel profile carries: 6.19 without the NVIDIA entries, revoke-2026 with them.</summary>
    public static IReadOnlyList<HostBridgeAllowListEntry> For(KernelProfile kernel)
    {
        if (kernel == KernelProfile.Linux619)
        {
            return Common;
        }

        var list = new List<HostBridgeAllowListEntry>(Common);
        list.InsertRange(list.Count - 1, Nvidia2026);
        return list;
    }
}
