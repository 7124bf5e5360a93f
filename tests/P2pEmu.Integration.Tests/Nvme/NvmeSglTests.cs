using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using P2pEmu.Emulator.Devices.Nvme;
using P2pEmu.Emulator.Memory;
using P2pEmu.Emulator.Pci;
using P2pEmu.Testing;
using Xunit;
using static P2pEmu.Integration.Tests.Nvme.NvmeAdminTests;

namespace P2pEmu.Integration.Tests.Nvme;

public sealed class NvmeSglTests
{
    private const byte OpWrite = 0x01;
    private const byte OpRead = 0x02;
    private const byte OpDatasetManagement = 0x09;
    private const byte PsdtSglContiguousMetadata = 0x40;
    private const byte PsdtSglMetadataSgl = 0x80;
    private const byte PsdtReserved = 0xC0;
    private const ushort InvalidField = 0x002;
    private const ushort DataTransferError = 0x004;
    private const ushort InvalidSglSegmentDescriptor = 0x00D;
    private const ushort InvalidSglDescriptorCount = 0x00E;
    private const ushort DataSglLengthInvalid = 0x00F;
    private const ushort SglDescriptorTypeInvalid = 0x011;
    private const ushort InvalidUseOfCmb = 0x012;
    private const ushort SglDataBlockGranularityInvalid = 0x01E;
    private const ulong SegmentA = NvmeHarness.ListOffset;
    private const ulong SegmentB = NvmeHarness.ListOffset + 0x1000;
    private const ulong SegmentC = NvmeHarness.ListOffset + 0x2000;

    [Fact]
    public void NvmeSglDescriptor_IsSixteenBytes_WithFieldsAtTheirSpecOffsets_AndRoundTripsThroughTheDataPointer()
    {
        NvmeSglDescriptor descriptor = NvmeSglDescriptor.Create(NvmeSglDescriptorType.LastSegment, 0x1122_3344_5566_7788, 0x99AA_BBCC, subType: 0xD);
        descriptor.Reserved13 = 0x5A;
        byte[] bytes = new byte[16];
        System.Runtime.InteropServices.MemoryMarshal.Write(bytes, in descriptor);
        (ulong prp1, ulong prp2) = descriptor.AsDataPointer;

        Assert.Equal(16, Unsafe.SizeOf<NvmeSglDescriptor>());
        Assert.Equal(0x1122_3344_5566_7788UL, BitConverter.ToUInt64(bytes, 0));
        Assert.Equal(0x99AA_BBCCu, BitConverter.ToUInt32(bytes, 8));
        Assert.Equal(0x5A, bytes[13]);
        Assert.Equal(0x3D, bytes[15]); // type 3h in bits 7:4, sub type Dh in 3:0
        Assert.Equal(BitConverter.ToUInt64(bytes, 0), prp1);
        Assert.Equal(BitConverter.ToUInt64(bytes, 8), prp2);
        NvmeSglDescriptor back = NvmeSglDescriptor.FromDataPointer(prp1, prp2);
        Assert.Equal(NvmeSglDescriptorType.LastSegment, back.Type);
        Assert.Equal(0xD, back.SubType);
        Assert.Equal(descriptor, back);
    }

