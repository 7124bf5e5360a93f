using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Threading;
using P2pEmu.Dma.DmaBuf;
using P2pEmu.Dma.Mapping;
using P2pEmu.Dma.P2pDma;
using P2pEmu.Emulator.Host;
using P2pEmu.Emulator.Topology;

namespace P2pEmu.Drivers.Vfio;

/// <summary>
/// Linux <c>struct vfio_pci_dma_buf</c>: ranges of one BAR exported as a dma-buf, with the exporter ops vfio gives
/// it. LIVE or REVOKED; attached to its device's list until the device is closed (then revoked for good).
/// </summary>
/// <remarks>
/// Ops by profile (spec §1.6): v6.19 — <c>attach</c> refuses importers without peer2peer (EOPNOTSUPP) and while
/// revoked (ENODEV), <c>pin</c> always fails with EOPNOTSUPP, <c>map</c> fails while revoked (ENODEV) and otherwise
/// maps with <c>dma_buf_phys_vec_to_sgt</c>, no <c>mmap</c>. revoke-2026 — no pin/unpin, <c>attach</c> also refuses
/// importers that are not revocable (EOPNOTSUPP), every map is counted until unmapped so a revoke can wait for the
/// last unmap, and <c>mmap</c> maps the ranges for the CPU through a fault handler (ENODEV while revoked, EINVAL
/// for a private mapping; faults while revoked are SIGBUS).
/// </remarks>
public sealed class VfioPciDmaBuf
{
    private static readonly DmaBufOps s_ops619 = new()
    {
        Attach = (dmabuf, attach) => Priv(dmabuf).AttachOp(attach, revocableRequired: false),
        Pin = _ => Errno.EOPNOTSUPP,
        Unpin = _ => { },
        MapDmaBuf = (attach, dir) => Priv(attach.DmaBuf).MapOp(attach, dir, counted: false),
        UnmapDmaBuf = (attach, sgt, dir) => Priv(attach.DmaBuf).UnmapOp(attach, sgt, dir, counted: false),
        Release = dmabuf => Priv(dmabuf).ReleaseOp(),
    };

    private static readonly DmaBufOps s_ops2026 = new()
    {
        Attach = (dmabuf, attach) => Priv(dmabuf).AttachOp(attach, revocableRequired: true),
        MapDmaBuf = (attach, dir) => Priv(attach.DmaBuf).MapOp(attach, dir, counted: true),
        UnmapDmaBuf = (attach, sgt, dir) => Priv(attach.DmaBuf).UnmapOp(attach, sgt, dir, counted: true),
        Release = dmabuf => Priv(dmabuf).ReleaseOp(),
        Mmap = (dmabuf, mapping) => Priv(dmabuf).MmapOp(mapping),
    };

    private readonly object _mapsGate = new();
    private readonly PhysVec[] _physVec;
    private volatile bool _revoked;
    private int _maps;
    private int _unmapWaiters;
    private VfioPciCoreDevice? _vdev;

    internal VfioPciDmaBuf(VfioPciCoreDevice vdev, int bar, ulong size, PhysVec[] physVec, P2pProvider provider)
    {
        _vdev = vdev;
        Bar = bar;
        Size = size;
        _physVec = physVec;
        Provider = provider;
    }

    /// <summary>The dma-buf this is the private object of.</summary>
    public DmaBuf DmaBuf { get; internal set; } = null!;

    /// <summary>The device; null once the device was closed (the buffer is dead for good).</summary>
    public VfioPciCoreDevice? Vdev => Volatile.Read(ref _vdev);

    public int Bar { get; }

    public ulong Size { get; }

    /// <summary><c>phys_vec</c>: the ranges as CPU physical addresses, in the order given.</summary>
    public IReadOnlyList<PhysVec> PhysVec => _physVec;

    public int NrRanges => _physVec.Length;

    /// <summary>The naked provider of the BAR (<c>pcim_p2pdma_provider</c>).</summary>
    public P2pProvider Provider { get; }

    /// <summary><c>revoked</c>: attach and map fail with ENODEV, CPU faults are SIGBUS.</summary>
    public bool Revoked
    {
        get => _revoked;
        internal set => _revoked = value;
    }

