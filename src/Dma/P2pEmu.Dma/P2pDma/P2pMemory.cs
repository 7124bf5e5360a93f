namespace P2pEmu.Dma.P2pDma;

/// <summary>
/// One p2pmem allocation from a provider's pool (what <c>pci_alloc_p2pmem</c> returns a kernel address
/// for): whole pages of a BAR, their PCI bus address, and where they sit in the BAR.
/// </summary>
public sealed class P2pMemory
{
    internal P2pMemory(P2pMemPool pool, P2pProvider provider, ulong busAddress, ulong barOffset, ulong sizeBytes, int chunk, long firstPage, P2pPagemap? pagemap = null)
    {
        Pool = pool;
        Pagemap = pagemap;
        Provider = provider;
        BusAddress = busAddress;
        BarOffset = barOffset;
        SizeBytes = sizeBytes;
        Chunk = chunk;
        FirstPage = firstPage;
    }

    public P2pMemPool Pool { get; }

    public P2pProvider Provider { get; }

    /// <summary>The page map the pages belong to; a live allocation holds one reference on it.</summary>
    public P2pPagemap? Pagemap { get; }

    /// <summary><c>pci_p2pmem_virt_to_bus</c>: the PCI bus address a peer uses.</summary>
    public ulong BusAddress { get; }

    /// <summary>Offset of the allocation inside the provider's BAR.</summary>
    public ulong BarOffset { get; }

    /// <summary>The size, rounded up to whole pages (the pool's granule).</summary>
    public ulong SizeBytes { get; }

    /// <summary>True once the allocation went back to the pool.</summary>
    public bool IsFreed { get; internal set; }

    internal int Chunk { get; }

    internal long FirstPage { get; }

    public override string ToString() => $"{Provider} +0x{BarOffset:x} (bus 0x{BusAddress:x}, {SizeBytes} bytes)";
}