    [Fact]
    public void Identify_AdvertisesSglsWithBitBucket_ByteOrDwordGranularity()
    {
        using var h = new NvmeHarness(0, Topo.MiB);
        h.Enable();
        Span<byte> data = h.Fabric.Ram.Region.GetSpan(NvmeHarness.DataOffset, 4096);

        AssertSuccess(h.AdminCommand(new NvmeCommand { Opcode = 0x06, Prp1 = h.Bus(NvmeHarness.DataOffset), Cdw10 = 1 }));
        uint byteGranular = BinaryPrimitives.ReadUInt32LittleEndian(data[536..]);
        h.Controller.SglDwordGranularity = true;
        AssertSuccess(h.AdminCommand(new NvmeCommand { Opcode = 0x06, Prp1 = h.Bus(NvmeHarness.DataOffset), Cdw10 = 1 }));
        uint dwordGranular = BinaryPrimitives.ReadUInt32LittleEndian(data[536..]);

        Assert.Equal(0b01u, byteGranular & 3); // supported, no alignment or granularity requirement
        Assert.Equal(0b10u, dwordGranular & 3); // supported, dword alignment and granularity
        Assert.Equal(1u << 16, byteGranular & (1u << 16)); // Bit Bucket descriptor supported
        Assert.Equal(0u, byteGranular & ((1u << 2) | (1u << 18) | (1u << 20))); // no keyed SGLs, no excess length, no offsets
    }

    [Fact]
    public void WriteThenRead_ThroughSegmentChainsAtOddOffsets_RoundTripsRandomData_AndTouchesNothingElse()
    {
        using var h = new NvmeHarness(0, Topo.MiB);
        h.Enable();
        HostQueue io = h.CreateIoQueuePair(1, 16);
        BarRegion ram = h.Fabric.Ram.Region;
        byte[] data = RandomBytes(40 * 512, seed: 11);

        // Write: SGL1 = Segment → A: three data blocks and a Last Segment → B: an empty block and two data blocks.
        (ulong Offset, int Length)[] writePieces =
        [
            (NvmeHarness.DataOffset + 0x0003, 1001), (NvmeHarness.DataOffset + 0x5001, 7000), (NvmeHarness.DataOffset + 0x9FFF, 4095),
            (NvmeHarness.DataOffset + 0xC011, 5000), (NvmeHarness.DataOffset + 0xF00D, 3384),
        ];
        Scatter(ram, data, writePieces);
        WriteSegment(ram, SegmentA, Block(h, writePieces[0]), Block(h, writePieces[1]), Block(h, writePieces[2]), NvmeSglDescriptor.LastSegment(h.Bus(SegmentB), 3));
        WriteSegment(ram, SegmentB, NvmeSglDescriptor.DataBlock(NvmeHarness.HoleAddress, 0), Block(h, writePieces[3]), Block(h, writePieces[4]));
        NvmeCompletion write = io.Submit(Sgl(OpWrite, 1, slba: 7, blocks: 40, NvmeSglDescriptor.Segment(h.Bus(SegmentA), 4), PsdtSglContiguousMetadata));

        // Read: SGL1 = Segment → C (two blocks, Segment) → D... three segments deep, other odd buffers.
        const ulong ReadArea = NvmeHarness.DataOffset + 0x8_0000;
        (ulong Offset, int Length)[] readPieces =
        [
            (ReadArea + 0x0001, 4097), (ReadArea + 0x3333, 3), (ReadArea + 0x4000, 8000), (ReadArea + 0x7FFF, 513), (ReadArea + 0xA005, 7867),
        ];
        ram.Fill(ReadArea, 0x1_0000, 0xEE);
        WriteSegment(ram, SegmentC, Block(h, readPieces[0]), Block(h, readPieces[1]), NvmeSglDescriptor.Segment(h.Bus(SegmentC + 0x100), 2));
        WriteSegment(ram, SegmentC + 0x100, Block(h, readPieces[2]), NvmeSglDescriptor.LastSegment(h.Bus(SegmentC + 0x800), 2));
        WriteSegment(ram, SegmentC + 0x800, Block(h, readPieces[3]), Block(h, readPieces[4]));
        byte[] before = ram.GetSpan(ReadArea, 0x1_0000).ToArray();
        NvmeCompletion read = io.Submit(Sgl(OpRead, 2, slba: 7, blocks: 40, NvmeSglDescriptor.Segment(h.Bus(SegmentC), 3), PsdtSglMetadataSgl));

        AssertSuccess(write);
        AssertSuccess(read);
        Assert.Equal(SHA256.HashData(data), SHA256.HashData(h.Controller.Namespaces[0].Memory.GetSpan(7 * 512, data.Length)));
        Assert.Equal(SHA256.HashData(data), SHA256.HashData(Gather(ram, readPieces)));
        byte[] expected = before;
        int at = 0;
        foreach ((ulong offset, int length) in readPieces)
        {
            data.AsSpan(at, length).CopyTo(expected.AsSpan((int)(offset - ReadArea)));
            at += length;
        }

        Assert.True(ram.GetSpan(ReadArea, 0x1_0000).SequenceEqual(expected)); // every byte outside the pieces kept 0xEE
    }

