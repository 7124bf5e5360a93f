using System;
using P2pEmu.Dma.Block;
using P2pEmu.Dma.P2pDma;
using P2pEmu.Drivers.Nvme;
using P2pEmu.Emulator.Host;
using P2pEmu.Emulator.Pci;
using P2pEmu.Testing;
using Xunit;

namespace P2pEmu.Integration.Tests.NvmeDriver;

/// <summary>The controller memory buffer rules of spec §7.1, seen through MMIO and the P2PDMA core.</summary>
public sealed class NvmeCmbTests
{
    private const ulong Cre = 1;
    private const ulong Cmse = 2;

    private static ulong Cmbmsc(Emulator.Fabric.PcieFabric fabric, string nvme)
    {
        byte[] bytes = new byte[8];
        fabric.TryHostRead(((PciEndpoint)fabric[nvme]).GetBar(0)!.Address + 0x50, bytes);
        return BitConverter.ToUInt64(bytes);
    }

    private static ulong Bar2(Emulator.Fabric.PcieFabric fabric, string nvme) => ((PciEndpoint)fabric[nvme]).GetBar(2)!.Address;

    [Fact]
    public void AlignedCmb_IsRegisteredPublishedAndProgrammed_SqsStayInHostMemoryByDefault()
    {
        using Machine.Machine machine = Machine.Machine.Load("default");
        NvmeDev dev = machine.NvmeDrivers["nvme0"];
        P2pmemSysfs sysfs = machine.P2pDma.GetP2pmemSysfs(machine.Fabric["nvme0"])!;

        Assert.Equal(64 * Topo.MiB, dev.CmbSize);
        Assert.Equal(64 * Topo.MiB, sysfs.Size);
        Assert.True(sysfs.Published);
        Assert.Equal(Cre | Cmse | Bar2(machine.Fabric, "nvme0"), Cmbmsc(machine.Fabric, "nvme0"));
        Assert.False(dev.CmbUseSqes);
        Assert.All(dev.IoQueues, q => Assert.False(q.SqInCmb));
        Assert.Equal(sysfs.Size, sysfs.Available);
        Assert.Contains(machine.P2pDma.KernelLog, l => l.Contains("added peer-to-peer DMA memory", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(512 * 1024)]  // the Intel D4502 case: too small for a 2 MiB page map
    [InlineData(1024 * 1024)] // not a multiple of 2 MiB
    public void CmbNotAlignedTo2MiB_IsNeverRegistered_CmbmscKeepsOnlyCre(int cmbBytes)
    {
        using Machine.Machine machine = Machine.Machine.Build(DriverTopologies.Single((ulong)cmbBytes));
        NvmeDev dev = machine.NvmeDrivers["nvme0"];

        Assert.Equal(0UL, dev.CmbSize);
        Assert.NotEqual(0u, dev.Cmbsz);
        Assert.Null(machine.P2pDma.GetP2pmemSysfs(machine.Fabric["nvme0"]));
        Assert.Equal(Cre, Cmbmsc(machine.Fabric, "nvme0"));
        Assert.Equal(NvmeCtrlState.Live, dev.State);
    }

    [Fact]
    public void CmbWithoutReadAndWriteData_IsRegisteredButNotPublished()
    {
        using var machine = new InterposedMachine(DriverTopologies.Single(4 * Topo.MiB));
        machine.Interposers["nvme0"].OnRead = (offset, value) => offset == 0x3C ? value & ~0x18UL : value; // CMBSZ without RDS, WDS

        NvmeDev dev = machine.Driver().Probe(machine.Fabric["nvme0"]).Value;
        P2pmemSysfs sysfs = machine.P2p.GetP2pmemSysfs(machine.Fabric["nvme0"])!;

        Assert.Equal(4 * Topo.MiB, dev.CmbSize);
        Assert.Equal(4 * Topo.MiB, sysfs.Size);
        Assert.False(sysfs.Published);
        Assert.Null(machine.P2p.PciP2pmemFindMany(new[] { dev.Device }));
    }

    [Fact]
    public void CmbWithoutSqSupport_KeepsSqsInHostMemory_EvenWhenAskedFor()
    {
        using var machine = new InterposedMachine(DriverTopologies.Single(4 * Topo.MiB));
        machine.Interposers["nvme0"].OnRead = (offset, value) => offset == 0x3C ? value & ~1UL : value; // CMBSZ without SQS

        NvmeDev dev = machine.Driver(new NvmeDriverOptions { UseCmbSqes = true }).Probe(machine.Fabric["nvme0"]).Value;

        Assert.Equal(4 * Topo.MiB, dev.CmbSize);
        Assert.False(dev.CmbUseSqes);
        Assert.All(dev.IoQueues, q => Assert.False(q.SqInCmb));
    }

    [Fact]
    public void RegistrationFailure_WarnsAndClearsCmbmsc_ProbeStillSucceeds()
    {
        using Machine.Machine machine = Machine.Machine.Build(DriverTopologies.Single(4 * Topo.MiB), bindDrivers: false);
        machine.P2pDma.SetNonMappableBars(machine.Fabric["nvme0"], true);

        NvmeDev dev = machine.NvmeDriver.Probe(machine.Fabric["nvme0"]).Value;

        Assert.Contains("nvme nvme0: failed to register the CMB", dev.KernelLog);
        Assert.Equal(0UL, Cmbmsc(machine.Fabric, "nvme0"));
        Assert.Equal(0UL, dev.CmbSize);
        Assert.Null(machine.P2pDma.GetP2pmemSysfs(machine.Fabric["nvme0"]));
        Assert.Equal(NvmeCtrlState.Live, dev.State);
    }

    [Fact]
    public void UseCmbSqes_PutsEveryIoSqInTheCmbAtItsBusAddress_AndIoWorks()
    {
        using Machine.Machine machine = Machine.Machine.Build(DriverTopologies.Single(4 * Topo.MiB), bindDrivers: false);
        NvmeDev dev = machine.NvmeDriver.Probe(machine.Fabric["nvme0"], new NvmeDriverOptions { UseCmbSqes = true }).Value;
        P2pmemSysfs sysfs = machine.P2pDma.GetP2pmemSysfs(machine.Fabric["nvme0"])!;
        ulong bar2 = Bar2(machine.Fabric, "nvme0");

        Assert.True(dev.CmbUseSqes);
        Assert.Equal(4, dev.IoQueues.Count);
        Assert.All(dev.IoQueues, q =>
        {
            Assert.True(q.SqInCmb);
            Assert.InRange(q.SqDmaAddress.Value, bar2, bar2 + (4 * Topo.MiB) - 1);
        });
        Assert.False(dev.AdminQueue!.SqInCmb);
        Assert.Equal(sysfs.Size - (4UL * (ulong)dev.QueueDepth * 64), sysfs.Available);

        BlockDevice disk = dev.Namespaces[0].Disk;
        KernelBuffer buffer = KernelBuffer.Contiguous(machine, 4);
        byte[] data = KernelBuffer.Random(65536, 9);
        buffer.Write(0, data);
        KernelBuffer.Ok(disk.WriteDirect(8192, buffer.Vecs(0, 65536)));
        buffer.Fill(0);
        KernelBuffer.Ok(disk.ReadDirect(8192, buffer.Vecs(0, 65536)));
        Assert.Equal(data, buffer.Read(0, 65536));
    }

    [Fact]
    public void CmbTooSmallForFullDepthQueues_ShrinksTheDepth_AndStillUsesTheCmb()
    {
        using Machine.Machine machine = Machine.Machine.Build(DriverTopologies.Single(2 * Topo.MiB), bindDrivers: false);

        NvmeDev dev = machine.NvmeDriver.Probe(machine.Fabric["nvme0"], new NvmeDriverOptions { UseCmbSqes = true, IoQueueCount = 64 }).Value;

        // 64 SQs of 1024 entries need 4 MiB; 2 MiB gives each 32 KiB, 512 entries.
        Assert.Equal(512, dev.QueueDepth);
        Assert.Equal(64, dev.IoQueues.Count);
        Assert.All(dev.IoQueues, q => Assert.True(q.SqInCmb && q.Depth == 512));
        Assert.Equal(0UL, machine.P2pDma.GetP2pmemSysfs(machine.Fabric["nvme0"])!.Available);
        KernelBuffer buffer = KernelBuffer.Contiguous(machine, 0);
        Assert.Equal(4096, KernelBuffer.Ok(dev.Namespaces[0].Disk.WriteDirect(0, buffer.Vecs(0, 4096))));
    }

    [Theory]
    [InlineData(2 * 1024 * 1024, 4, 1024, 1024)] // fits: unchanged
    [InlineData(2 * 1024 * 1024, 64, 1024, 512)] // shrunk to the CMB's share
    [InlineData(256 * 1024, 64, 1024, 64)]       // exactly the floor
    [InlineData(6000, 1, 1024, 64)]              // 6000 bytes rounds down to one 4 KiB page: 64 entries
    public void NvmeCmbQdepth_FollowsLinux(long cmbSize, int queues, int depth, int expected)
    {
        Assert.Equal(expected, NvmeDev.NvmeCmbQdepth((ulong)cmbSize, queues, depth, 64).Value);
    }

    [Theory]
    [InlineData(192 * 1024, 64)] // 3 KiB per queue rounds down to nothing
    [InlineData(252 * 1024, 64)] // 4,032 bytes per queue: still no whole page
    [InlineData(4096, 2)]
    public void NvmeCmbQdepth_BelowSixtyFourEntries_IsEnomem_SoSqsFallBackToHostMemory(long cmbSize, int queues)
    {
        Assert.Equal(Errno.ENOMEM, NvmeDev.NvmeCmbQdepth((ulong)cmbSize, queues, 1024, 64).Error);
    }
}
