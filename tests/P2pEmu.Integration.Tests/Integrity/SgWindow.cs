using System;
using System.Collections.Generic;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Fabric;

namespace P2pEmu.Integration.Tests.Integrity;

/// <summary>The bytes [offset, offset + length) of a DMA-mapped segment list, as a driver trims an I/O to its window.</summary>
internal static class SgWindow
{
    public static SgEntry[] Slice(ReadOnlySpan<SgEntry> segments, ulong offset, ulong length)
    {
        var window = new List<SgEntry>();
        ulong start = 0;
        foreach (SgEntry segment in segments)
        {
            ulong end = start + segment.Length;
            ulong from = Math.Max(start, offset);
            ulong to = Math.Min(end, offset + length);
            if (from < to)
            {
                window.Add(new SgEntry(new DmaAddress(segment.Address.Value + (from - start)), to - from));
            }

            start = end;
        }

        return window.ToArray();
    }
}