    [Fact]
    public void Read_OneLastSegmentIntoAPeerBarAndHostRam_LandsInBoth()
    {
        using var h = new NvmeHarness(0, Topo.MiB);
        h.Enable();
        HostQueue io = h.CreateIoQueuePair(1, 16);
        BarRegion ram = h.Fabric.Ram.Region;
        PciBar peer = ((PciEndpoint)h.Fabric["peer"]).GetBar(0)!;
        byte[] data = RandomBytes(1024, seed: 12);
        data.CopyTo(h.Controller.Namespaces[0].Memory.GetSpan(512 * 30, 1024));
        WriteSegment(ram, SegmentA, NvmeSglDescriptor.DataBlock(peer.Address + 0x1235, 700), Block(h, (NvmeHarness.DataOffset + 0x77, 324)));

        NvmeCompletion read = io.Submit(Sgl(OpRead, 3, slba: 30, blocks: 2, NvmeSglDescriptor.LastSegment(h.Bus(SegmentA), 2)));

        AssertSuccess(read);
        Assert.True(peer.Memory!.GetSpan(0x1235, 700).SequenceEqual(data.AsSpan(0, 700)));
        Assert.True(ram.GetSpan(NvmeHarness.DataOffset + 0x77, 324).SequenceEqual(data.AsSpan(700)));
    }

    [Fact]
    public void WriteThenRead_Sgl1IsOneDataBlockAtAnOddAddress_RoundTrips()
    {
        using var h = new NvmeHarness(0, Topo.MiB);
        h.Enable();
        HostQueue io = h.CreateIoQueuePair(1, 16);
        BarRegion ram = h.Fabric.Ram.Region;
        byte[] data = RandomBytes(3 * 512, seed: 13);
        data.CopyTo(ram.GetSpan(NvmeHarness.DataOffset + 0xFFF, data.Length));

        NvmeCompletion write = io.Submit(Sgl(OpWrite, 1, slba: 100, blocks: 3, Block(h, (NvmeHarness.DataOffset + 0xFFF, data.Length))));
        NvmeCompletion read = io.Submit(Sgl(OpRead, 2, slba: 100, blocks: 3, Block(h, (NvmeHarness.DataOffset + 0x2_0001, data.Length))));

        AssertSuccess(write);
        AssertSuccess(read);
        Assert.True(h.Controller.Namespaces[0].Memory.GetSpan(100 * 512, data.Length).SequenceEqual(data));
        Assert.True(ram.GetSpan(NvmeHarness.DataOffset + 0x2_0001, data.Length).SequenceEqual(data));
    }

