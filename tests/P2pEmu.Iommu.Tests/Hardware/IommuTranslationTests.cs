using System;
using System.Linq;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Host;
using P2pEmu.Emulator.Pci;
using P2pEmu.Emulator.Topology;
using P2pEmu.Iommu.Hardware;
using P2pEmu.Testing;
using Xunit;

namespace P2pEmu.Iommu.Tests.Hardware;

/// <summary>Device DMA through the fabric with the IOMMU translating at the root complex.</summary>
public sealed class IommuTranslationTests
{
    private const ulong KiB4 = 4096;
    private const ulong MiB2 = 2UL << 20;
    private const ulong GiB1 = 1UL << 30;

    /// <summary>Bytes of every region the snapshots fill (covers every RAM target these tests use).</summary>
    private const int SnapshotBytes = 4 << 20;

    [Theory]
    [InlineData(1, 0x7000_3000UL, 0x5000UL, KiB4, 0x123UL)]
    [InlineData(2, 0x4020_0000UL, 0x20_0000UL, MiB2, 0x1_2345UL)]
    [InlineData(3, 0x40_4000_0000UL, 0UL, GiB1, 0x2F_0100UL)]
    public void Write_ThroughEachPageSize_LandsAtMappedRamAndNowhereElse(int level, ulong iova, ulong target, ulong pageBytes, ulong offset)
    {
        using var m = new IommuMachine(IommuMachine.Switched(IommuMode.Translate));
        IommuDomain domain = m.DomainFor("a");
        Assert.Equal(Errno.None, domain.Map(new Iova(iova), new BusAddress(target), pageBytes, IommuProt.ReadWrite));
        FabricSnapshot before = FabricSnapshot.FillAndCapture(m.Fabric, SnapshotBytes, seed: level);
        byte[] data = IommuMachine.RandomBytes(3000, level);

        DmaResult result = m.Port("a").Write(new DmaAddress(iova + offset), data);

        Assert.True(result.IsSuccess, result.ToString());
        Assert.Equal(data, m.Ram(target + offset, data.Length));
        Assert.Empty(before.ChangedOutside(m.Fabric.Ram.Region, target + offset, (ulong)data.Length));
        Assert.True(new PageTableWalker(m.Fabric).TryWalk(domain.RootTable, new Iova(iova), IommuProt.ReadWrite, out PageWalkResult walk));
        Assert.Equal(level, walk.Level);
        Assert.Equal(1 + PageTableGeometry.Levels - level, domain.PageTableCount);
        Assert.Equal(0, m.Unit.Faults.TotalCount);
    }

    [Fact]
    public void Read_ThroughIommu_ReturnsTheMappedBytes()
    {
        using var m = new IommuMachine(IommuMachine.Switched(IommuMode.Translate));
        IommuDomain domain = m.DomainFor("a");
        Assert.Equal(Errno.None, domain.Map(new Iova(0x10_0000), new BusAddress(0x9000), 2 * KiB4, IommuProt.Read));
        byte[] data = IommuMachine.RandomBytes(8192, 1);
        data.AsSpan().CopyTo(m.Fabric.Ram.Region.GetSpan(0x9000, data.Length));
        byte[] back = new byte[data.Length];

        DmaResult result = m.Port("a").Read(new DmaAddress(0x10_0000), back);

        Assert.True(result.IsSuccess, result.ToString());
        Assert.Equal(data, back);
    }

