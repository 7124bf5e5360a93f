using System;
using System.Buffers.Binary;
using System.Text;
using P2pEmu.Emulator.Devices.Nvme;
using P2pEmu.Emulator.Memory;
using P2pEmu.Testing;
using Xunit;

namespace P2pEmu.Integration.Tests.Nvme;

public sealed class NvmeAdminTests
{
    private const ushort InvalidOpcode = 0x001;
    private const ushort InvalidField = 0x002;
    private const ushort InvalidNamespace = 0x00B;
    private const ushort CompletionQueueInvalid = 0x100;
    private const ushort InvalidQueueId = 0x101;
    private const ushort InvalidQueueSize = 0x102;
    private const ushort InvalidQueueDeletion = 0x10C;

    [Fact]
    public void IdentifyController_ReportsIdsStringsMdtsQueueEntrySizesAndNamespaceCount()
    {
        using var h = new NvmeHarness(0, Topo.MiB, 2 * Topo.MiB);
        h.Enable();

        NvmeCompletion done = h.AdminCommand(new NvmeCommand { Opcode = 0x06, Cid = 0x42, Prp1 = h.Bus(NvmeHarness.DataOffset), Cdw10 = 1 });

        AssertSuccess(done);
        Assert.Equal(0x42, done.Cid);
        Assert.Equal(0, done.SqId);
        Assert.Equal(1, done.SqHead);
        Span<byte> id = h.Fabric.Ram.Region.GetSpan(NvmeHarness.DataOffset, 4096);
        Assert.Equal(0x1B36, BinaryPrimitives.ReadUInt16LittleEndian(id));
        Assert.Equal("P2PEMU-nvme0".PadRight(20), Encoding.ASCII.GetString(id.Slice(4, 20)));
        Assert.Equal(NvmeController.ModelNumber.PadRight(40), Encoding.ASCII.GetString(id.Slice(24, 40)));
        Assert.Equal("1.0     ", Encoding.ASCII.GetString(id.Slice(64, 8)));
        Assert.Equal(5, id[77]); // MDTS
        Assert.Equal(0x0002_0000u, BinaryPrimitives.ReadUInt32LittleEndian(id[80..]));
        Assert.Equal(0x66, id[512]); // SQES
        Assert.Equal(0x44, id[513]); // CQES
        Assert.Equal(2u, BinaryPrimitives.ReadUInt32LittleEndian(id[516..])); // NN
    }

    [Fact]
    public void IdentifyNamespace_ReportsSizesIn512ByteBlocks()
    {
        using var h = new NvmeHarness(0, Topo.MiB, 3 * Topo.MiB);
        h.Enable();
        h.Fabric.Ram.Region.Fill(NvmeHarness.DataOffset, 4096, 0xCC);

        NvmeCompletion done = h.AdminCommand(new NvmeCommand { Opcode = 0x06, Cid = 1, Nsid = 2, Prp1 = h.Bus(NvmeHarness.DataOffset), Cdw10 = 0 });

        AssertSuccess(done);
        Span<byte> ns = h.Fabric.Ram.Region.GetSpan(NvmeHarness.DataOffset, 4096);
        ulong blocks = 3 * Topo.MiB / 512;
        Assert.Equal(blocks, BinaryPrimitives.ReadUInt64LittleEndian(ns)); // NSZE
        Assert.Equal(blocks, BinaryPrimitives.ReadUInt64LittleEndian(ns[8..])); // NCAP
        Assert.Equal(blocks, BinaryPrimitives.ReadUInt64LittleEndian(ns[16..])); // NUSE
        Assert.Equal(0, ns[25]); // NLBAF
        Assert.Equal(0, ns[26]); // FLBAS
        Assert.Equal(9, ns[130]); // LBAF0.LBADS
        Assert.Equal(0, ns[4095]); // the rest is zero-filled, not left over
    }

    [Theory]
    [InlineData(0u)]
    [InlineData(3u)]
    public void IdentifyNamespace_InactiveNsid_IsInvalidNamespace(uint nsid)
    {
        using var h = new NvmeHarness(0, Topo.MiB, Topo.MiB);
        h.Enable();

        NvmeCompletion done = h.AdminCommand(new NvmeCommand { Opcode = 0x06, Nsid = nsid, Prp1 = h.Bus(NvmeHarness.DataOffset) });

        AssertStatus(InvalidNamespace, done);
    }

