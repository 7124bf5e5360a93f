using System;
using P2pEmu.Emulator.Devices.Nvme;
using P2pEmu.Emulator.Memory;
using P2pEmu.Emulator.Pci;
using P2pEmu.Testing;
using Xunit;
using static P2pEmu.Integration.Tests.Nvme.NvmeAdminTests;

namespace P2pEmu.Integration.Tests.Nvme;

public sealed class NvmeIoTests
{
    private const byte OpFlush = 0x00;
    private const byte OpWrite = 0x01;
    private const byte OpRead = 0x02;

    [Fact]
    public void WriteThenRead_TwoPagesThroughPrp1WithOffsetAndPrp2_RoundTripsRandomData()
    {
        using var h = new NvmeHarness(0, Topo.MiB);
        h.Enable();
        HostQueue io = h.CreateIoQueuePair(1, 16);
        BarRegion ram = h.Fabric.Ram.Region;
        byte[] data = RandomBytes(4096, seed: 1);
        data.CopyTo(ram.GetSpan(NvmeHarness.DataOffset + 0x200, 4096));

        NvmeCompletion write = io.Submit(ReadWrite(OpWrite, cid: 3, slba: 10, blocks: 8, h.Bus(NvmeHarness.DataOffset + 0x200), h.Bus(NvmeHarness.DataOffset + 0x1000)));
        NvmeCompletion read = io.Submit(ReadWrite(OpRead, cid: 4, slba: 10, blocks: 8, h.Bus(NvmeHarness.DataOffset + 0x10_0000), h.Bus(NvmeHarness.DataOffset + 0x10_1000)));

        AssertSuccess(write);
        AssertSuccess(read);
        Assert.Equal(1, write.SqId);
        Assert.Equal(3, write.Cid);
        Assert.Equal(2, read.SqHead);
        Assert.True(h.Controller.Namespaces[0].Memory.GetSpan(10 * 512, 4096).SequenceEqual(data));
        Assert.True(ram.GetSpan(NvmeHarness.DataOffset + 0x10_0000, 4096).SequenceEqual(data));
        Assert.Equal(0, ram.Read<byte>(NvmeHarness.DataOffset + 0x10_0000 + 4096)); // not one byte past the end
    }

    [Fact]
    public void WriteThenRead_MaxTransferThroughAChainedPrpList_RoundTripsRandomData()
    {
        using var h = new NvmeHarness(0, Topo.MiB);
        h.Enable();
        HostQueue io = h.CreateIoQueuePair(1, 16);
        BarRegion ram = h.Fabric.Ram.Region;
        const int Pages = 32; // MDTS
        byte[] data = RandomBytes(Pages * 4096, seed: 2);

        // Pages scattered in reverse order; PRP1 is page 0, the list holds pages 1..31. The list starts two
        // slots before a page end, so its last slot chains to a second list page.
        ulong listStart = NvmeHarness.ListOffset + 4096 - 16;
        ulong secondList = NvmeHarness.ListOffset + 0x10000;
        ulong PageAt(int i) => NvmeHarness.DataOffset + ((ulong)(Pages - 1 - i) * 4096);
        for (int i = 0; i < Pages; i++)
        {
            data.AsSpan(i * 4096, 4096).CopyTo(ram.GetSpan(PageAt(i), 4096));
        }

        ram.Write(listStart, h.Bus(PageAt(1)));
        ram.Write(listStart + 8, h.Bus(secondList));
        for (int i = 2; i < Pages; i++)
        {
            ram.Write(secondList + ((ulong)(i - 2) * 8), h.Bus(PageAt(i)));
        }

        NvmeCompletion write = io.Submit(ReadWrite(OpWrite, 1, slba: 0, blocks: Pages * 8, h.Bus(PageAt(0)), h.Bus(listStart)));
        ram.GetSpan(NvmeHarness.DataOffset, Pages * 4096).Clear();
        NvmeCompletion read = io.Submit(ReadWrite(OpRead, 2, slba: 0, blocks: Pages * 8, h.Bus(PageAt(0)), h.Bus(listStart)));

        AssertSuccess(write);
        AssertSuccess(read);
        Assert.True(h.Controller.Namespaces[0].Memory.GetSpan(0, Pages * 4096).SequenceEqual(data));
        for (int i = 0; i < Pages; i++)
        {
            Assert.True(ram.GetSpan(PageAt(i), 4096).SequenceEqual(data.AsSpan(i * 4096, 4096)), $"page {i}");
        }
    }