    [Fact]
    public void Write_IovaMappedToPeerBar_GoesUpTranslatedAndLandsInTheBar()
    {
        using var m = new IommuMachine(IommuMachine.Switched(IommuMode.Translate));
        IommuDomain domain = m.DomainFor("a");
        PciBar b = m.Bar("b");
        const ulong Base = 0x2_0000_0000;
        Assert.Equal(Errno.None, domain.Map(new Iova(Base), new BusAddress(b.Address + 0x4000), 4 * KiB4, IommuProt.Write));
        FabricSnapshot before = FabricSnapshot.FillAndCapture(m.Fabric, SnapshotBytes, seed: 2);
        byte[] data = IommuMachine.RandomBytes(0x3800, 3);

        DmaResult result = m.Port("a").Write(new DmaAddress(Base + 0x400), data);

        Assert.True(result.IsSuccess, result.ToString());
        RouteResult route = m.Fabric.Route(m["a"], new DmaAddress(Base), AccessKind.Write);
        Assert.Equal(RoutePath.RootComplexPeer, route.Path);
        Assert.Same(b, route.TargetBar);
        Assert.Equal(data, b.Memory!.GetSpan(0x4400, data.Length).ToArray());
        Assert.Empty(before.ChangedOutside(b.Memory, 0x4400, (ulong)data.Length));
    }

    [Fact]
    public void Write_ToReadOnlyMapping_FaultsWithPermissionDenied_AndWritesNothing()
    {
        using var m = new IommuMachine(IommuMachine.Switched(IommuMode.Translate));
        IommuDomain domain = m.DomainFor("a");
        Assert.Equal(Errno.None, domain.Map(new Iova(0x10_0000), new BusAddress(0x8000), KiB4, IommuProt.Read));
        FabricSnapshot before = FabricSnapshot.FillAndCapture(m.Fabric, SnapshotBytes, seed: 4);

        DmaResult write = m.Port("a").Write(new DmaAddress(0x10_0010), IommuMachine.RandomBytes(64, 5));

        Assert.Equal(RouteStatus.IommuFault, write.Status);
        Assert.Equal(0UL, write.BytesTransferred);
        Assert.Empty(before.ChangedOutside(null, 0, 0));
        Assert.True(m.Unit.Faults.TryGetLast(out IommuFault fault));
        Assert.Equal(IommuFaultReason.PermissionDenied, fault.Reason);
        Assert.Equal(1, fault.Level);
        Assert.Equal(AccessKind.Write, fault.Access);
        Assert.Equal(m["a"].Bdf, fault.Requester);
        Assert.Equal(new DmaAddress(0x10_0010), fault.Address);
        Assert.Equal(domain.Id, fault.DomainId);
        Assert.True(m.Port("a").Read(new DmaAddress(0x10_0010), new byte[64]).IsSuccess);
    }

    [Fact]
    public void Read_FromWriteOnlyMapping_FaultsWithPermissionDenied()
    {
        using var m = new IommuMachine(IommuMachine.Switched(IommuMode.Translate));
        IommuDomain domain = m.DomainFor("a");
        Assert.Equal(Errno.None, domain.Map(new Iova(0x10_0000), new BusAddress(0x8000), KiB4, IommuProt.Write));

        DmaResult read = m.Port("a").Read(new DmaAddress(0x10_0000), new byte[16]);

        Assert.Equal(RouteStatus.IommuFault, read.Status);
        Assert.True(m.Unit.Faults.TryGetLast(out IommuFault fault));
        Assert.Equal(IommuFaultReason.PermissionDenied, fault.Reason);
        Assert.Equal(AccessKind.Read, fault.Access);
    }

    [Theory]
    [InlineData(0x1000UL, 1)]
    [InlineData(0x20_0000UL, 2)]
    [InlineData(0x4000_0000UL, 3)]
    [InlineData(0x80_0000_0000UL, 4)]
    public void Write_UnmappedIova_FaultsNotPresentAtTheLevelWhereTheWalkStopped(ulong distance, int level)
    {
        using var m = new IommuMachine(IommuMachine.Switched(IommuMode.Translate));
        IommuDomain domain = m.DomainFor("a");
        const ulong Mapped = 0x100_0000_0000;
        Assert.Equal(Errno.None, domain.Map(new Iova(Mapped), new BusAddress(0x8000), KiB4, IommuProt.ReadWrite));
        FabricSnapshot before = FabricSnapshot.FillAndCapture(m.Fabric, SnapshotBytes, seed: 6);

        DmaResult write = m.Port("a").Write(new DmaAddress(Mapped + distance), IommuMachine.RandomBytes(32, 7));

        Assert.Equal(RouteStatus.IommuFault, write.Status);
        Assert.Equal(RouteReason.IommuFault, write.Failure.Reason);
        Assert.Empty(before.ChangedOutside(null, 0, 0));
        IommuFault fault = Assert.Single(m.Unit.Faults.Snapshot());
        Assert.Equal(IommuFaultReason.NotPresent, fault.Reason);
        Assert.Equal(level, fault.Level);
        Assert.Equal(1, fault.Sequence);
    }