    [Fact]
    public void Read_WithBitBuckets_DiscardsThoseBytes_AndPlacesTheRestInOrder()
    {
        using var h = new NvmeHarness(0, Topo.MiB);
        h.Enable();
        HostQueue io = h.CreateIoQueuePair(1, 16);
        BarRegion ram = h.Fabric.Ram.Region;
        byte[] data = RandomBytes(4096, seed: 14);
        data.CopyTo(h.Controller.Namespaces[0].Memory.GetSpan(0, data.Length));
        ram.Fill(NvmeHarness.DataOffset, 0x2000, 0xEE);
        WriteSegment(
            ram,
            SegmentA,
            NvmeSglDescriptor.BitBucket(100),
            Block(h, (NvmeHarness.DataOffset + 1, 1000)),
            NvmeSglDescriptor.BitBucket(2000),
            Block(h, (NvmeHarness.DataOffset + 0x1001, 996)));

        NvmeCompletion read = io.Submit(Sgl(OpRead, 4, slba: 0, blocks: 8, NvmeSglDescriptor.LastSegment(h.Bus(SegmentA), 4)));

        AssertSuccess(read);
        Assert.True(ram.GetSpan(NvmeHarness.DataOffset + 1, 1000).SequenceEqual(data.AsSpan(100, 1000)));
        Assert.True(ram.GetSpan(NvmeHarness.DataOffset + 0x1001, 996).SequenceEqual(data.AsSpan(3100, 996)));
        Assert.Equal(0xEE, ram.Read<byte>(NvmeHarness.DataOffset));
        Assert.True(ram.GetSpan(NvmeHarness.DataOffset + 1001, 0x1001 - 1001).IndexOfAnyExcept((byte)0xEE) < 0);
        Assert.True(ram.GetSpan(NvmeHarness.DataOffset + 0x1001 + 996, 0x1000 - 0x1 - 996).IndexOfAnyExcept((byte)0xEE) < 0);
    }

    [Fact]
    public void DatasetManagement_RangesThroughAnSgl_Deallocate()
    {
        using var h = new NvmeHarness(0, Topo.MiB);
        h.Enable();
        HostQueue io = h.CreateIoQueuePair(1, 16);
        BarRegion ram = h.Fabric.Ram.Region;
        BarRegion media = h.Controller.Namespaces[0].Memory;
        media.Fill(0, 64 * 512, 0xA5);
        ram.Write(NvmeHarness.DataOffset + 3, new NvmeDsmRange { LengthInBlocks = 4, StartingLba = 8 });
        (ulong prp1, ulong prp2) = Block(h, (NvmeHarness.DataOffset + 3, 16)).AsDataPointer;

        NvmeCompletion dsm = io.Submit(new NvmeCommand { Opcode = OpDatasetManagement, Flags = PsdtSglContiguousMetadata, Cid = 5, Nsid = 1, Prp1 = prp1, Prp2 = prp2, Cdw11 = 1 << 2 });

        AssertSuccess(dsm);
        Assert.True(media.GetSpan(8 * 512, 4 * 512).IndexOfAnyExcept((byte)0) < 0);
        Assert.Equal(0xA5, media.Read<byte>((8 * 512) - 1));
        Assert.Equal(0xA5, media.Read<byte>(12 * 512));
    }

    [Fact]
    public void ReservedPsdt_IsInvalidField_LoggedAtCommandByte1Bit6()
    {
        using var h = new NvmeHarness(0, Topo.MiB);
        h.Enable();
        HostQueue io = h.CreateIoQueuePair(1, 16);

        AssertStatus(InvalidField, io.Submit(Sgl(OpRead, 9, 0, 1, Block(h, (NvmeHarness.DataOffset, 512)), PsdtReserved)));

        NvmeErrorLogEntry entry = h.NewestError();
        Assert.Equal(9, entry.Cid);
        Assert.Equal(InvalidField, (entry.StatusField >> 1) & 0x7FF);
        Assert.Equal(0x0601, entry.ParameterErrorLocation);
    }

    [Fact]
    public void AdminCommandWithSgl_IsInvalidField_AndNothingIsTransferred()
    {
        using var h = new NvmeHarness(0, Topo.MiB);
        h.Enable();
        BarRegion ram = h.Fabric.Ram.Region;
        ram.Fill(NvmeHarness.DataOffset, 4096, 0xEE);
        (ulong prp1, ulong prp2) = Block(h, (NvmeHarness.DataOffset, 4096)).AsDataPointer;

        NvmeCompletion identify = h.AdminCommand(new NvmeCommand { Opcode = 0x06, Flags = PsdtSglContiguousMetadata, Prp1 = prp1, Prp2 = prp2, Cdw10 = 1 });

        AssertStatus(InvalidField, identify);
        Assert.True(ram.GetSpan(NvmeHarness.DataOffset, 4096).IndexOfAnyExcept((byte)0xEE) < 0);
    }

