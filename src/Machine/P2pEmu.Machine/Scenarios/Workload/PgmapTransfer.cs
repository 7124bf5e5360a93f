using System;
using System.Collections.Generic;
using P2pEmu.Dma.Block;
using P2pEmu.Dma.Mm;
using P2pEmu.Emulator.Host;
using P2pEmu.Emulator.Pci;
using P2pEmu.Machine.Reports;

namespace P2pEmu.Machine.Scenarios.Workload;

/// <summary>
/// <c>pgmap</c>: a process's O_DIRECT <c>pread</c> (drive as <c>from</c>) or <c>pwrite</c> (drive as <c>to</c>) per
/// chunk, into or out of its own memory: anonymous pages for "host", or a provider's p2pmem mapped through its sysfs
/// <c>allocate</c> file (spec §4.2: GUP with FOLL_PCI_P2PDMA, ZONE_DEVICE pages). A provider removal zaps the mapping,
/// so the next call fails with EFAULT and nothing more reaches the memory.
/// </summary>
internal sealed class PgmapTransfer : ChunkedTransfer
{
    private readonly bool _read;
    private readonly List<ulong> _pagePhys = new();
    private MmStruct? _mm;
    private BlockDevice? _disk;
    private ulong _buffer;
    private ulong _mapped;

    public PgmapTransfer(Machine machine, WorkloadTransfer spec, int seed)
        : base(machine, spec, seed) => _read = machine.BlockDevices.ContainsKey(spec.From);

    public override void Setup()
    {
        _disk = Machine.BlockDevices[_read ? Spec.From : Spec.To];
        string memory = _read ? Spec.To : Spec.From;
        _mm = new MmStruct(Machine.Fabric, Machine.Pages, "p2pemu-scenario");
        _mapped = (Spec.Offset + Spec.Size + Page.PageSize - 1) & ~(Page.PageSize - 1);
        Result<ulong> buffer = memory == ScenarioBuffer.Host
            ? _mm.Mmap(0, _mapped, Prot.Read | Prot.Write, MapFlags.Private | MapFlags.Anonymous)
            : Machine.P2pDma.GetP2pmemSysfs(Machine.Fabric[memory]) is { } sysfs
                ? _mm.Mmap(0, _mapped, Prot.Read | Prot.Write, MapFlags.Shared, sysfs.Allocate)
                : Errno.ENODEV;
        if (!buffer.IsSuccess)
        {
            SetupError = $"mmap of {(memory == ScenarioBuffer.Host ? "anonymous memory" : memory + "'s p2pmem/allocate")}: -{buffer.Error}";
            return;
        }

        _buffer = buffer.Value;
        PciFunction controller = _disk.Device.FindParentPciDev()!;
        MapType = memory == ScenarioBuffer.Host ? "NONE" : P2pMatrix.MapTypeName(Machine.P2pDma.Explain(Machine.Fabric[memory], controller).MapType);
        if (!LearnPages())
        {
            return;
        }

        if (_read && !SeedDrive(_disk))
        {
            return;
        }

        if (!_read)
        {
            Errno written = _mm.WriteUser(_buffer + Spec.Offset, Data);
            SetupError = written == Errno.None ? null : $"filling the buffer: -{written}";
        }

        TargetBefore = TargetNow();
    }

    /// <summary>Faults the mapping in and notes each page's address, for the check that reads around the path (then unpins).</summary>
    private bool LearnPages()
    {
        int count = (int)(_mapped / Page.PageSize);
        var pages = new Page[count];
        Result<int> pinned = _mm!.PinUserPages(_buffer, count, FollFlags.Write | FollFlags.PciP2pdma, pages);
        if (!pinned.IsSuccess || pinned.Value != count)
        {
            SetupError = $"pin_user_pages of the buffer: {(pinned.IsSuccess ? $"{pinned.Value} of {count} pages" : "-" + pinned.Error)}";
            return false;
        }

        foreach (Page page in pages)
        {
            _pagePhys.Add(page.Phys.Value);
        }

        Gup.UnpinUserPages(pages);
        return true;
    }

    protected override void Move(int first, int end)
    {
        for (int i = first; i < end; i++)
        {
            ulong at = Spec.Offset + ChunkOffset(i);
            ulong length = Spec.ChunkBytes(i);
            Result<long> done = _read
                ? _disk!.PreadDirect(_mm!, _buffer + at, length, (long)at)
                : _disk!.PwriteDirect(_mm!, _buffer + at, length, (long)at);
            if (done.IsSuccess && (ulong)done.Value == length)
            {
                Delivered(i, done.Value);
            }
            else
            {
                Failed(i, done.IsSuccess ? done.Value : 0, done.IsSuccess ? $"short: {done.Value} of {length} bytes" : $"-{done.Error}");
            }
        }
    }

    protected override byte[] TargetNow()
    {
        if (!_read)
        {
            return ReadDrive(_disk!);
        }

        byte[] bytes = new byte[Spec.Size];
        for (ulong done = 0; done < Spec.Size;)
        {
            ulong at = Spec.Offset + done;
            ulong inPage = at % Page.PageSize;
            int length = (int)Math.Min(Spec.Size - done, Page.PageSize - inPage);
            ScenarioMemory.At(Machine, _pagePhys[(int)(at / Page.PageSize)] + inPage, length).CopyTo(bytes.AsSpan((int)done));
            done += (ulong)length;
        }

        return bytes;
    }

    public override void Dispose()
    {
        if (_mm is not null)
        {
            if (_buffer != 0)
            {
                _mm.Munmap(_buffer, _mapped);
            }

            _mm.Dispose();
        }
    }
}