    [Fact]
    public void Write_FromDeviceWithoutDomain_FaultsNoDomain()
    {
        using var m = new IommuMachine(IommuMachine.Switched(IommuMode.Translate));
        FabricSnapshot before = FabricSnapshot.FillAndCapture(m.Fabric, SnapshotBytes, seed: 8);

        DmaResult write = m.Port("c").Write(new DmaAddress(0x1000), new byte[8]);

        Assert.Equal(RouteStatus.IommuFault, write.Status);
        Assert.Empty(before.ChangedOutside(null, 0, 0));
        Assert.True(m.Unit.Faults.TryGetLast(out IommuFault fault));
        Assert.Equal(IommuFaultReason.NoDomain, fault.Reason);
        Assert.Equal(0, fault.Level);
        Assert.Equal(0, fault.DomainId);
        Assert.Equal(m["c"].Bdf, fault.Requester);
    }

    [Fact]
    public void Write_AboveThe48BitAperture_FaultsAddressTooLarge()
    {
        using var m = new IommuMachine(IommuMachine.Switched(IommuMode.Translate));
        m.DomainFor("a");

        DmaResult write = m.Port("a").Write(new DmaAddress(1UL << 48), new byte[8]);

        Assert.Equal(RouteStatus.IommuFault, write.Status);
        Assert.True(m.Unit.Faults.TryGetLast(out IommuFault fault));
        Assert.Equal(IommuFaultReason.AddressTooLarge, fault.Reason);
    }

    [Fact]
    public void Write_RunningOffTheEndOfTheMapping_StopsAtTheFirstUnmappedPage()
    {
        using var m = new IommuMachine(IommuMachine.Switched(IommuMode.Translate));
        IommuDomain domain = m.DomainFor("a");
        Assert.Equal(Errno.None, domain.Map(new Iova(0x10_0000), new BusAddress(0x2_0000), 2 * KiB4, IommuProt.ReadWrite));
        FabricSnapshot before = FabricSnapshot.FillAndCapture(m.Fabric, SnapshotBytes, seed: 9);
        byte[] data = IommuMachine.RandomBytes(3 * 4096, 10);

        DmaResult write = m.Port("a").Write(new DmaAddress(0x10_0000), data);

        Assert.Equal(RouteStatus.IommuFault, write.Status);
        Assert.Equal(2 * KiB4, write.BytesTransferred);
        Assert.Equal(data.Take(8192).ToArray(), m.Ram(0x2_0000, 8192));
        Assert.Empty(before.ChangedOutside(m.Fabric.Ram.Region, 0x2_0000, 2 * KiB4));
    }