    [Theory]
    [InlineData(511)] // one byte short
    [InlineData(513)] // one byte too many (SGLS bit 18 is clear)
    public void Sgl1DataBlockOfTheWrongLength_IsDataSglLengthInvalid_LoggedAtTheDataPointer(uint length)
    {
        using var h = new NvmeHarness(0, Topo.MiB);
        h.Enable();
        HostQueue io = h.CreateIoQueuePair(1, 16);

        AssertStatus(DataSglLengthInvalid, io.Submit(Sgl(OpRead, 1, 0, 1, NvmeSglDescriptor.DataBlock(h.Bus(NvmeHarness.DataOffset), length))));

        NvmeErrorLogEntry entry = h.NewestError();
        Assert.Equal(DataSglLengthInvalid, (entry.StatusField >> 1) & 0x7FF);
        Assert.Equal(0x8000, entry.StatusField & 0x8000); // DNR
        Assert.Equal(24, entry.ParameterErrorLocation);
    }

    [Fact]
    public void SegmentsDescribingTooFewOrTooManyBytes_AreDataSglLengthInvalid_LoggedWithoutALocation()
    {
        using var h = new NvmeHarness(0, Topo.MiB);
        h.Enable();
        HostQueue io = h.CreateIoQueuePair(1, 16);
        BarRegion ram = h.Fabric.Ram.Region;
        WriteSegment(ram, SegmentA, Block(h, (NvmeHarness.DataOffset, 512)), Block(h, (NvmeHarness.DataOffset + 0x1000, 511)));
        WriteSegment(ram, SegmentB, Block(h, (NvmeHarness.DataOffset, 512)), Block(h, (NvmeHarness.DataOffset + 0x1000, 513)));

        AssertStatus(DataSglLengthInvalid, io.Submit(Sgl(OpRead, 1, 0, 2, NvmeSglDescriptor.LastSegment(h.Bus(SegmentA), 2))));
        AssertStatus(DataSglLengthInvalid, io.Submit(Sgl(OpWrite, 2, 0, 2, NvmeSglDescriptor.LastSegment(h.Bus(SegmentB), 2))));

        Assert.Equal(0xFFFF, h.NewestError().ParameterErrorLocation);
    }

    [Theory]
    [InlineData(0u)]
    [InlineData(24u)] // not a multiple of 16
    public void Sgl1SegmentOfABadLength_IsInvalidSglSegmentDescriptor(uint length)
    {
        using var h = new NvmeHarness(0, Topo.MiB);
        h.Enable();
        HostQueue io = h.CreateIoQueuePair(1, 16);
        WriteSegment(h.Fabric.Ram.Region, SegmentA, Block(h, (NvmeHarness.DataOffset, 512)), Block(h, (NvmeHarness.DataOffset + 0x1000, 512)));

        NvmeSglDescriptor segment = NvmeSglDescriptor.Create(NvmeSglDescriptorType.Segment, h.Bus(SegmentA), length);
        AssertStatus(InvalidSglSegmentDescriptor, io.Submit(Sgl(OpRead, 1, 0, 2, segment)));
        Assert.Equal(24, h.NewestError().ParameterErrorLocation);
    }

