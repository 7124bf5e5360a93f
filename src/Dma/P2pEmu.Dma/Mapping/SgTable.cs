using System;
using System.Collections.Generic;
using System.Linq;
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

    public IReadOnlyList<Scatterlist> Entries => _entries;

    /// <summary>CPU-side entries.</summary>
    public int OrigNents { get; }

    /// <summary>Mapped DMA segments (0 until mapped).</summary>
    public int Nents { get; internal set; }

    /// <summary>The mapped segments as a device would walk them.</summary>
    public IEnumerable<SgEntry> DmaSegments() => _entries.Take(Nents).Select(e => new SgEntry(e.DmaAddress, e.DmaLength));
}
