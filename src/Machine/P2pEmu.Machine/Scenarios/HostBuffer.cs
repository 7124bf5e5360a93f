using System;
using System.Collections.Generic;
using System.Linq;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Host;

namespace P2pEmu.Machine.Scenarios;

/// <summary>Physically contiguous host pages from the kernel's page allocator, freed on dispose.</summary>
internal sealed class HostBuffer : IDisposable
{
    private readonly Machine _machine;
    private readonly ulong _busAddress;
    private readonly int _order;
    private readonly ulong _length;

    private HostBuffer(Machine machine, ulong busAddress, int order, ulong length)
    {
        _machine = machine;
        _busAddress = busAddress;
        _order = order;
        _length = length;
        Pages = Enumerable.Range(0, (int)((length + HostPageAllocator.PageSize - 1) / HostPageAllocator.PageSize))
            .Select(i => new PhysAddress(busAddress + ((ulong)i * HostPageAllocator.PageSize)))
            .ToList();
    }

    public IReadOnlyList<PhysAddress> Pages { get; }

    /// <summary>The first page's address (the buffer is physically contiguous).</summary>
    public ulong Address => _busAddress;

    public ulong Length => _length;

    public Span<byte> Writable => Span();

    public static HostBuffer? Allocate(Machine machine, ulong length)
    {
        int order = HostPageAllocator.OrderForBytes(length);
        Result<ulong> pages = machine.Pages.AllocPages(order);
        return pages.IsSuccess ? new HostBuffer(machine, pages.Value, order, length) : null;
    }

    public void Fill(ReadOnlySpan<byte> data) => data.CopyTo(Span());

    public ReadOnlySpan<byte> Bytes => Span();

    public void Dispose() => _machine.Pages.FreePages(_busAddress, _order);

    private Span<byte> Span()
    {
        if (!_machine.Fabric.TryFindRam(_busAddress, out ulong offset, out _))
        {
            throw new InvalidOperationException($"Page 0x{_busAddress:x} from the page allocator is not host RAM.");
        }

        return _machine.Fabric.Ram.Region.GetSpan(offset, (int)_length);
    }
}
