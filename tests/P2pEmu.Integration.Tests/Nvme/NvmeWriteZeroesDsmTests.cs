using System;
using P2pEmu.Emulator.Devices.Nvme;
using P2pEmu.Emulator.Memory;
using P2pEmu.Testing;
using Xunit;
using static P2pEmu.Integration.Tests.Nvme.NvmeAdminTests;

namespace P2pEmu.Integration.Tests.Nvme;

public sealed class NvmeWriteZeroesDsmTests
{
    private const byte OpWrite = 0x01;
    private const byte OpRead = 0x02;
    private const byte OpWriteZeroes = 0x08;
    private const byte OpDatasetManagement = 0x09;
    private const ushort DataTransferError = 0x004;
    private const ushort InvalidNamespace = 0x00B;
    private const ushort LbaOutOfRange = 0x080;
    private const uint Deallocate = 1u << 2;
    private const ulong ReadBack = NvmeHarness.DataOffset + 0x10_0000;
    private const ulong Ranges = NvmeHarness.ListOffset;

    [Fact]
    public void WriteZeroes_ZeroesExactlyTheRange_WithoutTransferringData()
    {
        using var h = new NvmeHarness(0, Topo.MiB);
        h.Enable();
        HostQueue io = h.CreateIoQueuePair(1, 16);
        byte[] data = Fill(h, io, blocks: 16, seed: 11);

        // PRP1 names a hole: any data transfer would fail the command.
        NvmeCompletion zero = io.Submit(new NvmeCommand { Opcode = OpWriteZeroes, Cid = 5, Nsid = 1, Prp1 = NvmeHarness.HoleAddress, Cdw10 = 4, Cdw12 = 3 });

        AssertSuccess(zero);
        Assert.Equal(5, zero.Cid);
        byte[] back = ReadBlocks(h, io, blocks: 16);
        Assert.True(back.AsSpan(0, 4 * 512).SequenceEqual(data.AsSpan(0, 4 * 512)));
        Assert.True(back.AsSpan(4 * 512, 4 * 512).IndexOfAnyExcept((byte)0) < 0);
        Assert.True(back.AsSpan(8 * 512).SequenceEqual(data.AsSpan(8 * 512)));
        Assert.Equal(0UL, h.Controller.ErrorCount);
    }

    [Fact]
    public void WriteZeroes_LastBlockOfTheNamespace_Succeeds()
    {
        using var h = new NvmeHarness(0, Topo.MiB);
        h.Enable();
        HostQueue io = h.CreateIoQueuePair(1, 16);
        NvmeNamespace ns = h.Controller.Namespaces[0];
        ns.Memory.Fill(0, ns.BlockCount * 512, 0x77);

        AssertSuccess(io.Submit(new NvmeCommand { Opcode = OpWriteZeroes, Nsid = 1, Cdw10 = 2047, Cdw12 = 0 }));

        Assert.True(ns.Memory.GetSpan(2047 * 512, 512).IndexOfAnyExcept((byte)0) < 0);
        Assert.Equal(0x77, ns.Memory.Read<byte>((2047 * 512) - 1));
    }

    [Theory]
    [InlineData(2047u, 0u, 1u)] // two blocks from the last one
    [InlineData(2048u, 0u, 0u)] // first LBA past the end
    [InlineData(0u, 1u, 0u)] // SLBA above 4 G blocks
    public void WriteZeroes_OutOfRange_IsLbaOutOfRange_AndTheMediaIsUntouched(uint cdw10, uint cdw11, uint nlb)
    {
        using var h = new NvmeHarness(0, Topo.MiB);
        h.Enable();
        HostQueue io = h.CreateIoQueuePair(1, 16);
        NvmeNamespace ns = h.Controller.Namespaces[0];
        ns.Memory.Fill(0, ns.BlockCount * 512, 0x77);

        NvmeCompletion done = io.Submit(new NvmeCommand { Opcode = OpWriteZeroes, Cid = 9, Nsid = 1, Cdw10 = cdw10, Cdw11 = cdw11, Cdw12 = nlb });

        AssertStatus(LbaOutOfRange, done);
        Assert.True(done.DoNotRetry);
        Assert.True(ns.Memory.GetSpan(0, (int)(ns.BlockCount * 512)).IndexOfAnyExcept((byte)0x77) < 0);
        NvmeErrorLogEntry entry = ReadNewestError(h);
        Assert.Equal(1UL, entry.ErrorCount);
        Assert.Equal(1, entry.SqId);
        Assert.Equal(9, entry.Cid);
        Assert.Equal(LbaOutOfRange, (entry.StatusField >> 1) & 0x7FF);
        Assert.Equal(cdw10 | ((ulong)cdw11 << 32), entry.Lba);
    }

