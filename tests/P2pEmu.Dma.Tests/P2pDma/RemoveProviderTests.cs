using System;
using System.Threading;
using System.Threading.Tasks;
using P2pEmu.Dma.Mm;
using P2pEmu.Dma.P2pDma;
using P2pEmu.Dma.Tests.Mm;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Host;
using P2pEmu.Emulator.Pci;
using Xunit;

namespace P2pEmu.Dma.Tests.P2pDma;

/// <summary>Provider teardown, struct-page flavour (spec §1.3 step 5, §1.5).</summary>
public sealed class RemoveProviderTests
{
    private const ulong MiB = ProviderMachine.MiB;
    private const ulong Page = MmMachine.Page;
    private const FollFlags P2pWrite = FollFlags.Write | FollFlags.PciP2pdma;
    private static readonly TimeSpan s_short = TimeSpan.FromMilliseconds(20);

    [Fact]
    public void State_WalksTheSpecStateMachine()
    {
        using var m = new ProviderMachine();
        Assert.Null(m.Host.GetP2pdma(m.A)); // NONE

        m.Host.PcimP2pdmaInit(m.A);
        PciP2pdma p2pdma = m.Host.GetP2pdma(m.A)!;
        Assert.Equal(P2pProviderState.Init, p2pdma.State);

        Assert.Equal(Errno.EINVAL, m.Host.PciP2pdmaAddResource(m.A, 0, 3 * MiB, 0)); // pool set up, range refused
        Assert.Equal(P2pProviderState.Pool, p2pdma.State);

        Assert.Equal(Errno.None, m.Host.PciP2pdmaAddResource(m.A, 0, 2 * MiB, 0));
        Assert.Equal(P2pProviderState.Resources, p2pdma.State);

        m.Host.PciP2pmemPublish(m.A, true);
        Assert.Equal(P2pProviderState.Published, p2pdma.State);

        P2pMemory held = m.Host.PciAllocP2pmem(m.A, Page)!;
        Assert.Equal(Errno.ETIMEDOUT, m.Host.RemoveProvider(m.A, s_short));
        Assert.Equal(P2pProviderState.Teardown, p2pdma.State);
        Assert.Same(p2pdma, m.Host.GetP2pdma(m.A)); // still attached while draining

        m.Host.PciFreeP2pmem(m.A, held);
        Assert.Equal(Errno.None, m.Host.RemoveProvider(m.A));
        Assert.Equal(P2pProviderState.Gone, p2pdma.State);
        Assert.Null(m.Host.GetP2pdma(m.A)); // NONE again
    }

    [Fact]
    public void RemoveProvider_NoState_IsEnodevAndLeavesTheDeviceAlone()
    {
        using var m = new ProviderMachine();

        Assert.Equal(Errno.ENODEV, m.Host.RemoveProvider(m.A));

        Assert.True(m.A.MemorySpaceEnabled);
    }

    [Fact]
    public void RemoveProvider_Twice_SecondIsEnodev()
    {
        using var m = new MmMachine();

        Assert.Equal(Errno.None, m.Host.RemoveProvider(m.A));
        Assert.Equal(Errno.ENODEV, m.Host.RemoveProvider(m.A));
    }