    /// <summary>The stale-entry proof: once unmap (and its invalidation) returns, the cached translation is gone.</summary>
    [Fact]
    public void Write_AfterUnmap_NeverUsesTheStaleIotlbEntry()
    {
        using var m = new IommuMachine(IommuMachine.Switched(IommuMode.Translate));
        IommuDomain domain = m.DomainFor("a");
        DmaPort port = m.Port("a");
        var iova = new Iova(0x7777_0000);
        const ulong OldPage = 0x3_0000;
        const ulong NewPage = 0x5_0000;
        Assert.Equal(Errno.None, domain.Map(iova, new BusAddress(OldPage), KiB4, IommuProt.ReadWrite));
        Assert.True(port.Write(new DmaAddress(iova.Value), IommuMachine.RandomBytes(64, 11)).IsSuccess);
        long hits = m.Unit.IoTlb.Hits;
        Assert.True(port.Write(new DmaAddress(iova.Value + 64), IommuMachine.RandomBytes(64, 12)).IsSuccess);
        Assert.Equal(hits + 1, m.Unit.IoTlb.Hits);
        long invalidations = m.Unit.IoTlb.Invalidations;

        Assert.Equal(KiB4, domain.Unmap(iova, KiB4));

        Assert.Equal(invalidations + 1, m.Unit.IoTlb.Invalidations);
        Assert.Equal(0, m.Unit.IoTlb.ValidEntryCount);
        FabricSnapshot before = FabricSnapshot.FillAndCapture(m.Fabric, SnapshotBytes, seed: 13);
        DmaResult stale = port.Write(new DmaAddress(iova.Value), IommuMachine.RandomBytes(64, 14));
        Assert.Equal(RouteStatus.IommuFault, stale.Status);
        Assert.Empty(before.ChangedOutside(null, 0, 0));

        Assert.Equal(Errno.None, domain.Map(iova, new BusAddress(NewPage), KiB4, IommuProt.ReadWrite));
        byte[] data = IommuMachine.RandomBytes(64, 15);
        Assert.True(port.Write(new DmaAddress(iova.Value), data).IsSuccess);
        Assert.Equal(data, m.Ram(NewPage, 64));
        Assert.Empty(before.ChangedOutside(m.Fabric.Ram.Region, NewPage, 64));
    }

    [Fact]
    public void Translate_ContiguousSmallPages_AreCoalescedIntoOneRunOfTheIotlbBlock()
    {
        using var m = new IommuMachine(IommuMachine.Switched(IommuMode.Translate));
        IommuDomain domain = m.DomainFor("a");
        const ulong Base = 0x60_0000;
        Assert.Equal(Errno.None, domain.Map(new Iova(Base), new BusAddress(0x10_0000), 2 * IoTlb.BlockBytes, IommuProt.ReadWrite));

        RouteResult first = m.Fabric.Route(m["a"], new DmaAddress(Base + 0x3010), AccessKind.Write);
        RouteResult again = m.Fabric.Route(m["a"], new DmaAddress(Base + 0x3800), AccessKind.Read);
        RouteResult later = m.Fabric.Route(m["a"], new DmaAddress(Base + 0x7000), AccessKind.Read);
        RouteResult next = m.Fabric.Route(m["a"], new DmaAddress(Base + IoTlb.BlockBytes), AccessKind.Read);

        Assert.Equal(IoTlb.BlockBytes - 0x3010, first.ContiguousBytes);
        Assert.Equal(new BusAddress(0x10_3010), first.TargetAddress);
        Assert.Equal(IoTlb.BlockBytes - 0x3800, again.ContiguousBytes);
        Assert.Equal(IoTlb.BlockBytes - 0x7000, later.ContiguousBytes);
        Assert.Equal(IoTlb.BlockBytes, next.ContiguousBytes);
        Assert.Equal(3, m.Unit.IoTlb.Misses);
        Assert.Equal(1, m.Unit.IoTlb.Hits);
    }

    [Fact]
    public void Translate_ScatteredOrMixedPermissionPages_StopTheRun()
    {
        using var m = new IommuMachine(IommuMachine.Switched(IommuMode.Translate));
        IommuDomain domain = m.DomainFor("a");
        const ulong Base = 0x60_0000;
        for (ulong page = 0; page < 16; page++)
        {
            // Pages 0-3 contiguous read-write, 4-5 contiguous but read-only, then reversed order.
            ulong target = page < 6 ? 0x10_0000 + (page * KiB4) : 0x20_0000 - (page * KiB4);
            IommuProt prot = page is 4 or 5 ? IommuProt.Read : IommuProt.ReadWrite;
            Assert.Equal(Errno.None, domain.Map(new Iova(Base + (page * KiB4)), new BusAddress(target), KiB4, prot));
        }

        Assert.Equal(4 * KiB4, m.Fabric.Route(m["a"], new DmaAddress(Base), AccessKind.Read).ContiguousBytes);
        Assert.Equal(2 * KiB4, m.Fabric.Route(m["a"], new DmaAddress(Base + (4 * KiB4)), AccessKind.Read).ContiguousBytes);
        Assert.Equal(KiB4 - 8, m.Fabric.Route(m["a"], new DmaAddress(Base + (9 * KiB4) + 8), AccessKind.Write).ContiguousBytes);
    }

