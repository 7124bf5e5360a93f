using System;
using System.Buffers.Binary;
using P2pEmu.Emulator.Pci;
using Xunit;

namespace P2pEmu.Integration.Tests;

public sealed class MachineTests
{
    [Fact]
    public void DefaultMachine_NvmeBar0_IsALiveControllerWithACmb()
    {
        using Machine.Machine machine = Machine.Machine.Load("default");
        PciBar bar0 = ((PciEndpoint)machine.Fabric["nvme0"]).GetBar(0)!;
        byte[] cap = new byte[8];

        Assert.True(machine.Fabric.TryHostRead(bar0.Address, cap));

        ulong value = BinaryPrimitives.ReadUInt64LittleEndian(cap);
        Assert.Equal(1023UL, value & 0xFFFF);
        Assert.NotEqual(0UL, value & (1UL << 57));
        Assert.True(machine.NvmeControllers.ContainsKey("nvme0"));
        Assert.Equal(2, machine.Iommus.Count); // one per host bridge
    }

    [Fact]
    public void Dispose_IsSafeTwice()
    {
        Machine.Machine machine = Machine.Machine.Load("switch-acs");
        machine.Dispose();
        machine.Dispose();
        Assert.Throws<ObjectDisposedException>(() => ((PciEndpoint)machine.Fabric["nic0"]).GetBar(2)!.Memory!.GetSpan(0, 1));
    }
}
