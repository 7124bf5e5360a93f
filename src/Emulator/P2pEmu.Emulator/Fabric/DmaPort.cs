using System;
using System.Runtime.CompilerServices;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Diagnostics;
using P2pEmu.Emulator.Memory;
using P2pEmu.Emulator.Pci;

namespace P2pEmu.Emulator.Fabric;

/// <summary>
/// A device's upstream DMA port: reads, writes and copies by wire address, each split where the route
/// changes (end of a BAR, RAM range or translated page) and routed through the fabric as the device's own
/// requests. Memory-to-memory moves are exactly one copy from source bytes to target bytes; register BARs
/// take naturally aligned accesses. A failed transaction stops the DMA: what came before it landed, nothing
/// after it is touched, and the result says which transaction failed and why.
/// </summary>
public sealed class DmaPort
{
    /// <summary>Largest piece moved by one memmove (keeps span lengths within int).</summary>
    private const ulong MaxChunkBytes = 1UL << 30;

    private readonly PcieFabric _fabric;

    public DmaPort(PcieFabric fabric, PciFunction owner)
    {
        ArgumentNullException.ThrowIfNull(fabric);
        ArgumentNullException.ThrowIfNull(owner);
        _fabric = fabric;
        Owner = owner;
    }

    public PciFunction Owner { get; }

    /// <summary>Issue ATS-translated requests (the AT field says Translated), as after an ATS lookup.</summary>
    public bool TranslatedRequests { get; set; }

    /// <summary>A requester ID the device uses instead of its own (a stale captured bus number, a buggy device); null for its own.</summary>
    public Bdf? RequesterIdOverride { get; set; }

    /// <summary>Memory read: fills <paramref name="destination"/> (device-local) from <paramref name="source"/>.</summary>
    public DmaResult Read(DmaAddress source, Span<byte> destination) => Access(source, AccessKind.Read, destination, default);

    /// <summary>Memory write: sends <paramref name="source"/> (device-local) to <paramref name="destination"/>.</summary>
    public DmaResult Write(DmaAddress destination, ReadOnlySpan<byte> source) => Access(destination, AccessKind.Write, default, source);

    /// <summary>Reads from <paramref name="source"/> and writes to <paramref name="destination"/>: one copy per byte.</summary>
    public DmaResult Copy(DmaAddress source, DmaAddress destination, ulong length)
    {
        TransferTally tally = default;
        ulong done = 0;
        while (done < length)
        {
            RouteResult from = _fabric.Route(Owner, source.Add(done), AccessKind.Read, TranslatedRequests, null, RequesterIdOverride);
            if (!from.IsDelivered)
            {
                Flush(ref tally);
                return Fail(done, from, source, AccessKind.Read);
            }

            RouteResult to = _fabric.Route(Owner, destination.Add(done), AccessKind.Write, TranslatedRequests, null, RequesterIdOverride);
            if (!to.IsDelivered)
            {
                Flush(ref tally);
                return Fail(done, to, destination, AccessKind.Write);
            }

            if (!TryBeginAccess(from))
            {
                continue;
            }

            if (!TryBeginAccess(to))
            {
                from.TargetBar?.EndAccess();
                continue;
            }

            ulong n = Math.Min(Math.Min(length - done, MaxChunkBytes), Math.Min(from.ContiguousBytes, to.ContiguousBytes));
            try
            {
                Move(from, to, n, ref tally);
            }
            finally
            {
                from.TargetBar?.EndAccess();
                to.TargetBar?.EndAccess();
            }

            done += n;
        }

        Flush(ref tally);
        return DmaResult.Completed(done);
    }

    /// <summary>Copies a scatter-gather list to another; both must describe the same number of bytes.</summary>
    /// <exception cref="ArgumentException">The lists' total lengths differ.</exception>
    public DmaResult Copy(ReadOnlySpan<SgEntry> source, ReadOnlySpan<SgEntry> destination)
    {
        ulong total = TotalLength(source);
        if (total != TotalLength(destination))
        {
            throw new ArgumentException("Source and destination scatter-gather lists describe different lengths.", nameof(destination));
        }

        ulong done = 0;
        int si = 0;
        int di = 0;
        ulong sOff = 0;
        ulong dOff = 0;
        while (done < total)
        {
            while (sOff == source[si].Length)
            {
                si++;
                sOff = 0;
            }

            while (dOff == destination[di].Length)
            {
                di++;
                dOff = 0;
            }

            ulong n = Math.Min(source[si].Length - sOff, destination[di].Length - dOff);
            DmaResult piece = Copy(source[si].Address.Add(sOff), destination[di].Address.Add(dOff), n);
            done += piece.BytesTransferred;
            if (!piece.IsSuccess)
            {
                return piece.After(done);
            }

            sOff += n;
            dOff += n;
        }

        return DmaResult.Completed(done);
    }

