using System;
using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using P2pEmu.Emulator.Devices.Nvme;
using P2pEmu.Emulator.Memory;
using P2pEmu.Testing;
using Xunit;
using static P2pEmu.Integration.Tests.Nvme.NvmeAdminTests;

namespace P2pEmu.Integration.Tests.Nvme;

public sealed class NvmeErrorLogTests
{
    private const byte OpGetLogPage = 0x02;
    private const byte OpRead = 0x02;
    private const ushort InvalidOpcode = 0x001;
    private const ushort InvalidField = 0x002;
    private const ushort InvalidNamespace = 0x00B;
    private const ushort LbaOutOfRange = 0x080;
    private const ushort Dnr = 0x8000;

    [Fact]
    public void NvmeErrorLogEntry_IsSixtyFourBytes_WithFieldsAtTheirSpecOffsets()
    {
        var entry = new NvmeErrorLogEntry
        {
            ErrorCount = 0x0102_0304_0506_0708,
            SqId = 0x1112,
            Cid = 0x2122,
            StatusField = 0x3132,
            ParameterErrorLocation = 0x4142,
            Lba = 0x5152_5354_5556_5758,
            Nsid = 0x6162_6364,
            VendorSpecificPage = 0x71,
            TransportType = 0x72,
            CommandSpecific = 0x8182_8384_8586_8788,
            TransportTypeSpecific = 0x9192,
        };
        byte[] bytes = new byte[64];
        System.Runtime.InteropServices.MemoryMarshal.Write(bytes, in entry);

        Assert.Equal(64, Unsafe.SizeOf<NvmeErrorLogEntry>());
        Assert.Equal(0x0102_0304_0506_0708UL, BitConverter.ToUInt64(bytes, 0));
        Assert.Equal(0x1112, BitConverter.ToUInt16(bytes, 8));
        Assert.Equal(0x2122, BitConverter.ToUInt16(bytes, 10));
        Assert.Equal(0x3132, BitConverter.ToUInt16(bytes, 12));
        Assert.Equal(0x4142, BitConverter.ToUInt16(bytes, 14));
        Assert.Equal(0x5152_5354_5556_5758UL, BitConverter.ToUInt64(bytes, 16));
        Assert.Equal(0x6162_6364u, BitConverter.ToUInt32(bytes, 24));
        Assert.Equal(0x71, bytes[28]);
        Assert.Equal(0x72, bytes[29]);
        Assert.Equal(0x8182_8384_8586_8788UL, BitConverter.ToUInt64(bytes, 32));
        Assert.Equal(0x9192, BitConverter.ToUInt16(bytes, 40));
    }

    [Fact]
    public void NvmeDsmRange_IsSixteenBytes_WithFieldsAtTheirSpecOffsets()
    {
        var range = new NvmeDsmRange { ContextAttributes = 0x11, LengthInBlocks = 0x22, StartingLba = 0x3333_4444_5555 };
        byte[] bytes = new byte[16];
        System.Runtime.InteropServices.MemoryMarshal.Write(bytes, in range);

        Assert.Equal(16, Unsafe.SizeOf<NvmeDsmRange>());
        Assert.Equal(0x11u, BitConverter.ToUInt32(bytes, 0));
        Assert.Equal(0x22u, BitConverter.ToUInt32(bytes, 4));
        Assert.Equal(0x3333_4444_5555UL, BitConverter.ToUInt64(bytes, 8));
    }

    [Fact]
    public void Identify_AdvertisesElpeLpaOncsAndDlfeat()
    {
        using var h = new NvmeHarness(0, Topo.MiB);
        h.Enable();
        Span<byte> data = h.Fabric.Ram.Region.GetSpan(NvmeHarness.DataOffset, 4096);

        AssertSuccess(h.AdminCommand(new NvmeCommand { Opcode = 0x06, Prp1 = h.Bus(NvmeHarness.DataOffset), Cdw10 = 1 }));
        Assert.Equal(63, data[262]); // ELPE
        Assert.Equal(NvmeController.ErrorLogEntries - 1, data[262]);
        Assert.Equal(0x04, data[261] & 0x04); // LPA: extended data for Get Log Page
        Assert.Equal(0x000C, BinaryPrimitives.ReadUInt16LittleEndian(data[520..])); // ONCS: DSM (bit 2), Write Zeroes (bit 3)

        AssertSuccess(h.AdminCommand(new NvmeCommand { Opcode = 0x06, Nsid = 1, Prp1 = h.Bus(NvmeHarness.DataOffset), Cdw10 = 0 }));
        Assert.Equal(0b001, data[33] & 0b111); // DLFEAT: deallocated blocks read as zeroes
    }