    [Fact]
    public void WriteZeroesAndDsm_InactiveNamespace_IsInvalidNamespace()
    {
        using var h = new NvmeHarness(0, Topo.MiB);
        h.Enable();
        HostQueue io = h.CreateIoQueuePair(1, 16);

        AssertStatus(InvalidNamespace, io.Submit(new NvmeCommand { Opcode = OpWriteZeroes, Nsid = 2 }));
        AssertStatus(InvalidNamespace, io.Submit(new NvmeCommand { Opcode = OpDatasetManagement, Nsid = 0, Prp1 = h.Bus(Ranges), Cdw11 = Deallocate }));
        Assert.Equal(2UL, h.Controller.ErrorCount);
    }

    [Fact]
    public void Deallocate_RangesReadBackAsZeroes_OtherBlocksKeepTheirData()
    {
        using var h = new NvmeHarness(0, Topo.MiB);
        h.Enable();
        HostQueue io = h.CreateIoQueuePair(1, 16);
        BarRegion ram = h.Fabric.Ram.Region;
        byte[] data = Fill(h, io, blocks: 32, seed: 12);
        ram.Write(Ranges, new NvmeDsmRange { LengthInBlocks = 2, StartingLba = 1 });
        ram.Write(Ranges + 16, new NvmeDsmRange { ContextAttributes = 0xFF, LengthInBlocks = 0, StartingLba = 1_000_000 }); // empty: ignored
        ram.Write(Ranges + 32, new NvmeDsmRange { LengthInBlocks = 5, StartingLba = 20 });

        NvmeCompletion done = io.Submit(Dsm(cid: 6, h.Bus(Ranges), ranges: 3, Deallocate));

        AssertSuccess(done);
        byte[] back = ReadBlocks(h, io, blocks: 32);
        for (int block = 0; block < 32; block++)
        {
            bool deallocated = block is >= 1 and < 3 or >= 20 and < 25;
            Span<byte> got = back.AsSpan(block * 512, 512);
            Assert.True(deallocated ? got.IndexOfAnyExcept((byte)0) < 0 : got.SequenceEqual(data.AsSpan(block * 512, 512)), $"block {block}");
        }
    }

    [Fact]
    public void Deallocate_256RangesFillingAPage_AreAllDeallocated()
    {
        using var h = new NvmeHarness(0, Topo.MiB);
        h.Enable();
        HostQueue io = h.CreateIoQueuePair(1, 16);
        BarRegion ram = h.Fabric.Ram.Region;
        NvmeNamespace ns = h.Controller.Namespaces[0];
        ns.Memory.Fill(0, ns.BlockCount * 512, 0x77);
        for (int i = 0; i < 256; i++)
        {
            ram.Write(Ranges + ((ulong)i * 16), new NvmeDsmRange { LengthInBlocks = 1, StartingLba = (ulong)i * 8 }); // every 8th block
        }

        AssertSuccess(io.Submit(Dsm(cid: 1, h.Bus(Ranges), ranges: 256, Deallocate)));

        for (ulong block = 0; block < ns.BlockCount; block++)
        {
            byte expected = block % 8 == 0 ? (byte)0 : (byte)0x77;
            Assert.True(ns.Memory.GetSpan(block * 512, 512).IndexOfAnyExcept(expected) < 0, $"block {block}");
        }
    }

    [Fact]
    public void Dsm_WithoutDeallocate_LeavesTheData()
    {
        using var h = new NvmeHarness(0, Topo.MiB);
        h.Enable();
        HostQueue io = h.CreateIoQueuePair(1, 16);
        byte[] data = Fill(h, io, blocks: 8, seed: 13);
        h.Fabric.Ram.Region.Write(Ranges, new NvmeDsmRange { LengthInBlocks = 8, StartingLba = 0 });

        AssertSuccess(io.Submit(Dsm(cid: 1, h.Bus(Ranges), ranges: 1, attributes: 0b11))); // IDR, IDW only

        Assert.True(ReadBlocks(h, io, blocks: 8).AsSpan().SequenceEqual(data));
    }

