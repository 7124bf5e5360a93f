using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using System.Threading;
using P2pEmu.Dma.P2pDma;
using P2pEmu.Emulator.Addressing;

namespace P2pEmu.Dma.Block;

/// <summary>
/// Linux <c>struct bio</c>: one contiguous range of sectors and the pages its data lives in. Pages are added with
/// <see cref="BioAddPage"/>, which keeps a bio homogeneous: all host RAM pages, or all P2P pages of one page map
/// (spec §3.4, <c>zone_device_pages_have_same_pgmap</c>); a P2P bio is flagged <see cref="ReqFlags.P2pdma"/> and
/// <see cref="ReqFlags.NoMerge"/>.
/// </summary>
/// <remarks>
/// Not thread safe: a bio is built by one thread, then submitted. Once submitted it belongs to the block layer until
/// it ends (<see cref="IsDone"/>); then <see cref="Reset"/> makes it ready for the next I/O without allocating
/// (Linux <c>bio_reset</c>, as a caller that keeps its own bios does).
/// </remarks>
public sealed class Bio
{
    private readonly P2pDmaHost _p2p;
    private readonly List<BioVec> _vecs = new();
    private int _remaining;
    private int _done;
    private int _status;

    /// <summary>Created by the first waiter that has to sleep; the bio's end pulses it (nobody waits in the common case).</summary>
    private object? _waitGate;

