using System;
using System.Linq;
using System.Threading;
using P2pEmu.Dma.DmaBuf;
using P2pEmu.Drivers.Vfio;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Host;
using P2pEmu.Emulator.Pci;
using P2pEmu.Emulator.Topology;
using P2pEmu.Testing;
using Xunit;
using DmaBuffer = P2pEmu.Dma.DmaBuf.DmaBuf;

namespace P2pEmu.Integration.Tests.DmaBuf;

/// <summary>
/// Revoke and un-revoke (spec §1.6, §5.7) and the guarantee: when a revoke returns, no importer holds a mapping, no
/// CPU mapping has an entry, and a late DMA from a stale address is an Unsupported Request or an IOMMU fault that
/// changes no byte.
/// </summary>
public sealed class VfioRevokeTests
{
    private const ulong Page = VfioMachine.Page;

    private static byte[] Pattern(int length, int seed)
    {
        byte[] data = new byte[length];
        new Random(seed).NextBytes(data);
        return data;
    }

    /// <summary>Replays the importer's stale segments and checks the DMA failed as expected and changed nothing.</summary>
    private static void AssertLateDmaChangesNothing(VfioMachine m, TestImporter importer, RouteStatus expected)
    {
        long before = m.Machine.Fabric.FailedTransactions(expected);
        FabricSnapshot snapshot = FabricSnapshot.FillAndCapture(m.Machine.Fabric, 64 * 1024, 99);

        DmaResult late = importer.Port.Write(importer.LastSegments, new byte[importer.LastSegments.Sum(s => (long)s.Length)]);

        Assert.Equal(expected, late.Status);
        Assert.Equal(0UL, late.BytesTransferred);
        Assert.Empty(snapshot.ChangedOutside(null, 0, 0));
        Assert.Equal(before + 1, m.Machine.Fabric.FailedTransactions(expected));
    }

    [Theory]
    [InlineData(KernelProfile.Linux619, "near", RouteStatus.UnsupportedRequest)]
    [InlineData(KernelProfile.Linux619, "thru", RouteStatus.IommuFault)]
    [InlineData(KernelProfile.Revoke2026, "near", RouteStatus.UnsupportedRequest)]
    [InlineData(KernelProfile.Revoke2026, "thru", RouteStatus.IommuFault)]
    public void MemoryOff_RevokesTheBuffer_TheImporterHasUnmapped_AndALateDmaChangesNothing(KernelProfile kernel, string device, RouteStatus late)
    {
        using var m = new VfioMachine(kernel);
        DmaBuffer dmabuf = m.Get(m.Export((0, 0x10000)).Value);
        var priv = (VfioPciDmaBuf)dmabuf.Priv;
        var importer = new TestImporter(m.Host, dmabuf, m.Dev(device), m.Machine.Fabric);
        byte[] data = Pattern(0x10000, 1);
        importer.Map();
        Assert.True(importer.Port.Write(importer.LastSegments, data).IsSuccess);
        long faults = m.Machine.Iommus[0].Faults.TotalCount;

        m.MemoryOff();

        Assert.Equal(1, importer.Notifies);
        Assert.Null(importer.Table);
        Assert.Equal(0, dmabuf.MappedTables);
        Assert.True(priv.Revoked);
        Assert.False(m.Bar2.Decoding);
        Assert.Empty(m.Host.Violations);
        Assert.Equal(data, m.Bar2.Memory!.GetSpan(0, 0x10000).ToArray());
        AssertLateDmaChangesNothing(m, importer, late);
        Assert.Equal(late == RouteStatus.IommuFault ? faults + 1 : faults, m.Machine.Iommus[0].Faults.TotalCount);
    }

    [Theory]
    [InlineData(KernelProfile.Linux619)]
    [InlineData(KernelProfile.Revoke2026)]
    public void MemoryOn_UnRevokes_AndTheImporterMapsAndDmasAgain(KernelProfile kernel)
    {
        using var m = new VfioMachine(kernel);
        DmaBuffer dmabuf = m.Get(m.Export((0, Page)).Value);
        var importer = new TestImporter(m.Host, dmabuf, m.Dev("thru"), m.Machine.Fabric);
        importer.Map();
        m.MemoryOff();

        m.MemoryOn();

        Assert.Equal(2, importer.Notifies);
        Assert.False(((VfioPciDmaBuf)dmabuf.Priv).Revoked);
        Assert.Equal(Errno.None, importer.Map());
        byte[] data = Pattern((int)Page, 2);
        Assert.True(importer.Port.Write(importer.LastSegments, data).IsSuccess);
        Assert.Equal(data, m.Bar2.Memory!.GetSpan(0, (int)Page).ToArray());
    }

