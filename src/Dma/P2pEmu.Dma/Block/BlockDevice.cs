using System;
using System.Collections.Generic;
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
    public bool IsRemoved => System.Threading.Volatile.Read(ref _removed) != 0;

    /// <summary>O_DIRECT <c>pread</c>: reads into <paramref name="buffer"/> from byte <paramref name="position"/>.</summary>
    /// <returns>Bytes read (short at the end of the disk), or EINVAL (alignment), ENODEV (removed), or the I/O's error.</returns>
    public Result<long> ReadDirect(long position, IReadOnlyList<BioVec> buffer) => DirectIo(ReqOp.Read, position, buffer);

    /// <summary>O_DIRECT <c>pwrite</c>: writes <paramref name="buffer"/> at byte <paramref name="position"/>.</summary>
    /// <returns>Bytes written (short at the end of the disk), or EINVAL (alignment), ENOSPC (at or past the end), ENODEV (removed), or the I/O's error.</returns>
    public Result<long> WriteDirect(long position, IReadOnlyList<BioVec> buffer) => DirectIo(ReqOp.Write, position, buffer);

    /// <summary>
    /// O_DIRECT read over what <c>iov_iter_extract_pages</c> returns: <paramref name="pages"/> (page addresses, in
    /// order), the data starting <paramref name="offset"/> bytes into the first, <paramref name="length"/> bytes in all.
    /// </summary>
    public Result<long> ReadDirect(long position, IReadOnlyList<PhysAddress> pages, uint offset, ulong length) =>
        DirectIo(ReqOp.Read, position, FromExtractedPages(pages, offset, length));

    /// <summary>O_DIRECT write over extracted pages (see the read overload).</summary>
    public Result<long> WriteDirect(long position, IReadOnlyList<PhysAddress> pages, uint offset, ulong length) =>
        DirectIo(ReqOp.Write, position, FromExtractedPages(pages, offset, length));

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
    public int BioPoll(Bio bio) => Queue.BioPoll(bio);

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
        System.Threading.Volatile.Write(ref _removed, 1);
        Queue.MarkDying();
    }

    public override string ToString() => $"{Name} ({SizeBytes} bytes, {LogicalBlockSize}-byte blocks)";

    private static List<BioVec> FromExtractedPages(IReadOnlyList<PhysAddress> pages, uint offset, ulong length)
    {
        ArgumentNullException.ThrowIfNull(pages);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((ulong)offset, BlockGeometry.PageSize);
        var vecs = new List<BioVec>(pages.Count);
        ulong left = length;
        foreach (PhysAddress page in pages)
        {
            if (left == 0)
            {
                break;
            }

            uint start = vecs.Count == 0 ? offset : 0;
            uint n = (uint)Math.Min(left, BlockGeometry.PageSize - start);
            vecs.Add(new BioVec(page, start, n));
            left -= n;
        }

        if (left != 0)
        {
            throw new ArgumentException($"{pages.Count} pages from offset {offset} hold fewer than {length} bytes.", nameof(pages));
        }

        return vecs;
    }

    private Result<long> DirectIo(ReqOp op, long position, IReadOnlyList<BioVec> buffer)
    {
        ArgumentNullException.ThrowIfNull(buffer);
        if (IsRemoved)
        {
            return Errno.ENODEV;
        }

        ulong blockMask = LogicalBlockSize - 1;
        ulong dmaMask = Queue.Limits.DmaAlignment;
        ulong total = 0;
        foreach (BioVec vec in buffer)
        {
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
        List<Bio>? bios = BuildBios(op, pos, length, buffer);
        if (bios is null)
        {
            return Errno.EINVAL;
        }

        foreach (Bio bio in bios)
        {
            SubmitBio(bio);
        }

        BlkStatus status = BlkStatus.Ok;
        foreach (Bio bio in bios)
        {
            BlkStatus ended = Queue.BioWait(bio);
            status = status != BlkStatus.Ok ? status : ended;
        }

        return status == BlkStatus.Ok ? Result.Ok((long)length) : BlkErrors.BlkStatusToErrno(status);
    }

    /// <summary>
    /// <c>bio_iov_iter_get_pages</c> over the whole buffer: pages go into bios until one refuses a page (full, or of
    /// another page map); a full bio that does not end on a logical block hands its tail to the next. Null when a
    /// logical block would mix pages of two page maps (nothing is submitted then: EINVAL).
    /// </summary>
    private List<Bio>? BuildBios(ReqOp op, ulong position, ulong length, IReadOnlyList<BioVec> buffer)
    {
        ulong blockMask = LogicalBlockSize - 1;
        var bios = new List<Bio>();
        var bio = new Bio(Queue.P2p, op, position >> BlockGeometry.SectorShift);
        ulong queued = 0;
        ulong sealedBytes = 0;
        foreach (BioVec vec in buffer)
        {
            if (queued == length)
            {
                break;
            }

            uint n = (uint)Math.Min(vec.Length, length - queued);
            queued += n;
            if (bio.BioAddPage(vec.Page, n, vec.Offset) != 0)
            {
                continue;
            }

            List<BioVec> carry = new();
            uint misaligned = bio.Size & (uint)blockMask;
            if (misaligned != 0)
            {
                if (!bio.IsFull)
                {
                    return null;
                }

                carry = bio.TrimTail(misaligned);
            }

            bios.Add(bio);
            sealedBytes += bio.Size;
            bio = new Bio(Queue.P2p, op, (position + sealedBytes) >> BlockGeometry.SectorShift);
            foreach (BioVec c in carry)
            {
                bio.BioAddPage(c.Page, c.Length, c.Offset);
            }

            if (bio.BioAddPage(vec.Page, n, vec.Offset) == 0)
            {
                return null;
            }
        }

        bios.Add(bio);
        return bios;
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
