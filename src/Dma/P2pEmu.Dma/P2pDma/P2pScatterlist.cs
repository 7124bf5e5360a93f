using System.Collections.Generic;
using System.Threading;

namespace P2pEmu.Dma.P2pDma;

/// <summary>
/// A scatterlist of p2pmem, as <c>pci_p2pmem_alloc_sgl</c> returns it: today always a single entry
/// covering one allocation. Give it back with <see cref="P2pDmaHost.PciP2pmemFreeSgl"/>, which frees every
/// entry.
/// </summary>
public sealed class P2pScatterlist
{
    private readonly P2pScatterlistEntry[] _entries;
    private int _freed;

    internal P2pScatterlist(params P2pScatterlistEntry[] entries)
    {
        _entries = entries;
    }

    /// <summary>The entries, in list order.</summary>
    public IReadOnlyList<P2pScatterlistEntry> Entries => _entries;

    /// <summary>True once the list was freed.</summary>
    public bool IsFreed => Volatile.Read(ref _freed) != 0;

    /// <summary>Marks the list freed; false when it already was (a double free).</summary>
    internal bool TryMarkFreed() => Interlocked.Exchange(ref _freed, 1) == 0;

    public override string ToString() => _entries.Length == 1 ? $"sgl [{_entries[0].Memory}]" : $"sgl [{_entries.Length} entries]";
}
