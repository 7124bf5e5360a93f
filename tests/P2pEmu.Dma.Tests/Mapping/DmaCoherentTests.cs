using System;
using P2pEmu.Dma.Mapping;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Topology;
using P2pEmu.Testing;
using Xunit;

namespace P2pEmu.Dma.Tests.Mapping;

/// <summary><c>dma_alloc_coherent</c>/<c>dma_free_coherent</c>, checked by the device's own DMA.</summary>
public sealed class DmaCoherentTests
{
    private static Machine.Machine Build(IommuMode iommu) =>
        Machine.Machine.Build(Topo.Machine(new HostBridgeDescription("hb0", 0, 0, iommu, true, new[]
        {
            Topo.HostDevice(), Topo.RootPort("rp0", Topo.Endpoint("dev", 1 * Topo.MiB)),
        }, "$.hostBridges[0]")), bindDrivers: false);

    [Theory]
    [InlineData(IommuMode.Off)]
    [InlineData(IommuMode.Translate)]
    public void AllocCoherent_GivesZeroedPagesTheDeviceReachesBothWays_FreeUnmapsThem(IommuMode iommu)
    {
        using Machine.Machine machine = Build(iommu);
        DmaDevice dev = machine.Dma.GetDevice(machine.Fabric["dev"]);

        PhysAddress cpu = machine.Dma.DmaAllocCoherent(dev, 6000, out DmaAddress handle);

        Assert.NotEqual(0UL, cpu.Value);
        long free = machine.Pages.FreePageCount;
        Assert.Equal(iommu == IommuMode.Translate, handle.Value != cpu.Value);
        var port = new DmaPort(machine.Fabric, machine.Fabric["dev"]);
        byte[] data = new byte[8192];
        new Random(1).NextBytes(data);
        byte[] zeroes = new byte[8192];
        Assert.True(port.Read(handle, zeroes).IsSuccess);
        Assert.All(zeroes, b => Assert.Equal(0, b));
        Assert.True(port.Write(handle, data).IsSuccess);
        byte[] seen = new byte[8192];
        machine.Fabric.TryHostRead(cpu.Value, seen);
        Assert.Equal(data, seen);

        machine.Dma.DmaFreeCoherent(dev, 6000, cpu, handle);

        if (iommu == IommuMode.Translate)
        {
            dev.IommuCookie!.FlushQueues(); // lazy mode: the batch flush the flush queue's timer makes
            Assert.Equal(RouteStatus.IommuFault, port.Write(handle, data).Status);
        }
        else
        {
            Assert.Equal(free + 2, machine.Pages.FreePageCount); // 6000 bytes took an order-1 block
        }
    }

    [Fact]
    public void AllocCoherent_WithoutAPageAllocator_Throws()
    {
        using Machine.Machine machine = Build(IommuMode.Off);
        var api = new DmaApi(machine.Fabric, machine.P2pDma);

        Assert.Throws<InvalidOperationException>(() => api.DmaAllocCoherent(api.GetDevice(machine.Fabric["dev"]), 4096, out _));
    }
}