    [Fact]
    public void Write_LargePageRun_IsCutAtTheIotlbBlock()
    {
        using var m = new IommuMachine(IommuMachine.Switched(IommuMode.Translate));
        IommuDomain domain = m.DomainFor("a");
        Assert.Equal(Errno.None, domain.Map(new Iova(MiB2), new BusAddress(MiB2), MiB2, IommuProt.ReadWrite));
        byte[] data = IommuMachine.RandomBytes(300_000, 16);

        DmaResult write = m.Port("a").Write(new DmaAddress(MiB2 + 0x1234), data);

        Assert.True(write.IsSuccess, write.ToString());
        Assert.Equal(data, m.Ram(MiB2 + 0x1234, data.Length));
        Assert.Equal(IoTlb.BlockBytes - 0x1234, m.Fabric.Route(m["a"], new DmaAddress(MiB2 + 0x1234), AccessKind.Write).ContiguousBytes);
    }

    /// <summary>Isolation: a device cannot reach what is mapped only in another domain, not by its IOVA, not by its bus address.</summary>
    [Fact]
    public void Write_GuessingAnotherDomainsAddresses_AlwaysFaults_AndNeverTouchesItsMemory()
    {
        using var m = new IommuMachine(IommuMachine.Switched(IommuMode.Translate));
        IommuDomain domainA = m.DomainFor("a");
        IommuDomain domainB = m.DomainFor("b");
        const ulong PageA = 0x1_0000;
        const ulong PageB = 0x2_0000;
        Assert.Equal(Errno.None, domainA.Map(new Iova(0x100_0000), new BusAddress(PageA), KiB4, IommuProt.ReadWrite));
        Assert.Equal(Errno.None, domainB.Map(new Iova(0x200_0000), new BusAddress(PageB), KiB4, IommuProt.ReadWrite));
        Assert.Equal(Errno.None, domainB.Map(new Iova(0x300_0000), new BusAddress(m.Bar("b").Address), KiB4, IommuProt.ReadWrite));
        Assert.True(m.Port("b").Write(new DmaAddress(0x200_0000), new byte[8]).IsSuccess);
        FabricSnapshot before = FabricSnapshot.FillAndCapture(m.Fabric, SnapshotBytes, seed: 17);
        DmaPort a = m.Port("a");
        byte[] junk = IommuMachine.RandomBytes(8, 18);

        int attempts = 0;
        foreach (ulong guess in new[] { 0x200_0000UL, 0x300_0000UL, PageB, m.Bar("b").Address, m.Bar("c").Address })
        {
            Assert.Equal(RouteStatus.IommuFault, a.Write(new DmaAddress(guess), junk).Status);
            attempts++;
        }

        for (ulong guess = 0; guess < 0x400_0000; guess += 0x1_0000)
        {
            if (guess != 0x100_0000)
            {
                Assert.Equal(RouteStatus.IommuFault, a.Write(new DmaAddress(guess), junk).Status);
                attempts++;
            }
        }

        Assert.Empty(before.ChangedOutside(null, 0, 0));
        Assert.Equal(attempts, m.Unit.Faults.TotalCount);
        Assert.All(m.Unit.Faults.Snapshot(), f => Assert.Equal(domainA.Id, f.DomainId));
        Assert.True(a.Write(new DmaAddress(0x100_0000), junk).IsSuccess);
        Assert.Equal(junk, m.Ram(PageA, junk.Length));
    }