    /// <summary>Gathers a scatter-gather list into <paramref name="destination"/>.</summary>
    public DmaResult Read(ReadOnlySpan<SgEntry> source, Span<byte> destination) => Gather(source, AccessKind.Read, destination, default);

    /// <summary>Scatters <paramref name="source"/> over a scatter-gather list.</summary>
    public DmaResult Write(ReadOnlySpan<SgEntry> destination, ReadOnlySpan<byte> source) => Gather(destination, AccessKind.Write, default, source);

    /// <summary>
    /// Memory read in place: hands <paramref name="reader"/> the source bytes themselves, one route-contiguous piece
    /// at a time and in order, instead of copying them into a device buffer — the way a NIC streams a payload from
    /// memory onto its wire. A register BAR is read in aligned accesses through a small buffer. The reader returns
    /// false to stop early; the result then counts the pieces it took.
    /// </summary>
    /// <remarks>The pieces are valid only during the call; a BAR being torn down waits until the reader returns.</remarks>
    public DmaResult ReadInPlace(DmaAddress source, ulong length, DmaSpanReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        TransferTally tally = default;
        RouteResult route = default;
        Span<byte> buffer = stackalloc byte[256];
        ulong done = 0;
        while (done < length)
        {
            if (!TryResolve(source.Add(done).Value, AccessKind.Read, ref route, out Resolved at))
            {
                Flush(ref tally);
                return Fail(done, route, source, AccessKind.Read);
            }

            PciBar? claimed = at.ToRam ? null : route.TargetBar;
            if (claimed is not null && !claimed.TryBeginAccess(route.TargetAddress.Value))
            {
                continue;
            }

            int n = (int)Math.Min(Math.Min(length - done, at.Contiguous), MaxChunkBytes);
            bool more;
            try
            {
                if (at.Memory is not null)
                {
                    more = reader(at.Memory.GetSpan(at.Offset, n));
                }
                else
                {
                    n = Math.Min(n, buffer.Length);
                    ReadMmio(route.TargetBar!, at.Offset, buffer[..n]);
                    more = reader(buffer[..n]);
                }
            }
            finally
            {
                claimed?.EndAccess();
            }

            Tally(ref tally, at.Path, RoutePath.None, (ulong)n, false);
            done += (ulong)n;
            if (!more)
            {
                break;
            }
        }

        Flush(ref tally);
        return DmaResult.Completed(done);
    }

    /// <summary>One read or write between device-local bytes and the fabric, split where the route changes.</summary>
    /// <remarks>Never inlined: a device model calls it from its command loop, whose frame would otherwise carry (and
    /// zero on every command) this method's locals once per call site.</remarks>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private DmaResult Access(DmaAddress start, AccessKind access, Span<byte> readInto, ReadOnlySpan<byte> writeFrom)
    {
        bool reading = access == AccessKind.Read;
        ulong length = (ulong)(reading ? readInto.Length : writeFrom.Length);
        TransferTally tally = default;
        RouteResult route = default;
        ulong done = 0;
        while (done < length)
        {
            if (!TryResolve(start.Add(done).Value, access, ref route, out Resolved at))
            {
                Flush(ref tally);
                return Fail(done, route, start, access);
            }

            PciBar? claimed = at.ToRam ? null : route.TargetBar;
            if (claimed is not null && !claimed.TryBeginAccess(route.TargetAddress.Value))
            {
                continue;
            }

            int n = (int)Math.Min(Math.Min(length - done, at.Contiguous), MaxChunkBytes);
            int from = (int)done;
            try
            {
                if (at.Memory is not null)
                {
                    Span<byte> target = at.Memory.GetSpan(at.Offset, n);
                    if (reading)
                    {
                        target.CopyTo(readInto.Slice(from, n));
                    }
                    else
                    {
                        writeFrom.Slice(from, n).CopyTo(target);
                    }
                }
                else if (reading)
                {
                    ReadMmio(route.TargetBar!, at.Offset, readInto.Slice(from, n));
                }
                else
                {
                    WriteMmio(route.TargetBar!, at.Offset, writeFrom.Slice(from, n));
                }
            }
            finally
            {
                claimed?.EndAccess();
            }

            Tally(ref tally, reading ? at.Path : RoutePath.None, reading ? RoutePath.None : at.Path, (ulong)n, at.Memory is not null);
            done += (ulong)n;
        }

        Flush(ref tally);
        return DmaResult.Completed(done);
    }