    [Fact]
    public void RemoveProvider_Idle_ReleasesEverythingAndDisablesTheDevice()
    {
        using var m = new MmMachine();
        PciP2pdma p2pdma = m.Host.GetP2pdma(m.A)!;
        P2pmemSysfs sysfs = m.Host.GetP2pmemSysfs(m.A)!;
        P2pPagemap pagemap = m.Pagemap;
        ulong rangeStart = pagemap.Range.Base;
        m.Host.PciP2pdmaDistanceMany(m.A, new[] { Device.ForPci(m.Provider.B) }, verbose: false);
        Assert.Equal(1, p2pdma.CachedMapTypes);

        Assert.Equal(Errno.None, m.Host.RemoveProvider(m.A));

        Assert.True(pagemap.IsDying);
        Assert.True(pagemap.IsReleased);
        Assert.False(m.Host.IsPciP2pdmaPage(rangeStart));
        Assert.Null(m.Host.FindPagemap(rangeStart));
        Assert.Equal(0, p2pdma.CachedMapTypes);
        Assert.Null(m.Host.GetP2pmemSysfs(m.A));
        Assert.True(sysfs.IsRemoved);
        Assert.True(sysfs.Allocate.IsRemoved);
        Assert.Equal(Errno.ENOENT, sysfs.ReadAttribute("size").Error);
        Assert.Null(m.Host.PciAllocP2pmem(m.A, Page));
        Assert.Equal(Errno.ENODEV, m.NewMm().Mmap(0, Page, Prot.Read | Prot.Write, MapFlags.Shared, sysfs.Allocate).Error);
        Assert.False(m.A.MemorySpaceEnabled);
        Assert.False(m.A.BusMasterEnabled);
        Assert.False(m.ABar0.Decoding);
        Assert.True(m.Provider.B.MemorySpaceEnabled);
    }

    [Fact]
    public void RemoveProvider_ZapsEveryMappingInEveryAddressSpace_TheVmasStayAndFault()
    {
        using var m = new MmMachine();
        MmStruct one = m.NewMm();
        MmStruct two = m.NewMm();
        P2pmemAllocateFile file = m.Allocate;
        ulong a = MmMachine.MapAllocate(one, file, 2 * Page);
        ulong b = MmMachine.MapAllocate(two, file, Page);
        ulong anon = MmMachine.MapAnon(one, Page, extra: MapFlags.Populate);

        Assert.Equal(Errno.None, m.Host.RemoveProvider(m.A));

        Assert.Null(one.FollowPte(a));
        Assert.Null(one.FollowPte(a + Page));
        Assert.Null(two.FollowPte(b));
        Assert.NotNull(one.FollowPte(anon)); // only the allocate mappings go
        Assert.NotNull(one.FindVma(a));
        Assert.Equal(Errno.EFAULT, one.ReadUser(a, new byte[1]));
        Assert.Equal(Errno.EFAULT, two.WriteUser(b, new byte[1]));
        Assert.Equal(Errno.EFAULT, one.PinUserPages(a, 1, P2pWrite, new Page[1]).Error);
        Assert.Equal(Errno.None, one.Munmap(a, 2 * Page));
        Assert.Equal(1, file.Mapping.MapCount); // two's VMA is still linked
    }

    [Fact]
    public void RemoveProvider_WhilePinned_TimesOutAndKeepsWaiting_ThenCompletesAfterUnpin()
    {
        using var m = new MmMachine();
        MmStruct mm = m.NewMm();
        ulong a = MmMachine.MapAllocate(mm, m.Allocate, 2 * Page);
        var pinned = new Page[1];
        Assert.Equal(1, mm.PinUserPages(a + Page, 1, P2pWrite, pinned).Value);
        P2pPagemap pagemap = m.Pagemap;

        Assert.Equal(Errno.ETIMEDOUT, m.Host.RemoveProvider(m.A, s_short));

        // Mappings are gone, the map is dying, the pinned page (and only it) still holds a reference.
        Assert.Equal(0, mm.PresentPteCount);
        Assert.True(pagemap.IsDying);
        Assert.False(pagemap.IsReleased);
        Assert.Equal(1, pagemap.References);
        Assert.False(pinned[0].IsFreed);
        Assert.Equal(MmMachine.PoolBytes - Page, m.Pool.AvailableBytes);
        Assert.Null(m.Host.PciAllocP2pmem(m.A, Page));
        Assert.Equal(Errno.ENODEV, m.NewMm().Mmap(0, Page, Prot.Read | Prot.Write, MapFlags.Shared, m.Allocate).Error);
        Assert.Equal(Errno.ENOENT, m.Host.GetP2pmemSysfs(m.A)!.ReadAttribute("allocate").Error);
        Assert.True(m.A.MemorySpaceEnabled); // not disabled before the drain
        Assert.Equal(Errno.ETIMEDOUT, m.Host.RemoveProvider(m.A, TimeSpan.Zero)); // a second call still waits

        Gup.UnpinUserPage(pinned[0]);

        Assert.True(pinned[0].IsFreed);
        Assert.Equal(0, pagemap.References);
        Assert.Equal(Errno.None, m.Host.RemoveProvider(m.A, s_short));
        Assert.True(pagemap.IsReleased);
        Assert.False(m.A.MemorySpaceEnabled);
    }