    [Fact]
    public void Passthrough_UnattachedDeviceIsIdentityMapped_AndNothingIsRecorded()
    {
        using var m = new IommuMachine(IommuMachine.Switched(IommuMode.Passthrough));
        byte[] data = IommuMachine.RandomBytes(256, 19);

        DmaResult write = m.Port("a").Write(new DmaAddress(0x4_0000), data);

        Assert.True(write.IsSuccess, write.ToString());
        Assert.True(m.Unit.IsInstalled);
        Assert.Same(m.Unit, m.Fabric.HostBridges[0].Translator);
        Assert.Equal(data, m.Ram(0x4_0000, data.Length));
        Assert.Equal(0, m.Unit.IoTlb.Hits + m.Unit.IoTlb.Misses);
        Assert.Equal(0, m.Unit.Faults.TotalCount);
    }

    [Fact]
    public void Passthrough_DeviceAttachedToADomain_IsTranslated()
    {
        using var m = new IommuMachine(IommuMachine.Switched(IommuMode.Passthrough));
        IommuDomain domain = m.DomainFor("a");
        Assert.Equal(Errno.None, domain.Map(new Iova(0x10_0000), new BusAddress(0x6000), KiB4, IommuProt.ReadWrite));
        byte[] data = IommuMachine.RandomBytes(32, 20);

        Assert.True(m.Port("a").Write(new DmaAddress(0x10_0000), data).IsSuccess);
        Assert.Equal(data, m.Ram(0x6000, 32));
        Assert.Equal(RouteStatus.IommuFault, m.Port("a").Write(new DmaAddress(0x4_0000), data).Status);
        Assert.True(m.Port("b").Write(new DmaAddress(0x4_0000), data).IsSuccess);
    }

    [Fact]
    public void Install_OnHostBridgeWithIommuOff_LeavesIdentityTranslator()
    {
        using var m = new IommuMachine(IommuMachine.Switched(IommuMode.Off));

        Assert.False(m.Unit.IsInstalled);
        Assert.Same(IdentityTranslator.Instance, m.Fabric.HostBridges[0].Translator);
        Assert.True(m.Port("a").Write(new DmaAddress(0x4_0000), new byte[8]).IsSuccess);
    }

    [Fact]
    public void Install_Twice_OrOnForeignHostBridge_Throws()
    {
        using var m = new IommuMachine(IommuMachine.Switched(IommuMode.Translate));
        using PcieFabric other = FabricBuilder.Build(IommuMachine.Switched(IommuMode.Translate));

        Assert.Throws<System.InvalidOperationException>(() => IommuUnit.Install(m.Fabric, m.Fabric.HostBridges[0], m.Pages));
        Assert.Throws<System.ArgumentException>(() => IommuUnit.Install(m.Fabric, other.HostBridges[0], m.Pages));
    }

    [Fact]
    public void InstallAll_InstallsOnEveryHostBridgeExceptOff()
    {
        TopologyDescription topology = Topo.Machine(
            Topo.HostBridge("hb0", 0, 0, false, Topo.RootPort("rp0", Topo.Endpoint("x"))) with { Iommu = IommuMode.Translate },
            Topo.HostBridge("hb1", 1, 0, false, Topo.RootPort("rp1", Topo.Endpoint("y"))) with { Iommu = IommuMode.Off },
            Topo.HostBridge("hb2", 2, 0, false, Topo.RootPort("rp2", Topo.Endpoint("z"))) with { Iommu = IommuMode.Passthrough });
        using PcieFabric fabric = FabricBuilder.Build(topology);

        var units = IommuUnit.InstallAll(fabric, new HostPageAllocator(fabric));

        Assert.Equal(new[] { "hb0", "hb2" }, units.Select(u => u.HostBridge.Name));
        Assert.Same(units[0], fabric.HostBridges[0].Translator);
        Assert.Same(IdentityTranslator.Instance, fabric.HostBridges[1].Translator);
        Assert.Same(units[1], fabric.HostBridges[2].Translator);
    }

