using System;
using System.Collections.Generic;
using System.Threading;
using P2pEmu.Dma.P2pDma;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Host;

namespace P2pEmu.Dma.Block;

/// <summary>
/// A disk (Linux <c>struct gendisk</c> with its <c>block_device</c>): a name, a capacity, a request queue, and
/// synchronous O_DIRECT reads and writes (<c>blkdev_direct_IO</c>) over pages the caller already holds — kernel
/// pages, or user pages pinned by <c>pin_user_pages</c> (with <c>FOLL_PCI_P2PDMA</c> when
/// <see cref="DirectIoAllowsP2pdma"/>).
/// </summary>
/// <remarks>
/// The O_DIRECT path follows Linux (the relaxed rule of 6.18: segments need only the DMA alignment): the position and
/// the total length must be multiples of the logical block size and every buffer segment must start and end on the
/// DMA alignment (EINVAL otherwise); I/O is cut at the end of the disk (a read there returns 0, a write ENOSPC);
/// pages go into bios with <see cref="Bio.BioAddPage"/>, so a buffer that mixes host and P2P pages (or P2P pages of
/// two providers) becomes several bios, each homogeneous — and fails with EINVAL, before anything is submitted,
/// when the switch falls inside a logical block; all bios are submitted, then waited for, and the first error
/// decides the result. The synchronous calls are the asynchronous <see cref="SubmitBio"/> followed by a polled wait,
/// as <c>submit_bio_wait</c> is in Linux.
/// </remarks>
public sealed partial class BlockDevice
{
    private int _removed;

    /// <summary>The bios of the last synchronous O_DIRECT call, for the next; taken while a call runs (a second one at the same time makes its own).</summary>
    private BioAllocCache? _bioCache;