    [Fact]
    public async Task RemoveProvider_Blocking_ReturnsOnlyAfterTheLastUnpin()
    {
        using var m = new MmMachine();
        MmStruct mm = m.NewMm();
        ulong a = MmMachine.MapAllocate(mm, m.Allocate, Page);
        var pinned = new Page[1];
        mm.PinUserPages(a, 1, P2pWrite, pinned);
        Assert.Equal(Errno.ETIMEDOUT, m.Host.RemoveProvider(m.A, s_short));
        bool unpinned = false;

        Task<(Errno Result, bool UnpinnedFirst)> remove = Task.Run(() =>
        {
            Errno result = m.Host.RemoveProvider(m.A);
            return (result, Volatile.Read(ref unpinned));
        });
        Volatile.Write(ref unpinned, true);
        Gup.UnpinUserPage(pinned[0]);

        (Errno result, bool unpinnedFirst) = await remove;
        Assert.Equal(Errno.None, result);
        Assert.True(unpinnedFirst);
    }

    [Fact]
    public void RemoveProvider_WaitsForPciAllocP2pmemAllocationsToo()
    {
        using var m = new MmMachine();
        P2pMemory memory = m.Host.PciAllocP2pmem(m.A, 3 * Page)!;

        Assert.Equal(Errno.ETIMEDOUT, m.Host.RemoveProvider(m.A, s_short));
        m.Host.PciFreeP2pmem(m.A, memory);

        Assert.Equal(Errno.None, m.Host.RemoveProvider(m.A, s_short));
    }

    [Fact]
    public void RemoveProvider_TwoRanges_NewestDrainsFirst_OlderStaysLiveUntilItsTurn()
    {
        using var m = new MmMachine();
        Assert.Equal(Errno.None, m.Host.PciP2pdmaAddResource(m.A, 0, 2 * MiB, 2 * MiB));
        PciP2pdma p2pdma = m.Host.GetP2pdma(m.A)!;
        P2pPagemap older = p2pdma.Pagemaps[0];
        P2pPagemap newer = p2pdma.Pagemaps[1];
        P2pMemory fill = m.Host.PciAllocP2pmem(m.A, 2 * MiB)!; // the older range, first fit
        P2pMemory inNewer = m.Host.PciAllocP2pmem(m.A, Page)!;
        Assert.Same(older, fill.Pagemap);
        Assert.Same(newer, inNewer.Pagemap);
        m.Host.PciFreeP2pmem(m.A, fill);

        Assert.Equal(Errno.ETIMEDOUT, m.Host.RemoveProvider(m.A, s_short));

        Assert.True(newer.IsDying);
        Assert.False(older.IsDying);
        P2pMemory stillWorks = m.Host.PciAllocP2pmem(m.A, Page)!; // Linux: the older range is its own devres entry
        Assert.Same(older, stillWorks.Pagemap);
        m.Host.PciFreeP2pmem(m.A, inNewer);
        Assert.Equal(Errno.ETIMEDOUT, m.Host.RemoveProvider(m.A, s_short));
        Assert.True(newer.IsReleased);
        Assert.True(older.IsDying);
        Assert.Null(m.Host.PciAllocP2pmem(m.A, Page));
        m.Host.PciFreeP2pmem(m.A, stillWorks);
        Assert.Equal(Errno.None, m.Host.RemoveProvider(m.A, s_short));
        Assert.True(older.IsReleased);
    }

    [Fact]
    public void AddResource_DuringTeardown_Throws()
    {
        using var m = new MmMachine();
        P2pMemory held = m.Host.PciAllocP2pmem(m.A, Page)!;
        m.Host.RemoveProvider(m.A, s_short);

        Assert.Throws<InvalidOperationException>(() => m.Host.PciP2pdmaAddResource(m.A, 0, 2 * MiB, 4 * MiB));

        m.Host.PciFreeP2pmem(m.A, held);
    }