    [Fact]
    public void LastSegmentEndingInASegmentDescriptor_IsInvalidSglSegmentDescriptor()
    {
        using var h = new NvmeHarness(0, Topo.MiB);
        h.Enable();
        HostQueue io = h.CreateIoQueuePair(1, 16);
        BarRegion ram = h.Fabric.Ram.Region;
        WriteSegment(ram, SegmentA, Block(h, (NvmeHarness.DataOffset, 256)), NvmeSglDescriptor.LastSegment(h.Bus(SegmentB), 1));
        WriteSegment(ram, SegmentB, Block(h, (NvmeHarness.DataOffset + 0x1000, 256)));

        AssertStatus(InvalidSglSegmentDescriptor, io.Submit(Sgl(OpRead, 1, 0, 1, NvmeSglDescriptor.LastSegment(h.Bus(SegmentA), 2))));
        AssertSuccess(io.Submit(Sgl(OpRead, 2, 0, 1, NvmeSglDescriptor.Segment(h.Bus(SegmentA), 2)))); // the same chain from a Segment
    }

    [Fact]
    public void SegmentDescriptorBeforeTheEndOfItsSegment_IsInvalidNumberOfSglDescriptors()
    {
        using var h = new NvmeHarness(0, Topo.MiB);
        h.Enable();
        HostQueue io = h.CreateIoQueuePair(1, 16);
        BarRegion ram = h.Fabric.Ram.Region;
        WriteSegment(ram, SegmentA, NvmeSglDescriptor.LastSegment(h.Bus(SegmentB), 1), Block(h, (NvmeHarness.DataOffset, 256)));
        WriteSegment(ram, SegmentB, Block(h, (NvmeHarness.DataOffset + 0x1000, 256)));

        AssertStatus(InvalidSglDescriptorCount, io.Submit(Sgl(OpRead, 1, 0, 1, NvmeSglDescriptor.Segment(h.Bus(SegmentA), 2))));
    }

    [Fact]
    public void SegmentThatPointsToItself_EndsAtTheDescriptorLimit_WithInvalidNumberOfSglDescriptors()
    {
        using var h = new NvmeHarness(0, Topo.MiB);
        h.Enable();
        HostQueue io = h.CreateIoQueuePair(1, 16);
        var loop = new NvmeSglDescriptor[256];
        for (int i = 0; i < 255; i++)
        {
            loop[i] = NvmeSglDescriptor.DataBlock(h.Bus(NvmeHarness.DataOffset), 0);
        }

        loop[255] = NvmeSglDescriptor.Segment(h.Bus(SegmentA), 256);
        WriteSegment(h.Fabric.Ram.Region, SegmentA, loop);

        AssertStatus(InvalidSglDescriptorCount, io.Submit(Sgl(OpRead, 1, 0, 1, loop[255])));
        Assert.True(h.Controller.IsReady);
        Assert.False(h.Controller.IsFatal);
    }

    [Fact]
    public void UnsupportedDescriptorTypesAndSubTypes_AreSglDescriptorTypeInvalid()
    {
        using var h = new NvmeHarness(0, Topo.MiB);
        h.Enable();
        HostQueue io = h.CreateIoQueuePair(1, 16);
        BarRegion ram = h.Fabric.Ram.Region;
        ulong buffer = h.Bus(NvmeHarness.DataOffset);
        WriteSegment(ram, SegmentA, NvmeSglDescriptor.Create(NvmeSglDescriptorType.KeyedDataBlock, buffer, 512));
        WriteSegment(ram, SegmentB, Block(h, (NvmeHarness.DataOffset, 256)), NvmeSglDescriptor.BitBucket(256));

        AssertStatus(SglDescriptorTypeInvalid, io.Submit(Sgl(OpRead, 1, 0, 1, NvmeSglDescriptor.Create(NvmeSglDescriptorType.TransportDataBlock, buffer, 512))));
        AssertStatus(SglDescriptorTypeInvalid, io.Submit(Sgl(OpRead, 2, 0, 1, NvmeSglDescriptor.Create(NvmeSglDescriptorType.VendorSpecific, buffer, 512))));
        AssertStatus(SglDescriptorTypeInvalid, io.Submit(Sgl(OpRead, 3, 0, 1, NvmeSglDescriptor.Create(NvmeSglDescriptorType.DataBlock, buffer, 512, subType: 1))));
        AssertStatus(SglDescriptorTypeInvalid, io.Submit(Sgl(OpRead, 4, 0, 1, NvmeSglDescriptor.LastSegment(h.Bus(SegmentA), 1))));
        AssertStatus(SglDescriptorTypeInvalid, io.Submit(Sgl(OpWrite, 5, 0, 1, NvmeSglDescriptor.LastSegment(h.Bus(SegmentB), 2)))); // Bit Bucket: reads only
        AssertSuccess(io.Submit(Sgl(OpRead, 6, 0, 1, NvmeSglDescriptor.LastSegment(h.Bus(SegmentB), 2))));
    }