    [Fact]
    public void Detach_LastDeviceOfADomain_DropsItsIotlbEntries_AndTheDeviceFaults()
    {
        using var m = new IommuMachine(IommuMachine.Switched(IommuMode.Translate));
        IommuDomain domain = m.DomainFor("a");
        m.Unit.Attach(m["b"], domain);
        Assert.Equal(Errno.None, domain.Map(new Iova(0x10_0000), new BusAddress(0x6000), KiB4, IommuProt.ReadWrite));
        Assert.True(m.Port("a").Write(new DmaAddress(0x10_0000), new byte[8]).IsSuccess);

        m.Unit.Detach(m["a"]);
        Assert.Equal(1, m.Unit.IoTlb.ValidEntryCount);
        Assert.True(m.Port("b").Write(new DmaAddress(0x10_0000), new byte[8]).IsSuccess);
        Assert.Equal(RouteStatus.IommuFault, m.Port("a").Write(new DmaAddress(0x10_0000), new byte[8]).Status);
        m.Unit.Detach(m["b"]);

        Assert.Equal(0, m.Unit.IoTlb.ValidEntryCount);
        Assert.Null(m.Unit.GetDomain(m["b"]));
        Assert.False(domain.IsAttached);
    }

    [Fact]
    public void Attach_ReplacingTheDomain_SwitchesTranslationsAtOnce()
    {
        using var m = new IommuMachine(IommuMachine.Switched(IommuMode.Translate));
        IommuDomain first = m.DomainFor("a");
        IommuDomain second = m.NewDomain();
        Assert.Equal(Errno.None, first.Map(new Iova(0x10_0000), new BusAddress(0x6000), KiB4, IommuProt.ReadWrite));
        Assert.Equal(Errno.None, second.Map(new Iova(0x10_0000), new BusAddress(0x7000), KiB4, IommuProt.ReadWrite));
        Assert.True(m.Port("a").Write(new DmaAddress(0x10_0000), new byte[] { 1 }).IsSuccess);

        m.Unit.Attach(m["a"], second);
        byte[] data = { 2, 3, 4 };
        Assert.True(m.Port("a").Write(new DmaAddress(0x10_0000), data).IsSuccess);

        Assert.Equal(data, m.Ram(0x7000, 3));
        Assert.Equal(1, m.Ram(0x6000, 1)[0]);
        Assert.Same(second, m.Unit.GetDomain(m["a"]));
        Assert.False(first.IsAttached);
    }

    [Fact]
    public void Attach_DomainOfAnotherFabric_OrDeviceOfAnotherHostBridge_Throws()
    {
        using var m = new IommuMachine(IommuMachine.Switched(IommuMode.Translate));
        using var other = new IommuMachine(IommuMachine.Switched(IommuMode.Translate));

        Assert.Throws<System.ArgumentException>(() => m.Unit.Attach(m["a"], other.NewDomain()));
        Assert.Throws<System.ArgumentException>(() => m.Unit.Attach(other["a"], m.NewDomain()));
        Assert.Null(m.Unit.GetDomain(m["a"]));
    }

    [Fact]
    public void AttachGroup_AttachesEveryMemberBehindTheHostBridge()
    {
        using var m = new IommuMachine(IommuMachine.Switched(IommuMode.Translate, AcsFlags.None));
        IommuGroups groups = IommuGroups.Compute(m.Fabric);
        IommuGroup group = groups.GroupOf(m["a"]);
        Assert.True(groups.AreInSameGroup(m["a"], m["b"]));
        IommuDomain domain = m.NewDomain();

        m.Unit.AttachGroup(group, domain);

        Assert.All(group.Members, member => Assert.Same(domain, m.Unit.GetDomain(member)));
        Assert.Null(m.Unit.GetDomain(m["c"]));
    }
}
