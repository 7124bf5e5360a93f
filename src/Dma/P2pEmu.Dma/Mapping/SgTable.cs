using System;
using System.Collections.Generic;
using System.Linq;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Fabric;

namespace P2pEmu.Dma.Mapping;

/// <summary>
/// Linux <c>struct sg_table</c>: the CPU-side entries (<see cref="OrigNents"/>) and, after
/// <c>dma_map_sgtable</c>, the first <see cref="Nents"/> entries' DMA fields.
/// </summary>
public sealed class SgTable
{
    private readonly List<Scatterlist> _entries;

    public SgTable(IEnumerable<Scatterlist> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        _entries = entries.ToList();
        OrigNents = _entries.Count;
    }

    private SgTable(List<Scatterlist> entries, int origNents, int nents)
    {
        _entries = entries;
        OrigNents = origNents;
        Nents = nents;
    }

    public IReadOnlyList<Scatterlist> Entries => _entries;

    /// <summary>CPU-side entries.</summary>
    public int OrigNents { get; }

    /// <summary>Mapped DMA segments (0 until mapped).</summary>
    public int Nents { get; internal set; }

    /// <summary>True for a table with no CPU side (<see cref="OrigNents"/> 0): only the DMA fields are valid.</summary>
    public bool IsDmaOnly => OrigNents == 0 && Nents > 0;

    /// <summary>The mapped segments as a device would walk them.</summary>
    public IEnumerable<SgEntry> DmaSegments() => _entries.Take(Nents).Select(e => new SgEntry(e.DmaAddress, e.DmaLength));

    /// <summary>
    /// A table with no CPU side, as dma-buf's phys-based helper builds it: every entry has only a DMA address and
    /// length (no page, <c>orig_nents</c> 0).
    /// </summary>
    internal static SgTable DmaOnly(IReadOnlyList<(ulong Address, uint Length)> segments)
    {
        var entries = new List<Scatterlist>(segments.Count);
        foreach ((ulong address, uint length) in segments)
        {
            entries.Add(new Scatterlist(default, 0) { DmaAddress = new DmaAddress(address), DmaLength = length });
        }

        return new SgTable(entries, 0, entries.Count);
    }
}