    [Fact]
    public void SegmentInTheControllerMemorySpace_IsInvalidUseOfCmb_ButIsHostMemoryWhileCmseIsClear()
    {
        using var h = new NvmeHarness(Topo.MiB, Topo.MiB);
        h.Enable();
        HostQueue io = h.CreateIoQueuePair(1, 16);
        PciBar cmb = h.Endpoint.GetBar(2)!;
        byte[] data = RandomBytes(512, seed: 15);
        data.CopyTo(h.Controller.Namespaces[0].Memory.GetSpan(0, 512));
        cmb.Memory!.Write(0x100, Block(h, (NvmeHarness.DataOffset + 5, 512)));
        NvmeCommand read = Sgl(OpRead, 1, 0, 1, NvmeSglDescriptor.LastSegment(cmb.Address + 0x100, 1));

        h.Write64(0x50, 1); // CMBMSC.CRE
        NvmeCompletion asHostMemory = io.Submit(read);
        h.Write64(0x50, 3 | cmb.Address); // CRE, CMSE, CBA = where the BAR is
        NvmeCompletion inCmb = io.Submit(read);

        AssertSuccess(asHostMemory);
        Assert.True(h.Fabric.Ram.Region.GetSpan(NvmeHarness.DataOffset + 5, 512).SequenceEqual(data));
        AssertStatus(InvalidUseOfCmb, inCmb);
    }

    [Fact]
    public void DwordGranularity_RejectsOddAddressesAndLengths_AcceptsAlignedOnes()
    {
        using var h = new NvmeHarness(0, Topo.MiB);
        h.Enable();
        HostQueue io = h.CreateIoQueuePair(1, 16);
        BarRegion ram = h.Fabric.Ram.Region;
        h.Controller.SglDwordGranularity = true;
        WriteSegment(ram, SegmentA, Block(h, (NvmeHarness.DataOffset, 510)), Block(h, (NvmeHarness.DataOffset + 0x1000, 2)));
        WriteSegment(ram, SegmentB, Block(h, (NvmeHarness.DataOffset, 508)), Block(h, (NvmeHarness.DataOffset + 0x1004, 4)));

        AssertStatus(SglDataBlockGranularityInvalid, io.Submit(Sgl(OpRead, 1, 0, 1, Block(h, (NvmeHarness.DataOffset + 2, 512)))));
        AssertStatus(SglDataBlockGranularityInvalid, io.Submit(Sgl(OpRead, 2, 0, 1, NvmeSglDescriptor.LastSegment(h.Bus(SegmentA), 2))));
        AssertSuccess(io.Submit(Sgl(OpRead, 3, 0, 1, NvmeSglDescriptor.LastSegment(h.Bus(SegmentB), 2))));
        h.Controller.SglDwordGranularity = false;
        AssertSuccess(io.Submit(Sgl(OpRead, 4, 0, 1, Block(h, (NvmeHarness.DataOffset + 2, 512)))));
    }