    [Fact]
    public void CommandWrite_ThatKeepsMemoryOn_RevokesNothing()
    {
        using var m = new VfioMachine();
        DmaBuffer dmabuf = m.Get(m.Export((0, Page)).Value);
        var importer = new TestImporter(m.Host, dmabuf, m.Dev("near"), m.Machine.Fabric);
        importer.Map();

        m.WriteCommand(PciConfig.CommandMemory | PciConfig.CommandMaster);

        Assert.Equal(0, importer.Notifies);
        Assert.NotNull(importer.Table);
        Assert.Equal(Errno.EINVAL, m.Vdev.ConfigWrite(m.User, m.DeviceFd, PciConfig.Bar0, new byte[4]).Error);
    }

    [Theory]
    [InlineData(KernelProfile.Linux619)]
    [InlineData(KernelProfile.Revoke2026)]
    public void Reset_RevokesThenUnrevokes_TheBarComesBackWhereItWas_WithItsBytes(KernelProfile kernel)
    {
        using var m = new VfioMachine(kernel);
        DmaBuffer dmabuf = m.Get(m.Export((0, Page)).Value);
        var importer = new TestImporter(m.Host, dmabuf, m.Dev("near"), m.Machine.Fabric);
        byte[] data = Pattern((int)Page, 3);
        importer.Map();
        importer.Port.Write(importer.LastSegments, data);
        ulong address = m.Bar2.Address;

        Assert.Equal(Errno.None, m.Vdev.IoctlReset(m.User, m.DeviceFd));

        Assert.Equal(2, importer.Notifies);
        Assert.Null(importer.Table);
        Assert.False(((VfioPciDmaBuf)dmabuf.Priv).Revoked);
        Assert.True(m.Bar2.Decoding);
        Assert.Equal(address, m.Bar2.Address);
        Assert.Equal(data, m.Bar2.Memory!.GetSpan(0, (int)Page).ToArray());
        Assert.Equal(Errno.None, importer.Map());
    }

    [Fact]
    public void HotReset_NeedsEveryFunctionOnTheBusOpen_ThenRevokesAndUnrevokesThemAll()
    {
        using var m = new VfioMachine();
        DmaBuffer dmabuf = m.Get(m.Export((0, Page)).Value);
        var importer = new TestImporter(m.Host, dmabuf, m.Dev("near"), m.Machine.Fabric);
        importer.Map();
        VfioPciCoreDevice sibling = m.Driver.Bind((PciEndpoint)m.Machine.Fabric["exp.f1"]).Value;

        Assert.Equal(Errno.EINVAL, m.Vdev.IoctlPciHotReset(m.User, m.DeviceFd));
        Assert.Equal(0, importer.Notifies);
        sibling.Open(m.User);
        Assert.Equal(Errno.None, m.Vdev.IoctlPciHotReset(m.User, m.DeviceFd));

        Assert.Equal(2, importer.Notifies);
        Assert.True(m.Bar2.Decoding);
        Assert.False(((VfioPciDmaBuf)dmabuf.Priv).Revoked);
    }

    [Fact]
    public void HotReset_OfAFunctionOnARootBus_IsEnodev()
    {
        using var m = new VfioMachine();
        VfioPciCoreDevice rciep = m.Driver.Bind((PciEndpoint)m.Machine.Fabric["rciep"]).Value;
        int fd = rciep.Open(m.User).Value;

        Assert.Equal(Errno.ENODEV, rciep.IoctlPciHotReset(m.User, fd));
    }