    [Fact]
    public void ErrorLog_IsEmptyBeforeAnyError()
    {
        using var h = new NvmeHarness(0, Topo.MiB);
        h.Enable();
        BarRegion ram = h.Fabric.Ram.Region;
        ram.Fill(NvmeHarness.DataOffset, 4096, 0xCC);

        AssertSuccess(h.AdminCommand(GetLog(cid: 1, h.Bus(NvmeHarness.DataOffset), dwords: 1024)));

        Assert.Equal(0UL, h.Controller.ErrorCount);
        Assert.True(ram.GetSpan(NvmeHarness.DataOffset, 4096).IndexOfAnyExcept((byte)0) < 0);
    }

    [Fact]
    public void ErrorLog_RecordsEachErrorNewestFirst_WithCountSqidCidStatusLocationLbaAndNamespace()
    {
        using var h = new NvmeHarness(0, Topo.MiB);
        h.Enable();
        HostQueue io = h.CreateIoQueuePair(1, 16);
        BarRegion ram = h.Fabric.Ram.Region;

        AssertStatus(InvalidOpcode, h.AdminCommand(new NvmeCommand { Opcode = 0x7E, Cid = 0x11 }));
        AssertSuccess(h.AdminCommand(new NvmeCommand { Opcode = 0x0A, Cid = 0x12, Cdw10 = 7 })); // not logged
        AssertStatus(LbaOutOfRange, io.Submit(new NvmeCommand
        {
            Opcode = OpRead,
            Cid = 0x22,
            Nsid = 1,
            Prp1 = h.Bus(NvmeHarness.DataOffset),
            Cdw10 = 2047,
            Cdw12 = 1, // two blocks from the last one
        }));
        AssertStatus(InvalidNamespace, io.Submit(new NvmeCommand { Opcode = 0x00, Cid = 0x23, Nsid = 5 }));
        ram.Fill(NvmeHarness.DataOffset, 4096, 0xCC);

        NvmeCompletion log = h.AdminCommand(GetLog(cid: 0x30, h.Bus(NvmeHarness.DataOffset), dwords: 64)); // 4 entries

        AssertSuccess(log);
        Assert.Equal(3UL, h.Controller.ErrorCount);
        NvmeErrorLogEntry newest = ram.Read<NvmeErrorLogEntry>(NvmeHarness.DataOffset);
        NvmeErrorLogEntry middle = ram.Read<NvmeErrorLogEntry>(NvmeHarness.DataOffset + 64);
        NvmeErrorLogEntry oldest = ram.Read<NvmeErrorLogEntry>(NvmeHarness.DataOffset + 128);
        NvmeErrorLogEntry none = ram.Read<NvmeErrorLogEntry>(NvmeHarness.DataOffset + 192);

        Assert.Equal(3UL, newest.ErrorCount);
        Assert.Equal(1, newest.SqId);
        Assert.Equal(0x23, newest.Cid);
        Assert.Equal(InvalidNamespace, (newest.StatusField >> 1) & 0x7FF);
        Assert.Equal(Dnr, newest.StatusField & Dnr);
        Assert.Equal(4, newest.ParameterErrorLocation);
        Assert.Equal(5u, newest.Nsid);

        Assert.Equal(2UL, middle.ErrorCount);
        Assert.Equal(1, middle.SqId);
        Assert.Equal(0x22, middle.Cid);
        Assert.Equal(LbaOutOfRange, (middle.StatusField >> 1) & 0x7FF);
        Assert.Equal(Dnr, middle.StatusField & Dnr);
        Assert.Equal(1, middle.StatusField & 1); // phase tag posted on the I/O CQ's first lap
        Assert.Equal(40, middle.ParameterErrorLocation);
        Assert.Equal(2047UL, middle.Lba);
        Assert.Equal(1u, middle.Nsid);

        Assert.Equal(1UL, oldest.ErrorCount);
        Assert.Equal(0, oldest.SqId);
        Assert.Equal(0x11, oldest.Cid);
        Assert.Equal(InvalidOpcode, (oldest.StatusField >> 1) & 0x7FF);
        Assert.Equal(0, oldest.ParameterErrorLocation);
        Assert.Equal(0u, oldest.Nsid);

        Assert.Equal(0UL, none.ErrorCount);
        Assert.Equal(0, none.Cid);
        Assert.Equal(0xCC, ram.Read<byte>(NvmeHarness.DataOffset + 256)); // exactly 64 dwords were written
    }