    /// <summary>
    /// Routes one transaction at <paramref name="address"/>: the fast path straight to host RAM for the device's own
    /// untranslated requests, the full route otherwise (left in <paramref name="route"/>, also on failure).
    /// </summary>
    private bool TryResolve(ulong address, AccessKind access, ref RouteResult route, out Resolved at)
    {
        bool ownRequests = !TranslatedRequests && RequesterIdOverride is null;
        if (ownRequests && _fabric.TryRouteToRam(Owner, address, access, ref route, out ulong ramOffset, out ulong ramContiguous))
        {
            at = new Resolved(_fabric.Ram.Region, ramOffset, ramContiguous, RoutePath.HostMemory, ToRam: true);
            return true;
        }

        if (!ownRequests)
        {
            _fabric.RouteInto(Owner, address, access, TranslatedRequests, RequesterIdOverride, ref route);
        }

        if (!route.IsDelivered)
        {
            at = default;
            return false;
        }

        at = new Resolved(route.TargetMemory, route.TargetOffset, route.ContiguousBytes, route.Path, ToRam: false);
        return true;
    }

    /// <summary>Where a routed transaction lands: plain memory (RAM or a memory BAR) or, with no memory, a register BAR.</summary>
    private readonly record struct Resolved(BarRegion? Memory, ulong Offset, ulong Contiguous, RoutePath Path, bool ToRam);

    private DmaResult Gather(ReadOnlySpan<SgEntry> list, AccessKind access, Span<byte> readInto, ReadOnlySpan<byte> writeFrom)
    {
        bool reading = access == AccessKind.Read;
        if (TotalLength(list) > (ulong)(reading ? readInto.Length : writeFrom.Length))
        {
            throw new ArgumentException("The scatter-gather list is longer than the buffer.", nameof(list));
        }

        ulong done = 0;
        foreach (SgEntry entry in list)
        {
            int at = (int)done;
            int length = (int)entry.Length;
            DmaResult piece = reading
                ? Access(entry.Address, access, readInto.Slice(at, length), default)
                : Access(entry.Address, access, default, writeFrom.Slice(at, length));
            done += piece.BytesTransferred;
            if (!piece.IsSuccess)
            {
                return piece.After(done);
            }
        }

        return DmaResult.Completed(done);
    }

    private void Move(in RouteResult from, in RouteResult to, ulong n, ref TransferTally tally)
    {
        if (from.TargetMemory is BarRegion source && to.TargetMemory is BarRegion target)
        {
            BarRegion.Copy(source, from.TargetOffset, target, to.TargetOffset, n);
            Tally(ref tally, from.Path, to.Path, n, true);
            return;
        }

        // A register BAR on either side: move through a small device-internal buffer in aligned accesses.
        Span<byte> buffer = stackalloc byte[256];
        for (ulong moved = 0; moved < n;)
        {
            int piece = (int)Math.Min((ulong)buffer.Length, n - moved);
            Span<byte> chunk = buffer[..piece];
            if (from.TargetMemory is BarRegion src)
            {
                src.GetSpan(from.TargetOffset + moved, piece).CopyTo(chunk);
            }
            else
            {
                ReadMmio(from.TargetBar!, from.TargetOffset + moved, chunk);
            }

            if (to.TargetMemory is BarRegion dst)
            {
                chunk.CopyTo(dst.GetSpan(to.TargetOffset + moved, piece));
            }
            else
            {
                WriteMmio(to.TargetBar!, to.TargetOffset + moved, chunk);
            }

            moved += (ulong)piece;
        }

        Tally(ref tally, from.Path, to.Path, n, false);
    }