    [Theory]
    [InlineData(KernelProfile.Linux619)]
    [InlineData(KernelProfile.Revoke2026)]
    public void Close_RevokesForGood_TheDescriptorStaysValidButDead(KernelProfile kernel)
    {
        using var m = new VfioMachine(kernel);
        int dmabufFd = m.Export((0, Page)).Value;
        DmaBuffer dmabuf = m.Get(dmabufFd);
        var priv = (VfioPciDmaBuf)dmabuf.Priv;
        var importer = new TestImporter(m.Host, dmabuf, m.Dev("near"), m.Machine.Fabric);
        importer.Map();
        Assert.Equal(3, m.Vdev.RegistrationCount);

        Assert.Equal(Errno.None, m.User.Close(m.DeviceFd));

        Assert.Equal(0, m.Vdev.OpenCount);
        Assert.Equal(1, importer.Notifies);
        Assert.Null(importer.Table);
        Assert.True(priv.Revoked);
        Assert.Null(priv.Vdev);
        Assert.Empty(m.Vdev.DmaBufList);
        Assert.Equal(1, m.Vdev.RegistrationCount);
        Assert.False(m.Bar2.Decoding);
        AssertLateDmaChangesNothing(m, importer, RouteStatus.UnsupportedRequest);
        Assert.Same(dmabuf, m.Get(dmabufFd));
        Assert.Equal(Errno.ENODEV, new TestImporter(m.Host, dmabuf, m.Dev("thru"), m.Machine.Fabric).AttachResult.Error);

        int again = m.Vdev.Open(m.User).Value;
        Assert.True(m.Bar2.Decoding);
        Assert.True(priv.Revoked);
        Assert.Equal(Errno.ENODEV, importer.Map());
        importer.Detach();
        Assert.Equal(Errno.None, m.User.Close(dmabufFd));
        Assert.True(dmabuf.IsReleased);
        Assert.Equal(2, m.Vdev.RegistrationCount);
        m.User.Close(again);
    }

    [Fact]
    public void Release_BeforeClose_LeavesTheListAndDropsTheRegistration()
    {
        using var m = new VfioMachine();
        int dmabufFd = m.Export((0, Page)).Value;
        DmaBuffer dmabuf = m.Get(dmabufFd);
        var importer = new TestImporter(m.Host, dmabuf, m.Dev("near"), m.Machine.Fabric);
        importer.Map();
        importer.Unmap();
        importer.Detach();

        m.User.Close(dmabufFd);

        Assert.True(dmabuf.IsReleased);
        Assert.Empty(m.Vdev.DmaBufList);
        Assert.Equal(2, m.Vdev.RegistrationCount);
        Assert.Empty(m.Host.Violations);
    }

    [Fact]
    public void Unbind_WaitsUntilTheLastDeviceFileCloses_ThenOpenIsEnodev()
    {
        using var m = new VfioMachine();
        int dmabufFd = m.Export((0, Page)).Value;

        Assert.Equal(Errno.ETIMEDOUT, m.Driver.Unbind(m.Vdev, TimeSpan.FromMilliseconds(20)));
        Assert.Same(m.Vdev, m.Driver.Find(m.Exp));
        m.User.Close(m.DeviceFd);

        Assert.Equal(Errno.None, m.Driver.Unbind(m.Vdev, TimeSpan.FromSeconds(10)));
        Assert.Equal(0, m.Vdev.RegistrationCount);
        Assert.Null(m.Driver.Find(m.Exp));
        Assert.Equal(Errno.ENODEV, m.Vdev.Open(m.User).Error);
        Assert.Equal(Errno.None, m.User.Close(dmabufFd));
    }

    [Fact]
    public void Bind_Twice_IsEbusy()
    {
        using var m = new VfioMachine();

        Assert.Equal(Errno.EBUSY, m.Driver.Bind(m.Exp).Error);
    }

    [Theory]
    [InlineData("near", RouteStatus.UnsupportedRequest)]
    [InlineData("thru", RouteStatus.UnsupportedRequest)]
    public void V619_ImporterThatKeepsItsMapping_IsReported_AndTheFabricStillStopsItsDma(string device, RouteStatus late)
    {
        using var m = new VfioMachine(KernelProfile.Linux619);
        DmaBuffer dmabuf = m.Get(m.Export((0, Page)).Value);
        var broken = new TestImporter(m.Host, dmabuf, m.Dev(device), m.Machine.Fabric, NotifyBehaviour.KeepMapping);
        broken.Map();

        m.MemoryOff();

        Assert.Equal(DmaBufViolationKind.ImporterKeptMapping, Assert.Single(m.Host.Violations).Kind);
        Assert.Equal(1, dmabuf.MappedTables);
        AssertLateDmaChangesNothing(m, broken, late);
    }