    [Fact]
    public void SegmentFetchInAHole_IsDataTransferErrorWithoutDnr_AndTheControllerStaysUp()
    {
        using var h = new NvmeHarness(0, Topo.MiB);
        h.Enable();
        HostQueue io = h.CreateIoQueuePair(1, 16);

        NvmeCompletion read = io.Submit(Sgl(OpRead, 1, 0, 1, NvmeSglDescriptor.Segment(NvmeHarness.HoleAddress, 2)));

        AssertStatus(DataTransferError, read);
        Assert.False(read.DoNotRetry);
        Assert.False(h.Controller.IsFatal);
        Assert.True(h.Controller.IsReady);
        Assert.Equal(DataTransferError, (h.NewestError().StatusField >> 1) & 0x7FF);
    }

    [Fact]
    public void SecondSegmentFaultsInTheIommu_IsDataTransferError_AndNoDataMoves()
    {
        using var h = new NvmeHarness(0, Topo.MiB);
        h.Enable();
        HostQueue io = h.CreateIoQueuePair(1, 16);
        BarRegion ram = h.Fabric.Ram.Region;
        ulong faulting = h.Bus(SegmentB);
        var iommu = new FaultingTranslator(faulting, faulting + 0x1000);
        h.Fabric.HostBridges[0].Translator = iommu;
        h.Controller.Namespaces[0].Memory.Fill(0, 1024, 0xA5);
        ram.Fill(NvmeHarness.DataOffset, 0x2000, 0xEE);
        WriteSegment(ram, SegmentA, Block(h, (NvmeHarness.DataOffset, 512)), NvmeSglDescriptor.LastSegment(faulting, 1));

        NvmeCompletion read = io.Submit(Sgl(OpRead, 1, 0, 2, NvmeSglDescriptor.Segment(h.Bus(SegmentA), 2)));

        AssertStatus(DataTransferError, read);
        Assert.Equal(1, iommu.FaultCount);
        Assert.True(ram.GetSpan(NvmeHarness.DataOffset, 0x2000).IndexOfAnyExcept((byte)0xEE) < 0); // the first segment's block stayed untouched
    }

    private static NvmeCommand Sgl(byte opcode, ushort cid, ulong slba, int blocks, NvmeSglDescriptor sgl1, byte psdt = PsdtSglContiguousMetadata)
    {
        (ulong prp1, ulong prp2) = sgl1.AsDataPointer;
        return new NvmeCommand
        {
            Opcode = opcode,
            Flags = psdt,
            Cid = cid,
            Nsid = 1,
            Prp1 = prp1,
            Prp2 = prp2,
            Cdw10 = unchecked((uint)slba),
            Cdw11 = (uint)(slba >> 32),
            Cdw12 = (uint)(blocks - 1),
        };
    }

    private static NvmeSglDescriptor Block(NvmeHarness h, (ulong Offset, int Length) piece) =>
        NvmeSglDescriptor.DataBlock(h.Bus(piece.Offset), (uint)piece.Length);

    private static void WriteSegment(BarRegion ram, ulong offset, params NvmeSglDescriptor[] descriptors)
    {
        for (int i = 0; i < descriptors.Length; i++)
        {
            ram.Write(offset + ((ulong)i * 16), descriptors[i]);
        }
    }

    private static void Scatter(BarRegion ram, byte[] data, IEnumerable<(ulong Offset, int Length)> pieces)
    {
        int at = 0;
        foreach ((ulong offset, int length) in pieces)
        {
            data.AsSpan(at, length).CopyTo(ram.GetSpan(offset, length));
            at += length;
        }
    }

    private static byte[] Gather(BarRegion ram, (ulong Offset, int Length)[] pieces)
    {
        var bytes = new List<byte>();
        foreach ((ulong offset, int length) in pieces)
        {
            bytes.AddRange(ram.GetSpan(offset, length).ToArray());
        }

        return bytes.ToArray();
    }

    private static byte[] RandomBytes(int length, int seed)
    {
        byte[] bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }
}