    [Fact]
    public void ErrorLog_DwordCountTruncatesTheTransfer()
    {
        using var h = new NvmeHarness(0, Topo.MiB);
        h.Enable();
        BarRegion ram = h.Fabric.Ram.Region;
        AssertStatus(InvalidOpcode, h.AdminCommand(new NvmeCommand { Opcode = 0x7E, Cid = 0xABCD }));
        ram.Fill(NvmeHarness.DataOffset, 4096, 0xCC);

        AssertSuccess(h.AdminCommand(GetLog(cid: 1, h.Bus(NvmeHarness.DataOffset), dwords: 3))); // count and SQID/CID

        Assert.Equal(1UL, ram.Read<ulong>(NvmeHarness.DataOffset));
        Assert.Equal(0, ram.Read<ushort>(NvmeHarness.DataOffset + 8));
        Assert.Equal(0xABCD, ram.Read<ushort>(NvmeHarness.DataOffset + 10));
        Assert.Equal(0xCC, ram.Read<byte>(NvmeHarness.DataOffset + 12));
        Assert.Equal(0xCC, ram.Read<byte>(NvmeHarness.DataOffset + 13));
    }

    [Fact]
    public void ErrorLog_NumduExtendsTheDwordCount_PastTheLogIsZeroes_AndPastMdtsIsInvalidField()
    {
        using var h = new NvmeHarness(0, Topo.MiB);
        h.Enable();
        BarRegion ram = h.Fabric.Ram.Region;
        AssertStatus(InvalidOpcode, h.AdminCommand(new NvmeCommand { Opcode = 0x7E, Cid = 7 }));
        ram.Fill(NvmeHarness.DataOffset, 0x2_0000 + 1, 0xCC);

        // 32,768 dwords (NUMDU 0, NUMDL FFFFh would be 65,536): 128 KiB = MDTS, first page PRP1, rest by PRP list.
        for (int i = 1; i < 32; i++)
        {
            ram.Write(NvmeHarness.ListOffset + ((ulong)(i - 1) * 8), h.Bus(NvmeHarness.DataOffset + ((ulong)i * 4096)));
        }

        AssertSuccess(h.AdminCommand(GetLog(cid: 2, h.Bus(NvmeHarness.DataOffset), dwords: 32768, h.Bus(NvmeHarness.ListOffset))));
        Assert.Equal(1UL, ram.Read<ulong>(NvmeHarness.DataOffset));
        Assert.True(ram.GetSpan(NvmeHarness.DataOffset + 64, 0x2_0000 - 64).IndexOfAnyExcept((byte)0) < 0);
        Assert.Equal(0xCC, ram.Read<byte>(NvmeHarness.DataOffset + 0x2_0000));

        NvmeCompletion tooLong = h.AdminCommand(GetLog(cid: 3, h.Bus(NvmeHarness.DataOffset), dwords: 0x1_0001)); // NUMDU 1
        AssertStatus(InvalidField, tooLong);
        Assert.Equal(2UL, h.Controller.ErrorCount);
    }