    /// <summary><c>bio_alloc</c>: an empty bio of <paramref name="op"/> at <paramref name="sector"/> (512-byte units).</summary>
    /// <param name="p2p">The machine's P2PDMA state, which knows every page map (<c>page_pgmap</c>).</param>
    /// <param name="maxVecs"><c>bi_max_vecs</c>: how many bio_vecs it can hold.</param>
    /// <exception cref="ArgumentNullException"><paramref name="p2p"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxVecs"/> is not 1 to <see cref="BlockGeometry.BioMaxVecs"/>.</exception>
    public Bio(P2pDmaHost p2p, ReqOp op, ulong sector, int maxVecs = BlockGeometry.BioMaxVecs)
    {
        ArgumentNullException.ThrowIfNull(p2p);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxVecs, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxVecs, BlockGeometry.BioMaxVecs);
        _p2p = p2p;
        Op = op;
        Sector = sector;
        MaxVecs = maxVecs;
    }

    public ReqOp Op { get; private set; }

    /// <summary><c>bi_opf</c>'s flags.</summary>
    public ReqFlags Flags { get; private set; }

    /// <summary><c>bi_iter.bi_sector</c>: the first 512-byte sector.</summary>
    public ulong Sector { get; private set; }

    /// <summary><c>bi_iter.bi_size</c>: data bytes.</summary>
    public uint Size { get; private set; }

    /// <summary><c>bi_max_vecs</c>.</summary>
    public int MaxVecs { get; }

    /// <summary><c>bi_io_vec</c>, <c>bi_vcnt</c> entries.</summary>
    public IReadOnlyList<BioVec> Vecs => _vecs;

    /// <summary><see cref="Vecs"/> as a span, valid until the bio changes.</summary>
    internal ReadOnlySpan<BioVec> VecSpan => CollectionsMarshal.AsSpan(_vecs);

    /// <summary><c>bio_full</c> as far as bio_vecs go: no room for another one.</summary>
    public bool IsFull => _vecs.Count >= MaxVecs;

    /// <summary>The page map of the bio's pages when it carries P2P pages; null for host RAM.</summary>
    public P2pPagemap? Pagemap { get; private set; }

    /// <summary>
    /// <c>bi_end_io</c>: called once when the bio ends (every request it became has ended, or it failed before
    /// dispatch), on the thread that ended it — the submitter, or whoever reaps the device's completions. Null for none.
    /// </summary>
    public BioEndIo? EndIo { get; set; }

    /// <summary><c>bi_private</c>: the submitter's data for <see cref="EndIo"/>.</summary>
    public object? Private { get; set; }

    /// <summary><c>bi_status</c>: the first error of its requests, or Ok; valid once <see cref="IsDone"/>.</summary>
    public BlkStatus Status => (BlkStatus)Volatile.Read(ref _status);

    /// <summary>Submitted and not yet ended: <see cref="Reset"/> is refused.</summary>
    internal bool InFlight => Volatile.Read(ref _remaining) != 0;

    /// <summary>True once the bio ended (<c>bio_endio</c> ran).</summary>
    public bool IsDone => Volatile.Read(ref _done) != 0;

    /// <summary><c>bi_cookie</c>: the hardware queue its last request went to, which <c>bio_poll</c> polls first.</summary>
    internal BlkMqHwCtx? Cookie { get; set; }

    /// <summary>Its requests went to more than one hardware queue, so polling for it polls them all.</summary>
    internal bool SpansQueues { get; set; }

    /// <summary>
    /// <c>bio_reset</c>: empties the bio for a new I/O of <paramref name="op"/> at <paramref name="sector"/> — no pages,
    /// flags, status, <see cref="EndIo"/> or <see cref="Private"/> — keeping its bio_vec storage.
    /// </summary>
    /// <exception cref="InvalidOperationException">The bio was submitted and has not ended.</exception>
    public void Reset(ReqOp op, ulong sector)
    {
        if (InFlight)
        {
            throw new InvalidOperationException("A bio in flight cannot be reset.");
        }

        _vecs.Clear();
        Op = op;
        Sector = sector;
        Flags = ReqFlags.None;
        Size = 0;
        Pagemap = null;
        EndIo = null;
        Private = null;
        Cookie = null;
        SpansQueues = false;
        _status = (int)BlkStatus.Ok;
        _done = 0;
    }

    /// <summary>
    /// Linux <c>bio_add_page</c>: appends <paramref name="length"/> bytes at <paramref name="offset"/> into the page at
    /// <paramref name="page"/>, merged into the last bio_vec when physically contiguous with it.
    /// </summary>
    /// <returns>
    /// The bytes added, or 0 when the page was refused: it is of another page map than the bio's pages (a P2P page
    /// after host pages, a host page after P2P pages, or P2P pages of two page maps), the bio is full, or its size
    /// would pass 4 GiB.
    /// </returns>
    /// <exception cref="ArgumentException"><paramref name="page"/> is not page aligned, or <paramref name="length"/> is 0.</exception>
    public uint BioAddPage(PhysAddress page, uint length, uint offset)
    {
        if ((page.Value & (BlockGeometry.PageSize - 1)) != 0)
        {
            throw new ArgumentException($"0x{page.Value:x} is not a page address.", nameof(page));
        }

        ArgumentOutOfRangeException.ThrowIfZero(length);
        if (Size > uint.MaxValue - length)
        {
            return 0;
        }

        ulong phys = page.Value + offset;
        P2pPagemap? pagemap = _p2p.FindPagemap(phys);
        if (_vecs.Count > 0)
        {
            if (!ReferenceEquals(pagemap, Pagemap))
            {
                return 0; // zone_device_pages_have_same_pgmap
            }

            BioVec last = _vecs[^1];
            if (last.End == phys)
            {
                _vecs[^1] = last with { Length = last.Length + length };
                Size += length;
                return length;
            }
        }

        if (_vecs.Count >= MaxVecs)
        {
            return 0;
        }

        if (_vecs.Count == 0 && pagemap is not null)
        {
            Flags |= ReqFlags.P2pdma | ReqFlags.NoMerge;
        }

        Pagemap = pagemap;
        _vecs.Add(new BioVec(page, offset, length));
        Size += length;
        return length;
    }

    /// <summary>
    /// Takes the last <paramref name="bytes"/> bytes off the bio (as <c>bio_iov_iter_align_down</c> does when a full bio
    /// does not end on a logical block) and appends them to <paramref name="removed"/> as bio_vecs, in order.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="bytes"/> is not below the bio's size.</exception>
    internal void TrimTail(uint bytes, List<BioVec> removed)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(bytes, Size);
        BioVec.MoveTail(_vecs, bytes, removed, removed.Count);
        Size -= bytes;
    }

    /// <summary>
    /// <c>submit_bio</c>'s start: the bio is about to become <paramref name="requests"/> requests, each of which ends
    /// with <see cref="EndRequest"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException">The bio is in flight, or already ended and was not reset.</exception>
    internal void BeginSubmit(int requests)
    {
        if (Volatile.Read(ref _remaining) != 0 || IsDone)
        {
            throw new InvalidOperationException("The bio was already submitted; reset it before submitting it again.");
        }

        Volatile.Write(ref _remaining, requests);
    }

    /// <summary>
    /// One of the bio's requests ended with <paramref name="status"/> (the first error is kept); the last one ends the
    /// bio (<c>bio_endio</c>).
    /// </summary>
    internal void EndRequest(BlkStatus status)
    {
        if (status != BlkStatus.Ok)
        {
            Interlocked.CompareExchange(ref _status, (int)status, (int)BlkStatus.Ok);
        }

        // bio_remaining_done: the last request out (the only one, for a bio that was not split) needs no atomic.
        if (Volatile.Read(ref _remaining) == 1)
        {
            Volatile.Write(ref _remaining, 0);
        }
        else if (Interlocked.Decrement(ref _remaining) > 0)
        {
            return;
        }

        Volatile.Write(ref _done, 1);
        EndIo?.Invoke(this);

        // _done was published before the gate is read (a full fence on each side, see WaitForEnd).
        Interlocked.MemoryBarrier();
        if (Volatile.Read(ref _waitGate) is object gate)
        {
            lock (gate)
            {
                Monitor.PulseAll(gate);
            }
        }
    }

    /// <summary>
    /// Sleeps until the bio ends (an interrupt handler ends its last request) or <paramref name="timeoutMilliseconds"/>
    /// pass (<c>submit_bio_wait</c>'s <c>wait_for_completion_io</c>).
    /// </summary>
    /// <returns>Whether it has ended.</returns>
    public bool WaitForEnd(int timeoutMilliseconds)
    {
        if (IsDone)
        {
            return true;
        }

        object gate = LazyInitializer.EnsureInitialized(ref _waitGate);
        lock (gate)
        {
            if (!IsDone)
            {
                Monitor.Wait(gate, timeoutMilliseconds);
            }
        }

        return IsDone;
    }

    public override string ToString() => $"{Op} sector {Sector} +{Size} bytes in {_vecs.Count} vecs{(Pagemap is null ? string.Empty : " (P2P)")}";
}
