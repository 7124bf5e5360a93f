using System;
using System.Collections.Generic;
using P2pEmu.Dma.Mapping;
using P2pEmu.Dma.Mm;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Host;

namespace P2pEmu.Drivers.Rdma;

/// <summary>
/// Linux <c>struct ib_umem</c> from <c>ib_umem_get</c>: user pages pinned with <c>pin_user_pages_fast</c> and
/// <c>FOLL_LONGTERM</c> (plus <c>FOLL_WRITE</c> when the region is writable), gathered into a table and mapped for the
/// NIC with <c>ib_dma_map_sgtable_attrs</c>. Released by <see cref="Release"/> (unmap, unpin).
/// </summary>
/// <remarks>
/// Linux passes no <c>FOLL_PCI_P2PDMA</c> here, and could not: <c>FOLL_LONGTERM | FOLL_PCI_P2PDMA</c> is rejected by
/// <c>is_valid_gup_args</c>. So a region over a p2pmem mapping fails with EREMOTEIO, as on Linux; P2P memory reaches
/// RDMA through kernel tables (<see cref="RdmaDev.RegMrSg"/>) or dma-bufs.
/// </remarks>
public sealed class IbUmem
{
    private readonly DmaApi _dma;
    private readonly DmaDevice _dev;
    private Page[]? _pages;
    private SgTable? _sgt;

    private IbUmem(DmaApi dma, DmaDevice dev, ulong address, ulong length, Page[] pages, SgTable sgt)
    {
        _dma = dma;
        _dev = dev;
        Address = address;
        Length = length;
        _pages = pages;
        _sgt = sgt;
    }

    /// <summary>The user address the region starts at.</summary>
    public ulong Address { get; }

    public ulong Length { get; }

    /// <summary>The pinned pages, in address order (empty once released).</summary>
    public IReadOnlyList<Page> Pages => _pages ?? [];

    /// <summary>The mapped table (null once released).</summary>
    public SgTable? Sgt => _sgt;

    /// <summary><c>ib_umem_get</c>: pins and maps [address, address+length) of <paramref name="mm"/>.</summary>
    /// <returns>The umem; EINVAL for an empty or wrapping range, the GUP error (EFAULT, EREMOTEIO, ENOMEM…), or the mapping error.</returns>
    internal static Result<IbUmem> Get(DmaApi dma, DmaDevice dev, MmStruct mm, ulong address, ulong length, bool writable)
    {
        if (length == 0 || length > ulong.MaxValue - address)
        {
            return Errno.EINVAL;
        }

        if (address + length > MmStruct.TaskSize)
        {
            return Errno.EFAULT;
        }

        ulong first = address & ~(Page.PageSize - 1);
        ulong end = (address + length + Page.PageSize - 1) & ~(Page.PageSize - 1);
        int count = (int)((end - first) >> Page.PageShift);
        var pages = new Page[count];
        FollFlags flags = FollFlags.Longterm | (writable ? FollFlags.Write : FollFlags.None);
        // As ib_umem_get's loop: after a short pin, ask again from the page that stopped it, which reports its error.
        int done = 0;
        while (done < count)
        {
            Result<int> pinned = mm.PinUserPages(first + ((ulong)done << Page.PageShift), count - done, flags, pages.AsSpan(done));
            if (!pinned.IsSuccess)
            {
                Gup.UnpinUserPages(pages.AsSpan(0, done));
                return pinned.Error;
            }

            done += pinned.Value;
        }

        var entries = new List<Scatterlist>();
        ulong runStart = pages[0].Phys.Value;
        ulong runBytes = Page.PageSize;
        for (int i = 1; i < count; i++)
        {
            if (pages[i].Phys.Value == runStart + runBytes && runBytes < uint.MaxValue - Page.PageSize)
            {
                runBytes += Page.PageSize;
                continue;
            }

            entries.Add(new Scatterlist(new PhysAddress(runStart), (uint)runBytes));
            runStart = pages[i].Phys.Value;
            runBytes = Page.PageSize;
        }

        entries.Add(new Scatterlist(new PhysAddress(runStart), (uint)runBytes));
        var sgt = new SgTable(entries);
        Errno mapped = dma.DmaMapSgtable(dev, sgt, DmaDirection.Bidirectional);
        if (mapped != Errno.None)
        {
            Gup.UnpinUserPages(pages);
            return mapped;
        }

        return Result.Ok(new IbUmem(dma, dev, address, length, pages, sgt));
    }

    /// <summary><c>ib_umem_release</c>: unmaps the table and unpins the pages. Idempotent.</summary>
    public void Release()
    {
        if (_sgt is SgTable sgt)
        {
            _dma.DmaUnmapSgtable(_dev, sgt, DmaDirection.Bidirectional);
            _sgt = null;
        }

        if (_pages is Page[] pages)
        {
            Gup.UnpinUserPages(pages);
            _pages = null;
        }
    }
}