    [Fact]
    public void Revoke2026_WaitsForEveryUnmap_BeforeReturning()
    {
        using var m = new VfioMachine(KernelProfile.Revoke2026);
        DmaBuffer dmabuf = m.Get(m.Export((0, Page)).Value);
        var priv = (VfioPciDmaBuf)dmabuf.Priv;
        var importer = new TestImporter(m.Host, dmabuf, m.Dev("thru"), m.Machine.Fabric, NotifyBehaviour.DeferUnmap);
        bool revokeReturned = false;
        importer.DeferredUnmapCheck = () => SpinWait.SpinUntil(() => priv.IsWaitingForUnmaps, TimeSpan.FromSeconds(10)) && !Volatile.Read(ref revokeReturned);
        importer.Map();

        m.MemoryOff();
        Volatile.Write(ref revokeReturned, true);

        importer.DeferredUnmapThread!.Join();
        Assert.True(importer.DeferredUnmapSawWait);
        Assert.Equal(0, dmabuf.MappedTables);
        Assert.Equal(0, priv.OutstandingMaps);
        Assert.Empty(m.Host.Violations);
        AssertLateDmaChangesNothing(m, importer, RouteStatus.IommuFault);
    }

    [Fact]
    public void Revoke2026_ImporterThatNeverUnmaps_TimesOutWithTheKernelsWarning_AndTheFabricStillStopsItsDma()
    {
        using var m = new VfioMachine(KernelProfile.Revoke2026, options: new VfioPciOptions { RevokeUnmapTimeout = TimeSpan.FromMilliseconds(20) });
        DmaBuffer dmabuf = m.Get(m.Export((0, Page)).Value);
        var broken = new TestImporter(m.Host, dmabuf, m.Dev("near"), m.Machine.Fabric, NotifyBehaviour.KeepMapping);
        broken.Map();

        m.MemoryOff();

        DmaBufViolation violation = Assert.Single(m.Host.Violations);
        Assert.Equal(DmaBufViolationKind.UnmapTimeout, violation.Kind);
        Assert.Contains("Timed out waiting for DMABUF unmap", violation.Message, StringComparison.Ordinal);
        AssertLateDmaChangesNothing(m, broken, RouteStatus.UnsupportedRequest);
    }

    [Fact]
    public void Revoke2026_WaitsForTheBuffersFences()
    {
        using var m = new VfioMachine(KernelProfile.Revoke2026);
        DmaBuffer dmabuf = m.Get(m.Export((0, Page)).Value);
        var importer = new TestImporter(m.Host, dmabuf, m.Dev("near"), m.Machine.Fabric, NotifyBehaviour.UnmapWithoutWaiting);
        Assert.NotNull(importer.BeginDma(out DmaFence fence, out _));
        bool returned = false;
        var revoke = new Thread(() =>
        {
            m.MemoryOff();
            Volatile.Write(ref returned, true);
        });

        revoke.Start();
        Assert.True(SpinWait.SpinUntil(() => fence.Waiters > 0, TimeSpan.FromSeconds(10)));
        Assert.False(Volatile.Read(ref returned));
        TestImporter.EndDma(fence);
        revoke.Join();

        Assert.True(returned);
        Assert.Empty(m.Host.Violations);
    }

    [Fact]
    public void V619_DoesNotWaitForFences()
    {
        using var m = new VfioMachine(KernelProfile.Linux619);
        DmaBuffer dmabuf = m.Get(m.Export((0, Page)).Value);
        var importer = new TestImporter(m.Host, dmabuf, m.Dev("near"), m.Machine.Fabric, NotifyBehaviour.UnmapWithoutWaiting);
        Assert.NotNull(importer.BeginDma(out DmaFence fence, out _));

        m.MemoryOff();

        Assert.False(fence.IsSignaled);
        Assert.Equal(0, fence.Waiters);
    }