    [Fact]
    public void AfterRemoval_ADriverThatBindsAgainGetsTheSameRangeBack()
    {
        using var m = new MmMachine();
        ulong rangeStart = m.Pagemap.Range.Base;
        Assert.Equal(Errno.None, m.Host.RemoveProvider(m.A));
        m.A.Config.Write16(PciConfig.Command, PciConfig.CommandMemory | PciConfig.CommandMaster); // pci_enable_device

        Assert.Equal(Errno.None, m.Host.PciP2pdmaAddResource(m.A, 0, MmMachine.PoolBytes, 0));

        Assert.Equal(P2pProviderState.Resources, m.Host.GetP2pdma(m.A)!.State);
        Assert.Equal(rangeStart, m.Pagemap.Range.Base);
        MmStruct mm = m.NewMm();
        ulong a = MmMachine.MapAllocate(mm, m.Allocate, Page);
        Assert.Equal(rangeStart, mm.FollowPte(a)!.Phys.Value);
    }

    [Fact]
    public void RemoveProvider_PoolWithoutRanges_RemovesTheWholeGroupWithItsAllocateFile()
    {
        using var m = new ProviderMachine();
        Assert.Equal(Errno.EINVAL, m.Host.PciP2pdmaAddResource(m.A, 0, 3 * MiB, 0));
        P2pmemSysfs sysfs = m.Host.GetP2pmemSysfs(m.A)!;

        Assert.Equal(Errno.None, m.Host.RemoveProvider(m.A));

        Assert.True(sysfs.IsRemoved);
        Assert.True(sysfs.Allocate.IsRemoved);
        Assert.Equal(Errno.ENOENT, sysfs.ReadAttribute("allocate").Error);
    }

    [Fact]
    public void RemoveProvider_NakedProvider_DetachesAndDisables()
    {
        using var m = new ProviderMachine();
        m.Host.PcimP2pdmaInit(m.A);
        PciP2pdma p2pdma = m.Host.GetP2pdma(m.A)!;

        Assert.Equal(Errno.None, m.Host.RemoveProvider(m.A));

        Assert.Equal(P2pProviderState.Gone, p2pdma.State);
        Assert.Null(m.Host.GetP2pdma(m.A));
        Assert.False(m.A.MemorySpaceEnabled);
    }

    [Fact]
    public void AfterRemoval_ALateDmaToTheOldRange_IsAnUnsupportedRequestAndChangesNothing()
    {
        using var m = new MmMachine();
        MmStruct mm = m.NewMm();
        ulong a = MmMachine.MapAllocate(mm, m.Allocate, Page);
        ulong bus = mm.FollowPte(a)!.Phys.Value;
        mm.WriteUser(a, new byte[] { 1, 2, 3, 4 });
        Assert.Equal(Errno.None, mm.Munmap(a, Page));
        var peer = new DmaPort(m.Fabric, m.Provider.B);
        Assert.True(peer.Write(new DmaAddress(bus), new byte[] { 9 }).IsSuccess); // before: delivered peer to peer

        Assert.Equal(Errno.None, m.Host.RemoveProvider(m.A));
        DmaResult late = peer.Write(new DmaAddress(bus), new byte[] { 7, 7, 7, 7 });

        Assert.Equal(RouteStatus.UnsupportedRequest, late.Status);
        Assert.Equal(0UL, late.BytesTransferred);
        Assert.Equal(new byte[] { 9, 2, 3, 4 }, m.ABar0.Memory!.GetSpan(0, 4).ToArray());
        Assert.False(m.Fabric.TryHostRead(bus, new byte[1])); // nor can the CPU reach it
    }

    [Fact]
    public void RemoveProvider_NegativeTimeout_Throws()
    {
        using var m = new MmMachine();

        Assert.Throws<ArgumentOutOfRangeException>(() => m.Host.RemoveProvider(m.A, TimeSpan.FromSeconds(-2)));
        Assert.Throws<ArgumentNullException>(() => m.Host.RemoveProvider(null!));
    }
}