    [Fact]
    public void WriteThenRead_PrpListAfterAnOffsetPrp1_EndsInAPartialPage()
    {
        using var h = new NvmeHarness(0, Topo.MiB);
        h.Enable();
        HostQueue io = h.CreateIoQueuePair(1, 16);
        BarRegion ram = h.Fabric.Ram.Region;
        byte[] data = RandomBytes(3 * 4096, seed: 5);
        ulong start = NvmeHarness.DataOffset + 0x800; // 2 KiB in PRP1's page, 4 KiB, 4 KiB, then 2 KiB
        data.CopyTo(ram.GetSpan(start, data.Length));
        for (int i = 0; i < 3; i++)
        {
            ram.Write(NvmeHarness.ListOffset + ((ulong)i * 8), h.Bus(NvmeHarness.DataOffset + ((ulong)(i + 1) * 4096)));
        }

        NvmeCompletion write = io.Submit(ReadWrite(OpWrite, 1, slba: 64, blocks: 24, h.Bus(start), h.Bus(NvmeHarness.ListOffset)));
        ram.GetSpan(NvmeHarness.DataOffset, 4 * 4096).Fill(0xEE);
        NvmeCompletion read = io.Submit(ReadWrite(OpRead, 2, slba: 64, blocks: 24, h.Bus(start), h.Bus(NvmeHarness.ListOffset)));

        AssertSuccess(write);
        AssertSuccess(read);
        Assert.True(h.Controller.Namespaces[0].Memory.GetSpan(64 * 512, data.Length).SequenceEqual(data));
        Assert.True(ram.GetSpan(start, data.Length).SequenceEqual(data));
        Assert.Equal(0xEE, ram.Read<byte>(start - 1));
        Assert.Equal(0xEE, ram.Read<byte>(start + (ulong)data.Length));
    }

    [Fact]
    public void Read_IntoAnIommuFaultingPage_IsDataTransferError_AndThePageIsUntouched()
    {
        using var h = new NvmeHarness(0, Topo.MiB);
        h.Enable();
        HostQueue io = h.CreateIoQueuePair(1, 16);
        BarRegion ram = h.Fabric.Ram.Region;
        ulong faulting = h.Bus(NvmeHarness.DataOffset + 0x1000);
        var iommu = new FaultingTranslator(faulting, faulting + 0x1000);
        h.Fabric.HostBridges[0].Translator = iommu;
        ram.Fill(NvmeHarness.DataOffset, 0x2000, 0x5A);
        h.Controller.Namespaces[0].Memory.Fill(0, 8192, 0xA5);

        NvmeCompletion read = io.Submit(ReadWrite(OpRead, 1, slba: 0, blocks: 16, h.Bus(NvmeHarness.DataOffset), faulting));

        AssertStatus(0x004, read);
        Assert.Equal(1, iommu.FaultCount);
        Assert.Equal(0xA5, ram.Read<byte>(NvmeHarness.DataOffset + 0xFFF)); // PRP1's page landed
        Assert.Equal(0x5A, ram.Read<byte>(NvmeHarness.DataOffset + 0x1000));
        Assert.Equal(0x5A, ram.Read<byte>(NvmeHarness.DataOffset + 0x1FFF));
        Assert.True(h.Controller.IsReady);
    }