    [Fact]
    public void Revoke2026_ZapsCpuMappings_FaultsAreSigbusWhileRevoked_AndTheyComeBack()
    {
        using var m = new VfioMachine(KernelProfile.Revoke2026);
        DmaBuffer dmabuf = m.Get(m.Export((0, 2 * Page)).Value);
        DmaBufCpuMapping mapping = m.Host.DmaBufMmap(dmabuf, 0, 2).Value;
        byte[] data = Pattern(100, 4);
        Assert.Equal(Errno.None, mapping.Write(Page - 50, data));
        Assert.Equal(2, mapping.PresentPages);

        m.MemoryOff();

        Assert.Equal(0, mapping.PresentPages);
        Assert.Equal(Errno.EFAULT, mapping.Read(0, new byte[4]));
        Assert.Equal(Errno.EFAULT, mapping.Write(0, new byte[4]));
        Assert.Equal(data, m.Bar2.Memory!.GetSpan(Page - 50, 100).ToArray());
        m.MemoryOn();
        byte[] back = new byte[100];
        Assert.Equal(Errno.None, mapping.Read(Page - 50, back));
        Assert.Equal(data, back);
    }

    /// <summary>
    /// A device streams passes over the whole buffer, page by page, until a transaction fails (v6.19, whose revoke does
    /// not wait for it: memory decode goes off under it) or until it sees the notify (revoke-2026, whose revoke waits
    /// for its fence). Either way nothing lands after the revoke returns, and the buffer holds exactly the completed pages
    /// of the last pass over the previous one.
    /// </summary>
    [Theory]
    [InlineData(KernelProfile.Linux619)]
    [InlineData(KernelProfile.Revoke2026)]
    public void DmaInFlightWhenRevokeStarts_LandsExactlyTheCompletedPrefix_AndNothingElse(KernelProfile kernel)
    {
        const int pages = 64;
        const int bytes = pages * (int)Page;
        using var m = new VfioMachine(kernel);
        byte[][] passes = { Pattern(bytes, 1), Pattern(bytes, 2) };
        for (int round = 0; round < 6; round++)
        {
            if (!m.Bar2.Decoding)
            {
                m.MemoryOn();
            }

            byte[] old = Pattern(bytes, 100 + round);
            old.CopyTo(m.Bar2.Memory!.GetSpan(0, bytes));
            DmaBuffer dmabuf = m.Get(m.Export((0, (ulong)bytes)).Value);
            var racy = new TestImporter(m.Host, dmabuf, m.Dev("near"), m.Machine.Fabric, NotifyBehaviour.UnmapWithoutWaiting);
            SgEntry[] segments = racy.BeginDma(out DmaFence fence, out _)!;
            SgEntry[] perPage = segments.SelectMany(s => Enumerable.Range(0, (int)(s.Length / Page)).Select(i => new SgEntry(s.Address.Add((ulong)i * Page), Page))).ToArray();
            int pass = -1;
            DmaResult result = default;
            var dma = new Thread(() =>
            {
                do
                {
                    pass++;
                    result = racy.Port.Write(perPage, passes[pass % 2]);
                }
                while (result.IsSuccess && (kernel == KernelProfile.Linux619 || racy.Notifies == 0));

                TestImporter.EndDma(fence);
            });

            dma.Start();
            m.MemoryOff();
            byte[] atRevoke = m.Bar2.Memory!.GetSpan(0, bytes).ToArray();
            dma.Join();

            int done = (int)result.BytesTransferred;
            byte[] before = pass == 0 ? old : passes[(pass - 1) % 2];
            ReadOnlySpan<byte> bar = m.Bar2.Memory!.GetSpan(0, bytes);
            Assert.True(bar.SequenceEqual(atRevoke), $"round {round}: bytes landed after the revoke returned");
            Assert.True(bar[..done].SequenceEqual(passes[pass % 2].AsSpan(0, done)), $"round {round}, pass {pass}: completed bytes differ");
            Assert.True(bar[done..].SequenceEqual(before.AsSpan(done)), $"round {round}, pass {pass}: bytes past the completed {done} changed");
            Assert.Equal(0, done % (int)Page);
            if (kernel == KernelProfile.Linux619)
            {
                Assert.Equal(RouteStatus.UnsupportedRequest, result.Status);
            }
            else
            {
                Assert.True(result.IsSuccess);
                Assert.Equal(bytes, done);
            }

            racy.Detach();
        }
    }
}