    /// <summary><c>device_add_disk</c>: a disk named <paramref name="name"/> of <paramref name="capacitySectors"/> 512-byte sectors.</summary>
    /// <param name="device">The disk's <c>struct device</c>, a child of the controller's PCI device.</param>
    public BlockDevice(string name, RequestQueue queue, ulong capacitySectors, Device device)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(queue);
        ArgumentNullException.ThrowIfNull(device);
        Name = name;
        Queue = queue;
        CapacitySectors = capacitySectors;
        Device = device;
    }

    /// <summary><c>disk_name</c>, e.g. "nvme0n1".</summary>
    public string Name { get; }

    public RequestQueue Queue { get; }

    /// <summary><c>get_capacity</c>: 512-byte sectors.</summary>
    public ulong CapacitySectors { get; }

    /// <summary><c>bdev_nr_bytes</c>.</summary>
    public ulong SizeBytes => CapacitySectors << BlockGeometry.SectorShift;

    /// <summary><c>bdev_logical_block_size</c>.</summary>
    public uint LogicalBlockSize => Queue.Limits.LogicalBlockSize;

    /// <summary>The disk's <c>struct device</c>.</summary>
    public Device Device { get; }

    /// <summary>
    /// Whether O_DIRECT on this disk extracts user pages with <c>ITER_ALLOW_P2PDMA</c>, i.e. pins them with
    /// <c>FOLL_PCI_P2PDMA</c> (spec §4.2): exactly when the queue advertises <see cref="BlkFeatures.PciP2pdma"/>.
    /// Without it, pinning a P2P user page fails (EREMOTEIO) before any I/O.
    /// </summary>
    public bool DirectIoAllowsP2pdma => Queue.BlkQueuePciP2pdma;

    /// <summary>True once the disk was removed (<c>del_gendisk</c>).</summary>
    public bool IsRemoved => Volatile.Read(ref _removed) != 0;

    /// <summary>O_DIRECT <c>pread</c>: reads into <paramref name="buffer"/> from byte <paramref name="position"/>.</summary>
    /// <returns>Bytes read (short at the end of the disk), or EINVAL (alignment), ENODEV (removed), or the I/O's error.</returns>
    public Result<long> ReadDirect(long position, IReadOnlyList<BioVec> buffer) => DirectIo(ReqOp.Read, position, buffer, RentBioCache());

    /// <summary>O_DIRECT <c>pwrite</c>: writes <paramref name="buffer"/> at byte <paramref name="position"/>.</summary>
    /// <returns>Bytes written (short at the end of the disk), or EINVAL (alignment), ENOSPC (at or past the end), ENODEV (removed), or the I/O's error.</returns>
    public Result<long> WriteDirect(long position, IReadOnlyList<BioVec> buffer) => DirectIo(ReqOp.Write, position, buffer, RentBioCache());

    /// <summary>
    /// O_DIRECT read over what <c>iov_iter_extract_pages</c> returns: <paramref name="pages"/> (page addresses, in
    /// order), the data starting <paramref name="offset"/> bytes into the first, <paramref name="length"/> bytes in all.
    /// </summary>
    public Result<long> ReadDirect(long position, IReadOnlyList<PhysAddress> pages, uint offset, ulong length) =>
        ExtractedDirectIo(ReqOp.Read, position, pages, offset, length, RentBioCache());

    /// <summary>O_DIRECT write over extracted pages (see the read overload).</summary>
    public Result<long> WriteDirect(long position, IReadOnlyList<PhysAddress> pages, uint offset, ulong length) =>
        ExtractedDirectIo(ReqOp.Write, position, pages, offset, length, RentBioCache());

    /// <summary>
    /// <c>submit_bio</c>: submits <paramref name="bio"/> without waiting. It ends (<see cref="Bio.EndIo"/>,
    /// <see cref="Bio.IsDone"/>, <see cref="Bio.Status"/>) once every request it became has completed; completions are
    /// reaped by polling (<see cref="BioPoll"/>). A bio on a removed disk ends at once with Offline, one past the end of
    /// the disk with IoErr (<c>bio_check_eod</c>), before reaching the driver.
    /// </summary>
    /// <exception cref="InvalidOperationException">The bio is in flight, or ended and was not <see cref="Bio.Reset"/>.</exception>
    public void SubmitBio(Bio bio)
    {
        ArgumentNullException.ThrowIfNull(bio);
        BlkStatus refused = CheckBio(bio);
        if (refused != BlkStatus.Ok)
        {
            bio.BeginSubmit(1);
            bio.EndRequest(refused);
            return;
        }

        Queue.SubmitBio(bio);
    }

    /// <summary><c>bio_poll</c>: reaps the completions of the hardware queue(s) <paramref name="bio"/> went to.</summary>
    /// <returns>How many completions were found (any request's, not only the bio's).</returns>
    public int BioPoll(Bio bio, IoCompBatch? iob = null) => Queue.BioPoll(bio, iob);

    /// <summary>
    /// <c>submit_bio_wait</c>: <see cref="SubmitBio"/>, then polls until the bio ends (see
    /// <see cref="RequestQueue.BioWait"/> for the timeout).
    /// </summary>
    public BlkStatus SubmitBioWait(Bio bio)
    {
        SubmitBio(bio);
        return Queue.BioWait(bio);
    }

    /// <summary><c>del_gendisk</c>: the disk goes away; new I/O fails with ENODEV, the queue is marked dying.</summary>
    public void Remove()
    {
        Volatile.Write(ref _removed, 1);
        Queue.MarkDying();
    }

    public override string ToString() => $"{Name} ({SizeBytes} bytes, {LogicalBlockSize}-byte blocks)";

    /// <summary>Takes the disk's bio cache, or makes one when another call holds it.</summary>
    private BioAllocCache RentBioCache() => Interlocked.Exchange(ref _bioCache, null) ?? new BioAllocCache();

    /// <summary>Direct I/O over extracted pages, turned into bio_vecs in <paramref name="cache"/>.</summary>
    private Result<long> ExtractedDirectIo(ReqOp op, long position, IReadOnlyList<PhysAddress> pages, uint offset, ulong length, BioAllocCache cache)
    {
        ArgumentNullException.ThrowIfNull(pages);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((ulong)offset, BlockGeometry.PageSize);
        List<BioVec> vecs = cache.Vecs;
        ulong left = length;
        for (int i = 0; i < pages.Count && left != 0; i++)
        {
            uint start = i == 0 ? offset : 0;
            uint n = (uint)Math.Min(left, BlockGeometry.PageSize - start);
            vecs.Add(new BioVec(pages[i], start, n));
            left -= n;
        }

        if (left != 0)
        {
            throw new ArgumentException($"{pages.Count} pages from offset {offset} hold fewer than {length} bytes.", nameof(pages));
        }

        return DirectIo(op, position, vecs, cache);
    }

    /// <summary><c>blkdev_direct_IO</c> with bios from <paramref name="cache"/>, which goes back to the disk when every bio has ended.</summary>
    private Result<long> DirectIo(ReqOp op, long position, IReadOnlyList<BioVec> buffer, BioAllocCache cache)
    {
        try
        {
            return DirectIoCore(op, position, buffer, cache);
        }
        finally
        {
            if (cache.Clear())
            {
                Volatile.Write(ref _bioCache, cache);
            }
        }
    }

    private Result<long> DirectIoCore(ReqOp op, long position, IReadOnlyList<BioVec> buffer, BioAllocCache cache)
    {
        ArgumentNullException.ThrowIfNull(buffer);
        if (IsRemoved)
        {
            return Errno.ENODEV;
        }

        ulong blockMask = LogicalBlockSize - 1;
        ulong dmaMask = Queue.Limits.DmaAlignment;
        ulong total = 0;
        for (int i = 0; i < buffer.Count; i++)
        {
            BioVec vec = buffer[i];
            if (((vec.Phys | vec.Length) & dmaMask) != 0)
            {
                return Errno.EINVAL;
            }

            total += vec.Length;
        }

        if (position < 0 || (((ulong)position | total) & blockMask) != 0)
        {
            return Errno.EINVAL;
        }

        if (total == 0)
        {
            return Result.Ok(0L);
        }

        ulong pos = (ulong)position;
        if (pos >= SizeBytes)
        {
            return op == ReqOp.Write ? Errno.ENOSPC : Result.Ok(0L);
        }

        ulong length = Math.Min(total, SizeBytes - pos);
        if (!BuildBios(op, pos, length, buffer, cache))
        {
            return Errno.EINVAL;
        }

        for (int i = 0; i < cache.Count; i++)
        {
            SubmitBio(cache[i]);
        }

        BlkStatus status = BlkStatus.Ok;
        for (int i = 0; i < cache.Count; i++)
        {
            BlkStatus ended = Queue.BioWait(cache[i]);
            status = status != BlkStatus.Ok ? status : ended;
        }

        return status == BlkStatus.Ok ? Result.Ok((long)length) : BlkErrors.BlkStatusToErrno(status);
    }

    /// <summary>
    /// <c>bio_iov_iter_get_pages</c> over the whole buffer, into bios from <paramref name="cache"/>: pages go into
    /// bios until one refuses a page (full, or of another page map); a full bio that does not end on a logical block
    /// hands its tail to the next. False when a logical block would mix pages of two page maps (nothing is submitted
    /// then: EINVAL).
    /// </summary>
    private bool BuildBios(ReqOp op, ulong position, ulong length, IReadOnlyList<BioVec> buffer, BioAllocCache cache)
    {
        ulong blockMask = LogicalBlockSize - 1;
        Bio bio = cache.Alloc(Queue.P2p, op, position >> BlockGeometry.SectorShift);
        List<BioVec> carry = cache.Carry;
        ulong queued = 0;
        ulong sealedBytes = 0;
        for (int i = 0; i < buffer.Count && queued != length; i++)
        {
            BioVec vec = buffer[i];
            uint n = (uint)Math.Min(vec.Length, length - queued);
            queued += n;
            if (bio.BioAddPage(vec.Page, n, vec.Offset) != 0)
            {
                continue;
            }

            carry.Clear();
            uint misaligned = bio.Size & (uint)blockMask;
            if (misaligned != 0)
            {
                if (!bio.IsFull)
                {
                    return false;
                }

                bio.TrimTail(misaligned, carry);
            }

            sealedBytes += bio.Size;
            bio = cache.Alloc(Queue.P2p, op, (position + sealedBytes) >> BlockGeometry.SectorShift);
            foreach (BioVec c in carry)
            {
                bio.BioAddPage(c.Page, c.Length, c.Offset);
            }

            if (bio.BioAddPage(vec.Page, n, vec.Offset) == 0)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Why a bio cannot go to the queue: Offline on a removed disk, IoErr past the end (<c>bio_check_eod</c>); else Ok.</summary>
    private BlkStatus CheckBio(Bio bio)
    {
        if (IsRemoved)
        {
            return BlkStatus.Offline;
        }

        ulong sectors = bio.Size >> BlockGeometry.SectorShift;
        if (bio.Sector > CapacitySectors || sectors > CapacitySectors - bio.Sector)
        {
            return BlkStatus.IoErr; // bio_check_eod: "attempt to access beyond end of device"
        }

        return BlkStatus.Ok;
    }
}
