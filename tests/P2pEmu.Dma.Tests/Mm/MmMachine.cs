using System;
using System.Collections.Generic;
using P2pEmu.Dma.Mm;
using P2pEmu.Dma.P2pDma;
using P2pEmu.Dma.Tests.P2pDma;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Host;
using P2pEmu.Emulator.Pci;

namespace P2pEmu.Dma.Tests.Mm;

/// <summary>
/// <see cref="ProviderMachine"/> with the kernel's page allocator and user address spaces; optionally "a" set up as
/// a provider of <see cref="PoolBytes"/> at the start of its BAR0.
/// </summary>
internal sealed class MmMachine : IDisposable
{
    public const ulong Page = P2pEmu.Dma.Mm.Page.PageSize;
    public const ulong PoolBytes = 2 * ProviderMachine.MiB;

    private readonly List<MmStruct> _mms = new();

    public MmMachine(bool provider = true)
    {
        Provider = new ProviderMachine();
        Pages = new HostPageAllocator(Provider.Fabric);
        if (provider && Provider.Host.PciP2pdmaAddResource(Provider.A, 0, PoolBytes, 0) != Errno.None)
        {
            throw new InvalidOperationException("provider setup failed");
        }
    }

    public ProviderMachine Provider { get; }

    public PcieFabric Fabric => Provider.Fabric;

    public P2pDmaHost Host => Provider.Host;

    public HostPageAllocator Pages { get; }

    public PciEndpoint A => Provider.A;

    public PciBar ABar0 => ProviderMachine.Bar(A, 0);

    public P2pMemPool Pool => Host.GetP2pdma(A)!.Pool!;

    public P2pPagemap Pagemap => Host.GetP2pdma(A)!.Pagemaps[0];

    public P2pmemAllocateFile Allocate => Host.GetP2pmemSysfs(A)!.Allocate;

    public MmStruct NewMm(string comm = "test")
    {
        var mm = new MmStruct(Fabric, Pages, comm);
        _mms.Add(mm);
        return mm;
    }

    /// <summary>mmap of <c>allocate</c>, MAP_SHARED, read-write, offset 0.</summary>
    public static ulong MapAllocate(MmStruct mm, P2pmemAllocateFile file, ulong bytes) =>
        mm.Mmap(0, bytes, Prot.Read | Prot.Write, MapFlags.Shared, file).Value;

    /// <summary>An anonymous private read-write mapping.</summary>
    public static ulong MapAnon(MmStruct mm, ulong bytes, ulong address = 0, MapFlags extra = MapFlags.None) =>
        mm.Mmap(address, bytes, Prot.Read | Prot.Write, MapFlags.Private | MapFlags.Anonymous | extra).Value;

    public void Dispose()
    {
        foreach (MmStruct mm in _mms)
        {
            mm.Dispose();
        }

        Provider.Dispose();
    }
}