    [Fact]
    public void Write_FromAHole_IsDataTransferError()
    {
        using var h = new NvmeHarness(0, Topo.MiB);
        h.Enable();
        HostQueue io = h.CreateIoQueuePair(1, 16);

        NvmeCompletion write = io.Submit(ReadWrite(OpWrite, 1, slba: 0, blocks: 1, NvmeHarness.HoleAddress, 0));

        AssertStatus(0x004, write);
        Assert.False(h.Controller.IsFatal);
        Assert.True(h.Controller.IsReady);
    }

    [Fact]
    public void IoSubmissionQueueInAHole_FetchFails_SetsCfs()
    {
        using var h = new NvmeHarness(0, Topo.MiB);
        h.Enable();
        HostQueue cq = h.CreateIoQueuePair(1, 16);
        Assert.Equal(0, h.AdminCommand(new NvmeCommand
        {
            Opcode = 0x01,
            Prp1 = NvmeHarness.HoleAddress,
            Cdw10 = 2u | (7u << 16),
            Cdw11 = 1u | (1u << 16),
        }).StatusPhase >> 1);

        h.WriteDoorbell(4, 1); // SQ 2 tail

        Assert.True(h.Controller.IsFatal);
        Assert.Equal(2u, h.Read32(NvmeRegister.Csts) & 2);
        Assert.False(cq.TryPop(out _, ringHead: false));
    }

    [Fact]
    public void NonNvmeDevices_KeepTheDefaultModels()
    {
        using var h = new NvmeHarness(0, Topo.MiB);

        PciBar peer = ((PciEndpoint)h.Fabric["peer"]).GetBar(0)!;

        Assert.NotNull(peer.Memory);
        Assert.Null(peer.Mmio);
        Assert.Equal(Topo.MiB, peer.SizeBytes);
        Assert.Same(h.Controller.Registers, h.Endpoint.GetBar(0)!.Mmio);
        Assert.Single(h.Controller.Namespaces);
    }

    [Fact]
    public void CmbAdvertisedUses_SqInTheCmbAndReadDataIntoTheCmb_Work()
    {
        using var h = new NvmeHarness(Topo.MiB, Topo.MiB);
        h.Enable();
        PciBar cmb = h.Endpoint.GetBar(2)!;
        BarRegion cmbMemory = cmb.Memory!;
        Assert.Equal(0, h.AdminCommand(new NvmeCommand
        {
            Opcode = 0x05,
            Prp1 = h.Bus(NvmeHarness.IoCqOffset),
            Cdw10 = 1u | (7u << 16),
            Cdw11 = 1,
        }).StatusPhase >> 1);
        Assert.Equal(0, h.AdminCommand(new NvmeCommand
        {
            Opcode = 0x01,
            Prp1 = cmb.Address,
            Cdw10 = 1u | (7u << 16),
            Cdw11 = 1u | (1u << 16), // SQ 1 in the CMB
        }).StatusPhase >> 1);
        byte[] data = RandomBytes(4096, seed: 6);
        data.CopyTo(h.Controller.Namespaces[0].Memory.GetSpan(0, 4096));
        cmbMemory.Write(0, ReadWrite(OpRead, 8, slba: 0, blocks: 8, cmb.Address + 0x8000, 0));

        h.WriteDoorbell(2, 1);

        var cq = new HostQueue(h, 1, 0, NvmeHarness.IoCqOffset, 8);
        Assert.True(cq.TryPop(out NvmeCompletion read));
        AssertSuccess(read);
        Assert.Equal(8, read.Cid);
        Assert.True(cmbMemory.GetSpan(0x8000, 4096).SequenceEqual(data));
    }