    [Fact]
    public void IdentifyActiveNamespaceList_ListsNsidsAboveTheGivenOne()
    {
        using var h = new NvmeHarness(0, Topo.MiB, Topo.MiB, Topo.MiB);
        h.Enable();
        h.Fabric.Ram.Region.Fill(NvmeHarness.DataOffset, 4096, 0xCC);

        NvmeCompletion done = h.AdminCommand(new NvmeCommand { Opcode = 0x06, Nsid = 1, Prp1 = h.Bus(NvmeHarness.DataOffset), Cdw10 = 2 });

        AssertSuccess(done);
        BarRegion ram = h.Fabric.Ram.Region;
        Assert.Equal(2u, ram.Read<uint>(NvmeHarness.DataOffset));
        Assert.Equal(3u, ram.Read<uint>(NvmeHarness.DataOffset + 4));
        Assert.Equal(0u, ram.Read<uint>(NvmeHarness.DataOffset + 8));
    }

    [Fact]
    public void Identify_UnknownCns_IsInvalidField()
    {
        using var h = new NvmeHarness(0, Topo.MiB);
        h.Enable();

        AssertStatus(InvalidField, h.AdminCommand(new NvmeCommand { Opcode = 0x06, Prp1 = h.Bus(NvmeHarness.DataOffset), Cdw10 = 0x55 }));
    }

    [Fact]
    public void Identify_ToAHole_IsDataTransferError_AndNothingLandsInRam()
    {
        using var h = new NvmeHarness(0, Topo.MiB);
        h.Enable();
        h.Admin!.Push(new NvmeCommand { Opcode = 0x06, Cid = 9, Prp1 = NvmeHarness.HoleAddress, Cdw10 = 1 });
        byte[] before = h.Fabric.Ram.Region.GetSpan(0, 16 << 20).ToArray();

        h.Admin.RingSubmission();
        Assert.True(h.Admin.TryPop(out NvmeCompletion done));

        AssertStatus(0x004, done);
        Assert.False(done.DoNotRetry);
        Assert.False(h.Controller.IsFatal);
        Span<byte> after = h.Fabric.Ram.Region.GetSpan(0, 16 << 20);
        after.Slice((int)NvmeHarness.AcqOffset, 16).CopyTo(before.AsSpan((int)NvmeHarness.AcqOffset, 16)); // the completion itself
        Assert.True(after.SequenceEqual(before));
    }

    [Fact]
    public void Identify_IntoTheControllersOwnDoorbells_RecordsTheWritesWithoutRecursing()
    {
        using var h = new NvmeHarness(0, Topo.MiB);
        h.Enable();
        h.Admin!.Push(new NvmeCommand { Opcode = 0x06, Cid = 3, Prp1 = h.Bar0 + 0x1000, Cdw10 = 1 });

        Exception? thrown = Record.Exception(h.Admin.RingSubmission);

        Assert.Null(thrown);
        Assert.True(h.Controller.InvalidDoorbellWriteCount > 0); // the data reached the doorbells
        Assert.True(h.Controller.IsReady);
    }

    [Fact]
    public void Identify_IntoTheControllersOwnRegisters_MayResetItMidCommand_WithoutThrowing()
    {
        using var h = new NvmeHarness(0, Topo.MiB);
        h.Enable();
        h.Admin!.Push(new NvmeCommand { Opcode = 0x06, Cid = 3, Prp1 = h.Bar0, Cdw10 = 1 });

        Exception? thrown = Record.Exception(h.Admin.RingSubmission);

        Assert.Null(thrown);
        Assert.False(h.Controller.IsReady); // CC was overwritten by Identify data with EN clear
        Assert.False(h.Admin.TryPop(out _, ringHead: false)); // no completion posted after the reset
    }

    [Fact]
    public void UnknownAdminOpcode_IsInvalidCommandOpcode_WithDnr()
    {
        using var h = new NvmeHarness(0, Topo.MiB);
        h.Enable();

        NvmeCompletion done = h.AdminCommand(new NvmeCommand { Opcode = 0xC3, Cid = 7 });

        AssertStatus(InvalidOpcode, done);
        Assert.True(done.DoNotRetry);
        Assert.Equal(7, done.Cid);
    }

    [Fact]
    public void FusedOrSglCommand_IsInvalidField()
    {
        using var h = new NvmeHarness(0, Topo.MiB);
        h.Enable();

        AssertStatus(InvalidField, h.AdminCommand(new NvmeCommand { Opcode = 0x06, Flags = 0x40, Cdw10 = 1, Prp1 = h.Bus(NvmeHarness.DataOffset) }));
    }

