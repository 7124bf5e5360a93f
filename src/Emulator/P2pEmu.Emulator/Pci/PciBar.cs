using System;
using System.Threading;
using P2pEmu.Emulator.Memory;
using P2pEmu.Emulator.Registers;

namespace P2pEmu.Emulator.Pci;

/// <summary>One memory BAR of an endpoint: its size and type, what backs it, and the address software gave it.</summary>
/// <remarks>
/// A BAR that stops decoding (memory space disabled, address cleared or moved) first completes the transactions it
/// had already claimed: the config write that turns decoding off returns only after they landed, and every
/// transaction routed after it is unclaimed (Unsupported Request). Device and CPU accesses claim the BAR with
/// <see cref="TryBeginAccess"/> after routing and release it with <see cref="EndAccess"/> once their bytes moved.
/// </remarks>
public sealed class PciBar
{
    // Claimed and not yet completed accesses. Paired with _decoding as in Dekker's protocol: an access increments
    // (a full fence) and then re-reads _decoding; a decode change writes _decoding, fences, then waits for zero.
    private int _accesses;
    private volatile bool _decoding;

    internal PciBar(PciEndpoint owner, int index, ulong sizeBytes, bool is64Bit, bool prefetchable, BarRegion? memory, IMmioHandler? mmio)
    {
        if (sizeBytes < 16 || (sizeBytes & (sizeBytes - 1)) != 0)
        {
            throw new ArgumentException($"BAR{index} of {owner.Name}: size {sizeBytes} is not a power of two of at least 16 bytes.", nameof(sizeBytes));
        }

        Owner = owner;
        Index = index;
        SizeBytes = sizeBytes;
        Is64Bit = is64Bit;
        Prefetchable = prefetchable;
        Memory = memory;
        Mmio = mmio;
    }

    public PciEndpoint Owner { get; }

    public int Index { get; }

    public ulong SizeBytes { get; }

    public bool Is64Bit { get; }

    public bool Prefetchable { get; }

    /// <summary>The memory behind a memory BAR; null for a register BAR.</summary>
    public BarRegion? Memory { get; }

    /// <summary>The registers behind a register BAR; null for a memory BAR.</summary>
    public IMmioHandler? Mmio { get; }

    /// <summary>The bus address the BAR decodes, as programmed.</summary>
    public ulong Address { get; private set; }

    /// <summary>True when the function decodes this BAR: memory space enabled and an address assigned.</summary>
    public bool Decoding => _decoding;

    public bool Contains(ulong address) => _decoding && unchecked(address - Address) < SizeBytes;

    /// <summary>
    /// Claims the BAR for one routed transaction to <paramref name="address"/>; false when the BAR no longer
    /// decodes it (the caller routes again). A successful claim must be ended with <see cref="EndAccess"/>.
    /// </summary>
    internal bool TryBeginAccess(ulong address)
    {
        Interlocked.Increment(ref _accesses);
        if (Contains(address))
        {
            return true;
        }

        Interlocked.Decrement(ref _accesses);
        return false;
    }

    /// <summary>Ends an access claimed with <see cref="TryBeginAccess"/>.</summary>
    internal void EndAccess() => Interlocked.Decrement(ref _accesses);

    /// <summary>
    /// Sets where the BAR decodes. When it stops decoding an address it decoded before, waits until every
    /// transaction it had claimed completed, so none lands after this returns.
    /// </summary>
    internal void SetDecode(ulong address, bool decoding)
    {
        bool wasDecoding = _decoding;
        if (wasDecoding && (!decoding || address != Address))
        {
            _decoding = false;
            Interlocked.MemoryBarrier();
            SpinWait spin = default;
            while (Volatile.Read(ref _accesses) != 0)
            {
                spin.SpinOnce();
            }
        }

        Address = address;
        _decoding = decoding;
    }

    public override string ToString() => $"{Owner.Name} BAR{Index} [0x{Address:x}+0x{SizeBytes:x}]";
}
