using System;
using System.Linq;
using P2pEmu.Dma.Block;
using P2pEmu.Drivers.Nvme;
using P2pEmu.Emulator.Host;
using P2pEmu.Emulator.Pci;
using P2pEmu.Emulator.Topology;
using P2pEmu.Testing;
using Xunit;
using DeviceModel = P2pEmu.Emulator.Devices.Nvme.NvmeController;

namespace P2pEmu.Integration.Tests.NvmeDriver;

/// <summary>Probe, identify, namespace discovery and remove, checked through what the fabric shows.</summary>
public sealed class NvmeBringUpTests
{
    private static uint Mmio32(Machine.Machine machine, string function, uint offset)
    {
        byte[] bytes = new byte[4];
        machine.Fabric.TryHostRead(((PciEndpoint)machine.Fabric[function]).GetBar(0)!.Address + offset, bytes);
        return BitConverter.ToUInt32(bytes);
    }

    [Fact]
    public void DefaultMachine_ControllerIsLive_IdentifiedWithQueuesAndOneDisk()
    {
        using Machine.Machine machine = Machine.Machine.Load("default");

        NvmeDev dev = machine.NvmeDrivers["nvme0"];
        Assert.Equal(NvmeCtrlState.Live, dev.State);
        Assert.Equal(1u, Mmio32(machine, "nvme0", 0x1C) & 1); // CSTS.RDY
        Assert.Equal(1u, Mmio32(machine, "nvme0", 0x14) & 1); // CC.EN
        Assert.Equal(DeviceModel.ModelNumber, dev.IdCtrl!.ModelNumber);
        Assert.Equal("P2PEMU-nvme0", dev.IdCtrl.SerialNumber);
        Assert.Equal((uint)DeviceModel.MaxTransferBytes >> 9, dev.MaxHwSectors);
        Assert.Equal(4, dev.IoQueues.Count);
        Assert.All(dev.IoQueues, q => Assert.True(q.IsEnabled));
        Assert.Equal(4, dev.TagSet!.NrHwQueues);
        Assert.Equal(DeviceModel.MaxQueueEntriesZeroBased + 1, dev.QueueDepth);
        BlockDevice disk = machine.BlockDevices["nvme0n1"]; // nvme1n1 is the default's second drive, nvme2n1 and nvme3n1 are behind hb1
        Assert.Equal(4, machine.BlockDevices.Count);
        Assert.Equal(1UL << 30, disk.SizeBytes);
        Assert.Equal(512u, disk.LogicalBlockSize);
        Assert.True(disk.DirectIoAllowsP2pdma);
        Assert.Same(dev.Device, disk.Device.Parent);
    }

    [Fact]
    public void TwoNamespaces_TwoDisksInScanOrder_WithTheirSizes()
    {
        using Machine.Machine machine = Machine.Machine.Build(DriverTopologies.Single(0, IommuMode.Off, 8 * Topo.MiB, 3 * Topo.MiB));

        NvmeDev dev = machine.NvmeDrivers["nvme0"];

        Assert.Equal(new uint[] { 1, 2 }, dev.Namespaces.Select(n => n.Nsid));
        Assert.Equal(8 * Topo.MiB, machine.BlockDevices["nvme0n1"].SizeBytes);
        Assert.Equal(3 * Topo.MiB, machine.BlockDevices["nvme0n2"].SizeBytes);
        Assert.Same(dev.TagSet, machine.BlockDevices["nvme0n2"].Queue.TagSet);
    }