    [Fact]
    public void Deallocate_ARangePastTheEnd_IsLbaOutOfRange_AndNoRangeIsDeallocated()
    {
        using var h = new NvmeHarness(0, Topo.MiB);
        h.Enable();
        HostQueue io = h.CreateIoQueuePair(1, 16);
        BarRegion ram = h.Fabric.Ram.Region;
        byte[] data = Fill(h, io, blocks: 8, seed: 14);
        ram.Write(Ranges, new NvmeDsmRange { LengthInBlocks = 8, StartingLba = 0 });
        ram.Write(Ranges + 16, new NvmeDsmRange { LengthInBlocks = 2, StartingLba = 2047 });

        NvmeCompletion done = io.Submit(Dsm(cid: 0x44, h.Bus(Ranges), ranges: 2, Deallocate));

        AssertStatus(LbaOutOfRange, done);
        Assert.True(ReadBlocks(h, io, blocks: 8).AsSpan().SequenceEqual(data));
        NvmeErrorLogEntry entry = ReadNewestError(h);
        Assert.Equal(1UL, entry.ErrorCount);
        Assert.Equal(1, entry.SqId);
        Assert.Equal(0x44, entry.Cid);
        Assert.Equal(LbaOutOfRange, (entry.StatusField >> 1) & 0x7FF);
        Assert.Equal(2047UL, entry.Lba);
        Assert.Equal(1u, entry.Nsid);
    }

    [Fact]
    public void Deallocate_RangesFromAHole_IsDataTransferError_AndNothingIsDeallocated()
    {
        using var h = new NvmeHarness(0, Topo.MiB);
        h.Enable();
        HostQueue io = h.CreateIoQueuePair(1, 16);
        NvmeNamespace ns = h.Controller.Namespaces[0];
        ns.Memory.Fill(0, ns.BlockCount * 512, 0x77);

        NvmeCompletion done = io.Submit(Dsm(cid: 1, NvmeHarness.HoleAddress, ranges: 1, Deallocate));

        AssertStatus(DataTransferError, done);
        Assert.False(done.DoNotRetry);
        Assert.True(ns.Memory.GetSpan(0, (int)(ns.BlockCount * 512)).IndexOfAnyExcept((byte)0x77) < 0);
        Assert.Equal(1UL, h.Controller.ErrorCount);
    }

    private static NvmeCommand Dsm(ushort cid, ulong prp1, int ranges, uint attributes) => new()
    {
        Opcode = OpDatasetManagement,
        Cid = cid,
        Nsid = 1,
        Prp1 = prp1,
        Cdw10 = (uint)(ranges - 1),
        Cdw11 = attributes,
    };

    /// <summary>Writes random data to LBAs 0..blocks-1 with Write commands of one page each and returns it.</summary>
    private static byte[] Fill(NvmeHarness h, HostQueue io, int blocks, int seed)
    {
        byte[] data = new byte[blocks * 512];
        new Random(seed).NextBytes(data);
        data.CopyTo(h.Fabric.Ram.Region.GetSpan(NvmeHarness.DataOffset, data.Length));
        for (int first = 0; first < blocks; first += 8)
        {
            AssertSuccess(io.Submit(PageCommand(OpWrite, h.Bus(NvmeHarness.DataOffset + ((ulong)first * 512)), first, Math.Min(8, blocks - first))));
        }

        return data;
    }

    /// <summary>Reads LBAs 0..blocks-1 with Read commands of one page each into RAM that was filled with 0xEE first.</summary>
    private static byte[] ReadBlocks(NvmeHarness h, HostQueue io, int blocks)
    {
        BarRegion ram = h.Fabric.Ram.Region;
        ram.Fill(ReadBack, (ulong)blocks * 512, 0xEE);
        for (int first = 0; first < blocks; first += 8)
        {
            AssertSuccess(io.Submit(PageCommand(OpRead, h.Bus(ReadBack + ((ulong)first * 512)), first, Math.Min(8, blocks - first))));
        }

        return ram.GetSpan(ReadBack, blocks * 512).ToArray();
    }

    private static NvmeCommand PageCommand(byte opcode, ulong prp1, int slba, int blocks) => new()
    {
        Opcode = opcode,
        Nsid = 1,
        Prp1 = prp1,
        Cdw10 = (uint)slba,
        Cdw12 = (uint)(blocks - 1),
    };

    private static NvmeErrorLogEntry ReadNewestError(NvmeHarness h)
    {
        const ulong At = NvmeHarness.DataOffset + 0x8000;
        AssertSuccess(h.AdminCommand(new NvmeCommand { Opcode = 0x02, Prp1 = h.Bus(At), Cdw10 = 0x01u | (15u << 16) }));
        return h.Fabric.Ram.Region.Read<NvmeErrorLogEntry>(At);
    }
}