    [Fact]
    public void Read_IntoAPeerBar_LandsInThePeersMemory()
    {
        using var h = new NvmeHarness(0, Topo.MiB);
        h.Enable();
        HostQueue io = h.CreateIoQueuePair(1, 16);
        byte[] data = RandomBytes(1024, seed: 3);
        data.CopyTo(h.Controller.Namespaces[0].Memory.GetSpan(512 * 100, 1024));
        PciBar peer = ((PciEndpoint)h.Fabric["peer"]).GetBar(0)!;

        NvmeCompletion read = io.Submit(ReadWrite(OpRead, 5, slba: 100, blocks: 2, peer.Address + 0x3000, 0));

        AssertSuccess(read);
        Assert.True(peer.Memory!.GetSpan(0x3000, 1024).SequenceEqual(data));
    }

    [Fact]
    public void Read_WithPrp2InAHole_IsDataTransferError_FirstPageLands_NothingElseIsWritten()
    {
        using var h = new NvmeHarness(0, Topo.MiB);
        h.Enable();
        HostQueue io = h.CreateIoQueuePair(1, 16);
        BarRegion ram = h.Fabric.Ram.Region;
        byte[] data = RandomBytes(8192, seed: 4);
        data.CopyTo(h.Controller.Namespaces[0].Memory.GetSpan(0, 8192));
        io.Push(ReadWrite(OpRead, 6, slba: 0, blocks: 16, h.Bus(NvmeHarness.DataOffset), NvmeHarness.HoleAddress));
        byte[] before = ram.GetSpan(0, 16 << 20).ToArray();

        io.RingSubmission();

        Assert.True(io.TryPop(out NvmeCompletion done));
        AssertStatus(0x004, done);
        Assert.False(h.Controller.IsFatal);
        Span<byte> after = ram.GetSpan(0, 16 << 20);
        Assert.True(after.Slice((int)NvmeHarness.DataOffset, 4096).SequenceEqual(data.AsSpan(0, 4096)));
        data.AsSpan(0, 4096).CopyTo(before.AsSpan((int)NvmeHarness.DataOffset));
        after.Slice((int)NvmeHarness.IoCqOffset, 16).CopyTo(before.AsSpan((int)NvmeHarness.IoCqOffset)); // the completion
        Assert.True(after.SequenceEqual(before));
    }

    [Theory]
    [InlineData(2047UL, 2)] // last block plus one
    [InlineData(2048UL, 1)] // first block past the end
    [InlineData(ulong.MaxValue, 1)] // SLBA + NLB would wrap
    public void ReadWrite_PastTheNamespace_IsLbaOutOfRange(ulong slba, int blocks)
    {
        using var h = new NvmeHarness(0, Topo.MiB); // 2048 blocks
        h.Enable();
        HostQueue io = h.CreateIoQueuePair(1, 16);

        AssertStatus(0x080, io.Submit(ReadWrite(OpRead, 1, slba, blocks, h.Bus(NvmeHarness.DataOffset), 0)));
        AssertStatus(0x080, io.Submit(ReadWrite(OpWrite, 2, slba, blocks, h.Bus(NvmeHarness.DataOffset), 0)));
    }

    [Fact]
    public void Read_AboveMdts_IsInvalidField()
    {
        using var h = new NvmeHarness(0, Topo.MiB);
        h.Enable();
        HostQueue io = h.CreateIoQueuePair(1, 16);

        AssertStatus(0x002, io.Submit(ReadWrite(OpRead, 1, 0, 257, h.Bus(NvmeHarness.DataOffset), h.Bus(NvmeHarness.ListOffset))));
        AssertSuccess(io.Submit(ReadWrite(OpRead, 1, 0, 8, h.Bus(NvmeHarness.DataOffset), 0)));
    }

    [Fact]
    public void Read_UnalignedPrp2_IsInvalidPrpOffset()
    {
        using var h = new NvmeHarness(0, Topo.MiB);
        h.Enable();
        HostQueue io = h.CreateIoQueuePair(1, 16);

        AssertStatus(0x013, io.Submit(ReadWrite(OpRead, 1, 0, 16, h.Bus(NvmeHarness.DataOffset), h.Bus(NvmeHarness.DataOffset + 0x1200))));
        AssertStatus(0x013, io.Submit(ReadWrite(OpRead, 2, 0, 1, h.Bus(NvmeHarness.DataOffset) + 2, 0)));
    }