    [Fact]
    public void TwoControllers_AreNumberedInProbeOrder()
    {
        using Machine.Machine machine = Machine.Machine.Build(DriverTopologies.SwitchPair(AcsFlags.None));

        Assert.Equal(0, machine.NvmeDrivers["nvme0"].Instance);
        Assert.Equal(1, machine.NvmeDrivers["nvme1"].Instance);
        Assert.Equal(new[] { "nvme0n1", "nvme1n1" }, machine.BlockDevices.Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void ControllerWithoutNamespaces_IsLiveWithNoDisk()
    {
        using Machine.Machine machine = Machine.Machine.Build(DriverTopologies.Machine(IommuMode.Off, true,
            Topo.RootPort("rp0", DriverTopologies.Nvme("nvme0", 0))));

        Assert.Equal(NvmeCtrlState.Live, machine.NvmeDrivers["nvme0"].State);
        Assert.Empty(machine.NvmeDrivers["nvme0"].Namespaces);
        Assert.Empty(machine.BlockDevices);
    }

    [Fact]
    public void WithoutDrivers_NothingIsBoundAndTheControllerUntouched_UntilProbedByHand()
    {
        using Machine.Machine machine = Machine.Machine.Load("default", bindDrivers: false);

        Assert.False(machine.NvmeDrivers.ContainsKey("nvme0"));
        Assert.Equal(0u, Mmio32(machine, "nvme0", 0x14));

        Result<NvmeDev> probed = machine.NvmeDriver.Probe(machine.Fabric["nvme0"]);

        Assert.True(probed.IsSuccess);
        Assert.Same(probed.Value, machine.NvmeDrivers["nvme0"]);
        Assert.Equal(Errno.ENODEV, machine.NvmeDriver.Probe(machine.Fabric["nvme0"]).Error);
        Assert.Equal(Errno.ENODEV, machine.NvmeDriver.Probe(machine.Fabric["nic0"]).Error);
    }

    [Fact]
    public void EndpointWithTheNvmeClassButNoController_NeverBecomesReady_ProbeFailsWithEnodev()
    {
        DeviceDescription impostor = Topo.Endpoint("fake", 1 * Topo.MiB) with { ClassCode = NvmePciDriver.ClassStorageExpress };
        using Machine.Machine machine = Machine.Machine.Build(DriverTopologies.Machine(IommuMode.Off, true, Topo.RootPort("rp0", impostor)));

        Assert.True(NvmePciDriver.Matches(machine.Fabric["fake"]));
        Assert.False(machine.NvmeDrivers.ContainsKey("nvme0"));
        Assert.Contains(machine.NvmeDriver.KernelLog, l => l.Contains("probe with driver nvme failed with error -19", StringComparison.Ordinal));
        byte[] bar = new byte[64];
        machine.Fabric.TryHostRead(((PciEndpoint)machine.Fabric["fake"]).GetBar(0)!.Address, bar);
        Assert.Equal(0u, BitConverter.ToUInt32(bar, 0x1C) & 1); // CSTS.RDY never followed CC.EN...
        Assert.Equal(0x0046_0000u, BitConverter.ToUInt32(bar, 0x14)); // ...so the driver cleared EN again, keeping IOCQES 4 and IOSQES 6
    }

    [Fact]
    public void Remove_ShutsTheControllerDown_DisksFailWithEnodev_ReleasesTheCmb_AndDisablesTheDevice()
    {
        using Machine.Machine machine = Machine.Machine.Load("default");
        NvmeDev dev = machine.NvmeDrivers["nvme0"];
        BlockDevice disk = machine.BlockDevices["nvme0n1"];
        KernelBuffer buffer = KernelBuffer.Contiguous(machine, 0);
        PciFunction nvme0 = machine.Fabric["nvme0"];
        Assert.NotNull(machine.P2pDma.GetP2pmemSysfs(nvme0));

        machine.NvmeDriver.Remove(dev);

        Assert.Equal(NvmeCtrlState.Deleted, dev.State);
        Assert.False(machine.NvmeDrivers.ContainsKey("nvme0"));
        Assert.True(disk.IsRemoved);
        Assert.Equal(Errno.ENODEV, disk.WriteDirect(0, buffer.Vecs(0, 4096)).Error);
        Assert.Empty(dev.IoQueues);

        // The CMB's P2PDMA resources are gone with the device's removal, and the device no longer decodes or masters.
        Assert.Null(machine.P2pDma.GetP2pmemSysfs(nvme0));
        Assert.False(nvme0.BusMasterEnabled);
        Assert.False(nvme0.MemorySpaceEnabled);

        // What the controller was left in, read as the next driver would see it once it enables memory decoding.
        nvme0.Config.Write16(PciConfig.Command, (ushort)(nvme0.Config.Read16(PciConfig.Command) | PciConfig.CommandMemory));
        Assert.Equal(2u, (Mmio32(machine, "nvme0", 0x1C) >> 2) & 3); // CSTS.SHST: shutdown complete
        Assert.Equal(0x4000u, Mmio32(machine, "nvme0", 0x14) & 0xC000); // CC.SHN normal
    }
}
