using P2pEmu.Dma.Block;
using P2pEmu.Machine.Scenarios;
using Xunit;

namespace P2pEmu.Integration.Tests;

/// <summary>The storage → network → storage paths of the default run: NVMe-oF target offload against the bounce.</summary>
public sealed class OffloadScenarioTests
{
    private const int Bytes = 1 << 20;

    [Fact]
    public void PeerToPeerAndBounce_LandTheNearDrivesBytesOnTheFarDrive_WithTwoAndThreeFabricCopies()
    {
        using Machine.Machine machine = Machine.Machine.Load("default");

        PathReport[] paths = [.. OffloadScenario.Run(machine, Bytes, seed: 9)];

        Assert.Equal(2, paths.Length);
        PathReport p2p = paths[0];
        PathReport bounce = paths[1];
        Assert.Equal("nvme0n1 -> nic0 memory -> nic1 -> nvme1 CMB -> nvme1n1 (P2P)", p2p.Name);
        Assert.Equal("BUS_ADDR, BUS_ADDR, THRU_HOST_BRIDGE, BUS_ADDR", p2p.MapType);
        Assert.True(p2p.ChecksumOk, string.Join("; ", p2p.Errors));
        Assert.True(bounce.ChecksumOk, string.Join("; ", bounce.Errors));
        Assert.Equal(Bytes, p2p.Bytes);
        Assert.Equal(2.0, p2p.CopiesPerByte, 3); // drive → NIC memory, NIC → CMB; the NIC's read of its own memory and the drive's of its CMB stay inside them
        Assert.Equal(3.0, bounce.CopiesPerByte, 3); // drive → RAM, RAM → RAM over the link, RAM → drive
        Assert.True(p2p.Seconds > 0 && p2p.Gbps > 0);

        // Independently of the scenario's own check: the far drive holds what the near drive holds, for both paths.
        BlockDevice near = machine.BlockDevices["nvme0n1"];
        BlockDevice far = machine.BlockDevices["nvme1n1"];
        Assert.Equal(Hash(machine, near, 0), Hash(machine, far, 0));
        Assert.Equal(Hash(machine, near, Bytes), Hash(machine, far, Bytes));
        Assert.NotEqual(Hash(machine, near, 0), Hash(machine, near, Bytes));
    }

    private static ulong Hash(Machine.Machine machine, BlockDevice disk, long position) => DiskContents.Hash(machine, disk, position, Bytes);
}