    /// <summary>
    /// Adds a delivered piece to the run being counted, publishing the run first when the piece goes another way.
    /// Counting per run rather than per piece keeps interlocked operations (which wait for the piece's stores to
    /// drain) off the per-page path of a DMA through scattered pages.
    /// </summary>
    private void Tally(ref TransferTally tally, RoutePath readPath, RoutePath writePath, ulong bytes, bool copied)
    {
        if (tally.Bytes != 0 && (tally.ReadPath != readPath || tally.WritePath != writePath || tally.Copied != copied))
        {
            Flush(ref tally);
        }

        tally.ReadPath = readPath;
        tally.WritePath = writePath;
        tally.Copied = copied;
        tally.Bytes += bytes;
    }

    /// <summary>Publishes the counted run to the fabric's counters and the transfer event, and empties it.</summary>
    private void Flush(ref TransferTally tally)
    {
        if (tally.Bytes == 0)
        {
            return;
        }

        _fabric.CountTransfer(tally.ReadPath, tally.WritePath, tally.Bytes, tally.Copied);
        FabricEventSource log = FabricEventSource.Log;
        if (log.IsEnabled(System.Diagnostics.Tracing.EventLevel.Verbose, FabricEventSource.Keywords.Transfers))
        {
            log.Transfer(RequesterId, (long)(tally.WritePath != RoutePath.None ? tally.WritePath : tally.ReadPath), (long)tally.Bytes);
        }

        tally = default;
    }

    /// <summary>
    /// Claims the BAR a delivered route reached (see <see cref="PciBar.TryBeginAccess"/>); false when the BAR stopped
    /// decoding since the route was computed, so the caller routes the transaction again.
    /// </summary>
    private static bool TryBeginAccess(in RouteResult route) =>
        route.TargetBar is not PciBar bar || bar.TryBeginAccess(route.TargetAddress.Value);

    private DmaResult Fail(ulong done, in RouteResult failure, DmaAddress start, AccessKind access)
    {
        _fabric.CountFailure(failure.Status);
        FabricEventSource log = FabricEventSource.Log;
        if (log.IsEnabled(System.Diagnostics.Tracing.EventLevel.Warning, FabricEventSource.Keywords.Faults))
        {
            log.TransactionFailed(RequesterId, unchecked((long)(start.Value + done)), ((long)failure.Status << 8) | (long)failure.Reason);
        }

        return new DmaResult(done, failure, access);
    }

    private long RequesterId => ((long)Owner.HostBridge.Segment << 16) | (RequesterIdOverride ?? Owner.Bdf).Value;

    /// <summary>Bytes delivered one way since the last flush.</summary>
    private struct TransferTally
    {
        public RoutePath ReadPath;
        public RoutePath WritePath;
        public bool Copied;
        public ulong Bytes;
    }

    private static ulong TotalLength(ReadOnlySpan<SgEntry> list)
    {
        ulong total = 0;
        foreach (SgEntry entry in list)
        {
            total = checked(total + entry.Length);
        }

        return total;
    }

    internal static void ReadMmio(PciBar bar, ulong offset, Span<byte> destination)
    {
        int done = 0;
        while (done < destination.Length)
        {
            int size = AccessSize(offset + (ulong)done, destination.Length - done);
            ulong value = bar.Mmio!.Read(offset + (ulong)done, size);
            for (int i = 0; i < size; i++)
            {
                destination[done + i] = unchecked((byte)(value >> (8 * i)));
            }

            done += size;
        }
    }

    internal static void WriteMmio(PciBar bar, ulong offset, ReadOnlySpan<byte> source)
    {
        int done = 0;
        while (done < source.Length)
        {
            int size = AccessSize(offset + (ulong)done, source.Length - done);
            ulong value = 0;
            for (int i = 0; i < size; i++)
            {
                value |= (ulong)source[done + i] << (8 * i);
            }

            bar.Mmio!.Write(offset + (ulong)done, size, value);
            done += size;
        }
    }

    /// <summary>The widest naturally aligned access (8, 4, 2 or 1 bytes) that fits at this offset.</summary>
    private static int AccessSize(ulong offset, int remaining)
    {
        int size = 8;
        while (size > 1 && ((offset & (ulong)(size - 1)) != 0 || size > remaining))
        {
            size >>= 1;
        }

        return size;
    }
}
