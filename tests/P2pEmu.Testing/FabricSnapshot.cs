using System;
using System.Collections.Generic;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Memory;
using P2pEmu.Emulator.Pci;

namespace P2pEmu.Testing;

/// <summary>
/// Snapshots every memory region of a fabric (host RAM and every memory BAR) so a test can prove that a
/// transaction changed exactly the bytes it should and nothing else.
/// </summary>
public sealed class FabricSnapshot
{
    private readonly List<(string Name, BarRegion Region, ulong Offset, byte[] Bytes)> _windows = new();

    private FabricSnapshot()
    {
    }

    /// <summary>Fills the first <paramref name="bytesPerRegion"/> bytes of every region with seeded random data and snapshots them.</summary>
    public static FabricSnapshot FillAndCapture(PcieFabric fabric, int bytesPerRegion, int seed)
    {
        ArgumentNullException.ThrowIfNull(fabric);
        var random = new Random(seed);
        var snapshot = new FabricSnapshot();
        snapshot.Add("host RAM", fabric.Ram.Region, 0, bytesPerRegion, random);
        foreach (PciFunction function in fabric.Functions)
        {
            if (function is not PciEndpoint ep)
            {
                continue;
            }

            foreach (PciBar bar in ep.Bars)
            {
                if (bar.Memory is not null)
                {
                    snapshot.Add(bar.ToString(), bar.Memory, 0, (int)Math.Min((ulong)bytesPerRegion, bar.SizeBytes), random);
                }
            }
        }

        return snapshot;
    }

    /// <summary>The names of regions whose bytes differ from the snapshot, except the allowed range.</summary>
    public IReadOnlyList<string> ChangedOutside(BarRegion? allowed, ulong allowedOffset, ulong allowedLength)
    {
        var changed = new List<string>();
        foreach ((string name, BarRegion region, ulong offset, byte[] bytes) in _windows)
        {
            ReadOnlySpan<byte> now = region.GetSpan(offset, bytes.Length);
            for (int i = 0; i < bytes.Length; i++)
            {
                ulong at = offset + (ulong)i;
                bool inAllowed = ReferenceEquals(region, allowed) && at >= allowedOffset && at - allowedOffset < allowedLength;
                if (!inAllowed && now[i] != bytes[i])
                {
                    changed.Add($"{name} at +0x{at:x}");
                    break;
                }
            }
        }

        return changed;
    }

    private void Add(string name, BarRegion region, ulong offset, int length, Random random)
    {
        byte[] bytes = new byte[length];
        random.NextBytes(bytes);
        bytes.CopyTo(region.GetSpan(offset, length));
        _windows.Add((name, region, offset, bytes));
    }
}
