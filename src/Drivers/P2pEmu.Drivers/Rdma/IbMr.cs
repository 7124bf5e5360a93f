using System.Threading;
using P2pEmu.Emulator.Host;

namespace P2pEmu.Drivers.Rdma;

/// <summary>
/// Linux <c>struct ib_mr</c>: a registered memory region [<see cref="Iova"/>, +<see cref="Length"/>) with its keys
/// (lkey = rkey here) and rights, backed by a umem (<see cref="Umem"/>, <see cref="UmemDmabuf"/>) or a kernel table.
/// </summary>
public sealed class IbMr
{
    private int _faults;
    private int _faultFailures;

    internal IbMr(IbPd pd, uint key, ulong iova, ulong length, IbAccessFlags access, IbMrKind kind, int pageShift, uint mttEntries)
    {
        Pd = pd;
        Lkey = key;
        Iova = iova;
        Length = length;
        Access = access;
        Kind = kind;
        PageShift = pageShift;
        MttEntries = mttEntries;
    }

    public IbPd Pd { get; }

    public uint Lkey { get; }

    public uint Rkey => Lkey;

    public ulong Iova { get; }

    public ulong Length { get; }

    public IbAccessFlags Access { get; }

    public IbMrKind Kind { get; }

    /// <summary>The page size of the device's translation table for this region (<c>ib_umem_find_best_pgsz</c>).</summary>
    public int PageShift { get; }

    public uint MttEntries { get; }

    /// <summary>The pinned user pages of a <see cref="IbMrKind.User"/> region.</summary>
    public IbUmem? Umem { get; internal set; }

    /// <summary>The dma-buf umem of a dma-buf region.</summary>
    public IbUmemDmabuf? UmemDmabuf { get; internal set; }

    /// <summary>Page faults the driver handled for this region (a dynamic dma-buf region after move_notify).</summary>
    public int PageFaults => Volatile.Read(ref _faults);

    /// <summary>Page faults it could not resolve (the buffer was revoked): the device then fails the access.</summary>
    public int PageFaultFailures => Volatile.Read(ref _faultFailures);

    /// <summary>What the last failed fault's <c>ib_umem_dmabuf_map_pages</c> returned.</summary>
    public Errno LastFaultError { get; private set; }

    public bool IsDeregistered { get; internal set; }

    internal void CountFault(Errno result)
    {
        Interlocked.Increment(ref _faults);
        if (result != Errno.None)
        {
            Interlocked.Increment(ref _faultFailures);
            LastFaultError = result;
        }
    }

    public override string ToString() => $"mr 0x{Lkey:x} [{Iova:x}, +{Length}) {Kind}";
}