    [Fact]
    public void NumberOfQueues_SetGrantsUpToTheMaximum_GetReportsIt_AndLimitsQueueIds()
    {
        using var h = new NvmeHarness(0, Topo.MiB);
        h.Enable();

        NvmeCompletion set = h.AdminCommand(new NvmeCommand { Opcode = 0x09, Cdw10 = 7, Cdw11 = 2u | (3u << 16) });
        NvmeCompletion get = h.AdminCommand(new NvmeCommand { Opcode = 0x0A, Cdw10 = 7 });
        NvmeCompletion tooHigh = h.AdminCommand(new NvmeCommand
        {
            Opcode = 0x05,
            Prp1 = h.Bus(NvmeHarness.IoCqOffset),
            Cdw10 = 5u | (7u << 16),
            Cdw11 = 1,
        });
        NvmeCompletion big = h.AdminCommand(new NvmeCommand { Opcode = 0x09, Cdw10 = 7, Cdw11 = 1000u | (1000u << 16) });

        AssertSuccess(set);
        Assert.Equal(2u | (3u << 16), set.Dw0);
        Assert.Equal(2u | (3u << 16), get.Dw0);
        AssertStatus(InvalidQueueId, tooHigh);
        Assert.Equal(63u | (63u << 16), big.Dw0);
    }

    [Theory]
    [InlineData(0x09u, 0x99u, 0u)] // Set Features, unsupported FID
    [InlineData(0x0Au, 0x06u, 0u)] // Get Features, unsupported FID
    [InlineData(0x09u, 0x07u, 0xFFFFu)] // Number of Queues: 65,536 SQs requested
    public void Features_InvalidRequest_IsInvalidField(uint opcode, uint fid, uint cdw11)
    {
        using var h = new NvmeHarness(0, Topo.MiB);
        h.Enable();

        AssertStatus(InvalidField, h.AdminCommand(new NvmeCommand { Opcode = (byte)opcode, Cdw10 = fid, Cdw11 = cdw11 }));
    }

    [Fact]
    public void CreateQueues_BadIdsSizesAndFields_FailWithTheirStatus()
    {
        using var h = new NvmeHarness(0, Topo.MiB);
        h.Enable();
        ulong cq = h.Bus(NvmeHarness.IoCqOffset);
        ulong sq = h.Bus(NvmeHarness.IoSqOffset);

        AssertStatus(InvalidQueueId, h.AdminCommand(new NvmeCommand { Opcode = 0x05, Prp1 = cq, Cdw10 = 0u | (7u << 16), Cdw11 = 1 }));
        AssertStatus(InvalidQueueSize, h.AdminCommand(new NvmeCommand { Opcode = 0x05, Prp1 = cq, Cdw10 = 1u | (0u << 16), Cdw11 = 1 }));
        AssertStatus(InvalidQueueSize, h.AdminCommand(new NvmeCommand { Opcode = 0x05, Prp1 = cq, Cdw10 = 1u | (1024u << 16), Cdw11 = 1 }));
        AssertStatus(InvalidField, h.AdminCommand(new NvmeCommand { Opcode = 0x05, Prp1 = cq, Cdw10 = 1u | (7u << 16), Cdw11 = 0 }));
        AssertStatus(0x013, h.AdminCommand(new NvmeCommand { Opcode = 0x05, Prp1 = cq + 0x200, Cdw10 = 1u | (7u << 16), Cdw11 = 1 }));
        AssertStatus(CompletionQueueInvalid, h.AdminCommand(new NvmeCommand { Opcode = 0x01, Prp1 = sq, Cdw10 = 1u | (7u << 16), Cdw11 = 1u | (1u << 16) }));

        AssertSuccess(h.AdminCommand(new NvmeCommand { Opcode = 0x05, Prp1 = cq, Cdw10 = 1u | (7u << 16), Cdw11 = 1 }));
        AssertStatus(InvalidQueueId, h.AdminCommand(new NvmeCommand { Opcode = 0x05, Prp1 = cq, Cdw10 = 1u | (7u << 16), Cdw11 = 1 }));
        AssertStatus(InvalidQueueId, h.AdminCommand(new NvmeCommand { Opcode = 0x01, Prp1 = sq, Cdw10 = 0u | (7u << 16), Cdw11 = 1u | (1u << 16) }));
        AssertStatus(CompletionQueueInvalid, h.AdminCommand(new NvmeCommand { Opcode = 0x01, Prp1 = sq, Cdw10 = 1u | (7u << 16), Cdw11 = 1u | (0u << 16) }));
        AssertStatus(InvalidQueueSize, h.AdminCommand(new NvmeCommand { Opcode = 0x01, Prp1 = sq, Cdw10 = 1u | (0u << 16), Cdw11 = 1u | (1u << 16) }));
        AssertStatus(InvalidField, h.AdminCommand(new NvmeCommand { Opcode = 0x01, Prp1 = sq, Cdw10 = 1u | (7u << 16), Cdw11 = 0u | (1u << 16) }));
        AssertStatus(0x013, h.AdminCommand(new NvmeCommand { Opcode = 0x01, Prp1 = sq + 8, Cdw10 = 1u | (7u << 16), Cdw11 = 1u | (1u << 16) }));
        AssertSuccess(h.AdminCommand(new NvmeCommand { Opcode = 0x01, Prp1 = sq, Cdw10 = 1u | (7u << 16), Cdw11 = 1u | (1u << 16) }));
        AssertStatus(InvalidQueueId, h.AdminCommand(new NvmeCommand { Opcode = 0x01, Prp1 = sq, Cdw10 = 1u | (7u << 16), Cdw11 = 1u | (1u << 16) }));
    }

