using System.IO.Hashing;
using System.Linq;
using P2pEmu.Dma.Block;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Host;
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

    [Fact]
    public void RunJson_HasThePathsArray_WithTheContractFields()
    {
        (int exit, string output, _) = CliRunner.Run("run", "--json");

        Assert.Equal(0, exit);
        using var json = System.Text.Json.JsonDocument.Parse(output);
        System.Text.Json.JsonElement[] paths = [.. json.RootElement.GetProperty("paths").EnumerateArray()];
        Assert.Equal(2, paths.Length);
        foreach (System.Text.Json.JsonElement path in paths)
        {
            Assert.False(string.IsNullOrEmpty(path.GetProperty("name").GetString()));
            Assert.False(string.IsNullOrEmpty(path.GetProperty("mapType").GetString()));
            Assert.Equal(4L << 20, path.GetProperty("bytes").GetInt64());
            Assert.True(path.GetProperty("seconds").GetDouble() > 0);
            Assert.True(path.GetProperty("gbps").GetDouble() > 0);
            Assert.True(path.GetProperty("checksumOk").GetBoolean());
            Assert.Equal(0, path.GetProperty("errors").GetArrayLength());
        }

        Assert.Equal(2.0, paths[0].GetProperty("copiesPerByte").GetDouble(), 3);
        Assert.Equal(3.0, paths[1].GetProperty("copiesPerByte").GetDouble(), 3);
    }

    private static ulong Hash(Machine.Machine machine, BlockDevice disk, long position)
    {
        int order = HostPageAllocator.OrderForBytes(Bytes);
        ulong pages = machine.Pages.AllocPages(order).Value;
        try
        {
            var list = Enumerable.Range(0, Bytes / 4096).Select(i => new PhysAddress(pages + ((ulong)i * 4096))).ToList();
            Assert.Equal(Bytes, disk.ReadDirect(position, list, 0, Bytes).Value);
            byte[] bytes = new byte[Bytes];
            Assert.True(machine.Fabric.TryHostRead(pages, bytes));
            return XxHash3.HashToUInt64(bytes);
        }
        finally
        {
            machine.Pages.FreePages(pages, order);
        }
    }
}
