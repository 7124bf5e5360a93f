using System;
using System.IO.Hashing;
using System.Linq;
using System.Text.Json;
using P2pEmu.Dma.Block;
using P2pEmu.Emulator.Pci;
using P2pEmu.Machine.Scenarios;
using Xunit;

namespace P2pEmu.Integration.Tests;

/// <summary>The paths of the default run: offload by P2P and bounce, pgmap, DMABUF revoked mid-run, the refused pair.</summary>
public sealed class PathScenarioTests
{
    private const int Bytes = 1 << 20;

    [Fact]
    public void PgmapPath_CopiesTheFirstDriveToTheSecond_ThroughTheClosestProvidersP2pmem_WithOneFabricCopy()
    {
        using Machine.Machine machine = Machine.Machine.Load("default");

        PathReport pgmap = PathScenario.Run(machine, Bytes, seed: 3).Single(p => p.Name.Contains("(pgmap", StringComparison.Ordinal));

        Assert.True(pgmap.ChecksumOk, string.Join("; ", pgmap.Errors));
        Assert.Equal("nvme0n1 -> nvme0 p2pmem (allocate mmap) -> nvme1n1 (pgmap, O_DIRECT)", pgmap.Name);
        Assert.Equal("BUS_ADDR, THRU_HOST_BRIDGE", pgmap.MapType); // nvme0 into its own CMB; nvme1 through the host bridge
        Assert.Equal(Bytes, pgmap.Bytes);
        Assert.Equal(1.0, pgmap.CopiesPerByte, 3); // only nvme1's read of nvme0's CMB crosses the fabric
        Assert.Empty(pgmap.Errors);
        Assert.Equal(Hash(machine, machine.BlockDevices["nvme0n1"], 2 * Bytes), Hash(machine, machine.BlockDevices["nvme1n1"], 2 * Bytes));
    }

    [Fact]
    public void DmabufPath_RevokedHalfway_DeliversTheFirstHalf_FailsTheNextWrite_AndLeavesTheRestOfTheMemoryAlone()
    {
        using Machine.Machine machine = Machine.Machine.Load("default");
        PciBar memory = ((PciEndpoint)machine.Fabric["accel0"]).GetBar(1)!;
        memory.Memory!.GetSpan(0, Bytes).Fill(0x5A);

        PathReport dmabuf = PathScenario.Run(machine, Bytes, seed: 3).Single(p => p.Name.Contains("vfio dma-buf", StringComparison.Ordinal));

        Assert.True(dmabuf.ChecksumOk, string.Join("; ", dmabuf.Errors));
        Assert.StartsWith("nic1 -> nic0 -> accel0 memory", dmabuf.Name, StringComparison.Ordinal);
        Assert.Equal("BUS_ADDR", dmabuf.MapType); // nic0 and accel0 share sw0
        Assert.Equal(Bytes / 2, dmabuf.Bytes);
        Assert.Contains(dmabuf.Errors, e => e == "chunk 8: IB_WC_REM_ACCESS_ERR");
        ReadOnlySpan<byte> landed = memory.Memory.GetSpan(0, Bytes);
        Assert.Equal(-1, landed[(Bytes / 2)..].IndexOfAnyExcept((byte)0x5A)); // nothing after the revoke
        Assert.True(landed[..(Bytes / 2)].Count((byte)0x5A) < Bytes / 64); // random bytes before it
    }

    [Fact]
    public void RefusedPair_IsTheDrivesBehindTheAcsSwitchOfTheHostBridgeTheAllowListDoesNotName_ExplainedAndUntouched()
    {
        using Machine.Machine machine = Machine.Machine.Load("default");
        PciBar cmb = ((PciEndpoint)machine.Fabric["nvme3"]).GetBar(2)!;
        ulong before = XxHash3.HashToUInt64(cmb.Memory!.GetSpan(0, (int)cmb.SizeBytes));

        PathReport refused = PathScenario.Run(machine, Bytes, seed: 3).Single(p => p.Name.Contains("refused", StringComparison.Ordinal));

        Assert.True(refused.ChecksumOk, string.Join("; ", refused.Errors));
        Assert.Equal("nvme2n1 -> nvme3 p2pmem (allocate mmap, O_DIRECT; refused)", refused.Name);
        Assert.Equal("NOT_SUPPORTED", refused.MapType);
        Assert.Equal(0, refused.Bytes);
        Assert.Contains(refused.Errors, e => e.Contains("-EINVAL", StringComparison.Ordinal)); // blk_rq_dma_map: BLK_STS_INVAL
        Assert.Contains("ACS redirects (RR/CR/EC) at sw1.dp1", refused.Explanation, StringComparison.Ordinal);
        Assert.Contains("8086:6f00) is not in the P2PDMA allow list", refused.Explanation, StringComparison.Ordinal);
        Assert.Equal(before, XxHash3.HashToUInt64(cmb.Memory.GetSpan(0, (int)cmb.SizeBytes)));
    }

    [Fact]
    public void RunJson_HasThePathsArray_WithTheContractFields()
    {
        (int exit, string output, _) = CliRunner.Run("run", "--json");

        Assert.Equal(0, exit);
        using var json = JsonDocument.Parse(output);
        JsonElement[] paths = [.. json.RootElement.GetProperty("paths").EnumerateArray()];
        Assert.Equal(PathScenario.MaxPaths, paths.Length);
        foreach (JsonElement path in paths)
        {
            Assert.False(string.IsNullOrEmpty(path.GetProperty("name").GetString()));
            Assert.False(string.IsNullOrEmpty(path.GetProperty("mapType").GetString()));
            Assert.True(path.GetProperty("checksumOk").GetBoolean());
            Assert.Equal(JsonValueKind.Number, path.GetProperty("seconds").ValueKind);
            Assert.Equal(JsonValueKind.Number, path.GetProperty("gbps").ValueKind);
            Assert.Equal(JsonValueKind.Number, path.GetProperty("copiesPerByte").ValueKind);
            Assert.Equal(JsonValueKind.Array, path.GetProperty("errors").ValueKind);
            Assert.True(path.TryGetProperty("explanation", out _));
        }

        double[] copies = [.. paths.Select(p => p.GetProperty("copiesPerByte").GetDouble())];
        Assert.Equal([2.0, 3.0, 1.0, 1.0, 0.0], copies.Select(c => Math.Round(c, 2))); // the few WQE and CQE bytes of the chunked DMABUF path add a little
        Assert.All(paths[..3], p => Assert.Equal(4L << 20, p.GetProperty("bytes").GetInt64()));
        Assert.All(paths[..3], p => Assert.Equal(0, p.GetProperty("errors").GetArrayLength()));
        Assert.All(paths[..4], p => Assert.True(p.GetProperty("gbps").GetDouble() > 0));
        Assert.Equal(2L << 20, paths[3].GetProperty("bytes").GetInt64());
        Assert.Equal("NOT_SUPPORTED", paths[4].GetProperty("mapType").GetString());
        Assert.Contains("allow list", paths[4].GetProperty("explanation").GetString(), StringComparison.Ordinal);
    }

    private static ulong Hash(Machine.Machine machine, BlockDevice disk, long position) => DiskContents.Hash(machine, disk, position, Bytes);
}