    [Fact]
    public void CreateIoQueues_WithoutIoEntrySizesInCc_IsInvalidField()
    {
        using var h = new NvmeHarness(0, Topo.MiB);
        h.Enable();
        h.Disable();
        h.Write32(NvmeRegister.Cc, 1); // EN without IOSQES/IOCQES

        AssertStatus(InvalidField, h.AdminCommand(new NvmeCommand
        {
            Opcode = 0x05,
            Prp1 = h.Bus(NvmeHarness.IoCqOffset),
            Cdw10 = 1u | (7u << 16),
            Cdw11 = 1,
        }));
    }

    [Fact]
    public void DeleteQueues_CqWithBoundSqIsInvalidQueueDeletion_MissingIsInvalidQueueId()
    {
        using var h = new NvmeHarness(0, Topo.MiB);
        h.Enable();
        h.CreateIoQueuePair(1, 8);

        AssertStatus(InvalidQueueDeletion, h.AdminCommand(new NvmeCommand { Opcode = 0x04, Cdw10 = 1 }));
        AssertStatus(InvalidQueueId, h.AdminCommand(new NvmeCommand { Opcode = 0x00, Cdw10 = 2 }));
        AssertStatus(InvalidQueueId, h.AdminCommand(new NvmeCommand { Opcode = 0x00, Cdw10 = 0 }));
        AssertSuccess(h.AdminCommand(new NvmeCommand { Opcode = 0x00, Cdw10 = 1 }));
        AssertStatus(InvalidQueueId, h.AdminCommand(new NvmeCommand { Opcode = 0x00, Cdw10 = 1 }));
        AssertSuccess(h.AdminCommand(new NvmeCommand { Opcode = 0x04, Cdw10 = 1 }));
        AssertStatus(InvalidQueueId, h.AdminCommand(new NvmeCommand { Opcode = 0x04, Cdw10 = 1 }));
    }

    [Fact]
    public void Reset_DeletesIoQueues()
    {
        using var h = new NvmeHarness(0, Topo.MiB);
        h.Enable();
        h.CreateIoQueuePair(1, 8);

        h.Disable();
        h.Enable();

        AssertStatus(CompletionQueueInvalid, h.AdminCommand(new NvmeCommand
        {
            Opcode = 0x01,
            Prp1 = h.Bus(NvmeHarness.IoSqOffset),
            Cdw10 = 2u | (7u << 16),
            Cdw11 = 1u | (1u << 16),
        }));
    }

    [Fact]
    public void PhaseTag_TogglesEachTimeTheCompletionQueueWraps()
    {
        using var h = new NvmeHarness(0, Topo.MiB);
        h.Enable(adminEntries: 4);
        BarRegion ram = h.Fabric.Ram.Region;

        for (ushort i = 0; i < 10; i++)
        {
            NvmeCompletion done = h.AdminCommand(new NvmeCommand { Opcode = 0x0A, Cid = i, Cdw10 = 7 });
            Assert.Equal(i, done.Cid);
            Assert.Equal((i / 4) % 2 == 0, done.Phase);
            Assert.Equal((i + 1) % 4, done.SqHead);
        }

        // Slot 1 holds command 9 (third lap: phase 1), slot 2 still command 6 (second lap: phase 0).
        Assert.Equal(9, ram.Read<NvmeCompletion>(NvmeHarness.AcqOffset + 16).Cid);
        Assert.True(ram.Read<NvmeCompletion>(NvmeHarness.AcqOffset + 16).Phase);
        Assert.Equal(6, ram.Read<NvmeCompletion>(NvmeHarness.AcqOffset + 32).Cid);
        Assert.False(ram.Read<NvmeCompletion>(NvmeHarness.AcqOffset + 32).Phase);
    }

    internal static void AssertSuccess(NvmeCompletion completion) => AssertStatus(0, completion);

    internal static void AssertStatus(ushort expected, NvmeCompletion completion)
    {
        Assert.Equal(expected >> 8, completion.StatusCodeType);
        Assert.Equal(expected & 0xFF, completion.StatusCode);
    }
}