    /// <summary>revoke-2026: tables mapped through the exporter and not yet unmapped (the kref beyond its base).</summary>
    public int OutstandingMaps => Volatile.Read(ref _maps);

    /// <summary>revoke-2026: a revoke is waiting for the outstanding maps to be unmapped.</summary>
    public bool IsWaitingForUnmaps => Volatile.Read(ref _unmapWaiters) != 0;

    /// <summary>The exporter ops for <paramref name="profile"/>.</summary>
    internal static DmaBufOps Ops(KernelProfile profile) => profile == KernelProfile.Linux619 ? s_ops619 : s_ops2026;

    internal void Detach() => Volatile.Write(ref _vdev, null);

    /// <summary>revoke-2026: waits until every map has been unmapped (the kref's completion).</summary>
    internal bool WaitForUnmaps(TimeSpan timeout)
    {
        long start = Stopwatch.GetTimestamp();
        lock (_mapsGate)
        {
            _unmapWaiters++;
            try
            {
                while (_maps != 0)
                {
                    TimeSpan left = timeout - Stopwatch.GetElapsedTime(start);
                    if (left <= TimeSpan.Zero || !Monitor.Wait(_mapsGate, left))
                    {
                        return _maps == 0;
                    }
                }

                return true;
            }
            finally
            {
                _unmapWaiters--;
            }
        }
    }

    /// <summary>The CPU physical address of byte <paramref name="offset"/> of the buffer (ranges in order).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The offset is not inside the buffer.</exception>
    public ulong PhysAt(ulong offset)
    {
        foreach (PhysVec vec in _physVec)
        {
            if (offset < vec.Len)
            {
                return vec.Paddr + offset;
            }

            offset -= vec.Len;
        }

        throw new ArgumentOutOfRangeException(nameof(offset));
    }

    private static VfioPciDmaBuf Priv(DmaBuf dmabuf) => (VfioPciDmaBuf)dmabuf.Priv;

    private Errno AttachOp(DmaBufAttachment attach, bool revocableRequired)
    {
        if (!attach.Peer2Peer)
        {
            return Errno.EOPNOTSUPP;
        }

        if (_revoked)
        {
            return Errno.ENODEV;
        }

        return revocableRequired && !DmaBuf.Host.DmaBufAttachRevocable(attach) ? Errno.EOPNOTSUPP : Errno.None;
    }

    private Result<SgTable> MapOp(DmaBufAttachment attach, DmaDirection dir, bool counted)
    {
        if (_revoked)
        {
            return Errno.ENODEV;
        }

        Result<SgTable> table = DmaBuf.Host.DmaBufPhysVecToSgt(attach, Provider, _physVec, Size, dir);
        if (table.IsSuccess && counted)
        {
            Interlocked.Increment(ref _maps);
        }

        return table;
    }

    private void UnmapOp(DmaBufAttachment attach, SgTable sgt, DmaDirection dir, bool counted)
    {
        DmaBuf.Host.DmaBufFreeSgt(attach, sgt, dir);
        if (counted)
        {
            lock (_mapsGate)
            {
                if (--_maps == 0)
                {
                    Monitor.PulseAll(_mapsGate);
                }
            }
        }
    }

    /// <summary><c>release</c>: leaves the device's list (unless close already took it off) and drops the registration.</summary>
    private void ReleaseOp() => Vdev?.ReleaseDmaBuf(this);

    private Errno MmapOp(DmaBufCpuMapping mapping)
    {
        if (_revoked)
        {
            return Errno.ENODEV;
        }

        if (!mapping.Shared)
        {
            return Errno.EINVAL;
        }

        mapping.PrivateData = this;
        mapping.FaultHandler = Fault;
        return Errno.None;
    }

    /// <summary>The fault handler: maps the page's physical address unless revoked (re-read under memory_lock).</summary>
    private bool Fault(DmaBufCpuMapping mapping, ulong page)
    {
        VfioPciCoreDevice? vdev = Vdev;
        if (vdev is null)
        {
            return false;
        }

        return vdev.WithMemoryReadLock(() =>
        {
            if (_revoked)
            {
                return false;
            }

            mapping.InsertPfn(page, PhysAt((mapping.PageOffset + page) * DmaBufCpuMapping.PageSize));
            return true;
        });
    }
}