    [Fact]
    public void IoCommands_InactiveNamespace_IsInvalidNamespace_FlushSucceeds_UnknownOpcodeIsInvalid()
    {
        using var h = new NvmeHarness(0, Topo.MiB);
        h.Enable();
        HostQueue io = h.CreateIoQueuePair(1, 16);

        NvmeCommand badNs = ReadWrite(OpRead, 1, 0, 1, h.Bus(NvmeHarness.DataOffset), 0);
        badNs.Nsid = 2;
        AssertStatus(0x00B, io.Submit(badNs));
        AssertSuccess(io.Submit(new NvmeCommand { Opcode = OpFlush, Nsid = 1 }));
        AssertSuccess(io.Submit(new NvmeCommand { Opcode = OpFlush, Nsid = 0xFFFF_FFFF }));
        AssertStatus(0x00B, io.Submit(new NvmeCommand { Opcode = OpFlush, Nsid = 9 }));
        AssertStatus(0x001, io.Submit(new NvmeCommand { Opcode = 0x7F, Nsid = 1 }));
        AssertStatus(0x001, io.Submit(new NvmeCommand { Opcode = 0x06, Nsid = 1 })); // Identify is admin-only
    }

    [Fact]
    public void FullCompletionQueue_StallsTheSubmissionQueue_UntilTheHeadDoorbellFreesASlot()
    {
        using var h = new NvmeHarness(0, Topo.MiB);
        h.Enable();
        Assert.Equal(0, h.AdminCommand(new NvmeCommand
        {
            Opcode = 0x05,
            Prp1 = h.Bus(NvmeHarness.IoCqOffset),
            Cdw10 = 1u | (1u << 16),
            Cdw11 = 1, // 2 entries
        }).StatusPhase >> 1);
        Assert.Equal(0, h.AdminCommand(new NvmeCommand
        {
            Opcode = 0x01,
            Prp1 = h.Bus(NvmeHarness.IoSqOffset),
            Cdw10 = 1u | (7u << 16),
            Cdw11 = 1u | (1u << 16),
        }).StatusPhase >> 1);
        var sq = new HostQueue(h, 1, NvmeHarness.IoSqOffset, NvmeHarness.IoCqOffset, 8);
        var cq = new HostQueue(h, 1, NvmeHarness.IoSqOffset, NvmeHarness.IoCqOffset, 2);

        sq.Push(new NvmeCommand { Opcode = OpFlush, Cid = 10, Nsid = 1 });
        sq.Push(new NvmeCommand { Opcode = OpFlush, Cid = 11, Nsid = 1 });
        sq.RingSubmission();

        Assert.True(cq.TryPop(out NvmeCompletion first, ringHead: false));
        Assert.Equal(10, first.Cid);
        Assert.False(cq.TryPop(out _, ringHead: false)); // one slot must stay free: the second waits
        cq.RingCompletionHead();
        Assert.True(cq.TryPop(out NvmeCompletion second));
        Assert.Equal(11, second.Cid);
        Assert.Equal(2, second.SqHead);
    }

    private static NvmeCommand ReadWrite(byte opcode, ushort cid, ulong slba, int blocks, ulong prp1, ulong prp2) => new()
    {
        Opcode = opcode,
        Cid = cid,
        Nsid = 1,
        Prp1 = prp1,
        Prp2 = prp2,
        Cdw10 = unchecked((uint)slba),
        Cdw11 = (uint)(slba >> 32),
        Cdw12 = (uint)(blocks - 1),
    };

    private static byte[] RandomBytes(int length, int seed)
    {
        byte[] bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }
}