    [Fact]
    public void ErrorLog_OffsetSkipsWholeEntries_AndBadOffsetsAreInvalidField()
    {
        using var h = new NvmeHarness(0, Topo.MiB);
        h.Enable();
        BarRegion ram = h.Fabric.Ram.Region;
        AssertStatus(InvalidOpcode, h.AdminCommand(new NvmeCommand { Opcode = 0x7E, Cid = 0x51 }));
        AssertStatus(InvalidOpcode, h.AdminCommand(new NvmeCommand { Opcode = 0x7E, Cid = 0x52 }));

        AssertSuccess(h.AdminCommand(GetLog(cid: 1, h.Bus(NvmeHarness.DataOffset), dwords: 16, offset: 64)));
        Assert.Equal(1UL, ram.Read<ulong>(NvmeHarness.DataOffset));
        Assert.Equal(0x51, ram.Read<ushort>(NvmeHarness.DataOffset + 10));

        AssertStatus(InvalidField, h.AdminCommand(GetLog(cid: 2, h.Bus(NvmeHarness.DataOffset), dwords: 16, offset: 2)));
        AssertStatus(InvalidField, h.AdminCommand(GetLog(cid: 3, h.Bus(NvmeHarness.DataOffset), dwords: 16, offset: 4096)));
        Assert.Equal(4UL, h.Controller.ErrorCount);
    }

    [Theory]
    [InlineData(0x00u)] // reserved
    [InlineData(0x02u)] // SMART / Health Information: not supported
    [InlineData(0x03u)] // Firmware Slot Information: not supported
    public void GetLogPage_UnsupportedLid_IsInvalidFieldWithDnr_AndIsItselfLogged(uint lid)
    {
        using var h = new NvmeHarness(0, Topo.MiB);
        h.Enable();
        BarRegion ram = h.Fabric.Ram.Region;

        NvmeCompletion bad = h.AdminCommand(new NvmeCommand { Opcode = OpGetLogPage, Cid = 0x61, Prp1 = h.Bus(NvmeHarness.DataOffset), Cdw10 = lid | (15u << 16) });
        AssertSuccess(h.AdminCommand(GetLog(cid: 0x62, h.Bus(NvmeHarness.DataOffset), dwords: 16)));

        AssertStatus(InvalidField, bad);
        Assert.True(bad.DoNotRetry);
        NvmeErrorLogEntry entry = ram.Read<NvmeErrorLogEntry>(NvmeHarness.DataOffset);
        Assert.Equal(1UL, entry.ErrorCount);
        Assert.Equal(0x61, entry.Cid);
        Assert.Equal(InvalidField, (entry.StatusField >> 1) & 0x7FF);
        Assert.Equal(40, entry.ParameterErrorLocation); // CDW10 byte 0: LID
    }

    [Fact]
    public void ErrorLog_KeepsTheNewest64Entries_WithTheCountStillIncrementing()
    {
        using var h = new NvmeHarness(0, Topo.MiB);
        h.Enable(adminEntries: 8);
        BarRegion ram = h.Fabric.Ram.Region;
        for (ushort i = 1; i <= 70; i++)
        {
            AssertStatus(InvalidOpcode, h.AdminCommand(new NvmeCommand { Opcode = 0x7E, Cid = i }));
        }

        AssertSuccess(h.AdminCommand(GetLog(cid: 0x100, h.Bus(NvmeHarness.DataOffset), dwords: 1024)));

        Assert.Equal(70UL, h.Controller.ErrorCount);
        for (int i = 0; i < 64; i++)
        {
            NvmeErrorLogEntry entry = ram.Read<NvmeErrorLogEntry>(NvmeHarness.DataOffset + ((ulong)i * 64));
            Assert.Equal((ulong)(70 - i), entry.ErrorCount);
            Assert.Equal(70 - i, entry.Cid);
        }
    }

    /// <summary>Get Log Page for the Error Information log: NUMDL/NUMDU from the 1-based dword count.</summary>
    private static NvmeCommand GetLog(ushort cid, ulong prp1, uint dwords, ulong prp2 = 0, ulong offset = 0) => new()
    {
        Opcode = OpGetLogPage,
        Cid = cid,
        Prp1 = prp1,
        Prp2 = prp2,
        Cdw10 = 0x01u | (((dwords - 1) & 0xFFFF) << 16),
        Cdw11 = (dwords - 1) >> 16,
        Cdw12 = unchecked((uint)offset),
        Cdw13 = (uint)(offset >> 32),
    };
}
