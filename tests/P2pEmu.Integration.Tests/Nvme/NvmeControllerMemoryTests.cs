using System;
using P2pEmu.Emulator.Devices.Nvme;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Memory;
using P2pEmu.Emulator.Pci;
using P2pEmu.Emulator.Topology;
using P2pEmu.Iommu.Hardware;
using P2pEmu.Testing;
using Xunit;
using static P2pEmu.Integration.Tests.Nvme.NvmeAdminTests;

namespace P2pEmu.Integration.Tests.Nvme;

/// <summary>
/// The controller memory space (CMBMSC.CRE and CMSE set): addresses in [CBA, CBA + CMB size) are the controller's own
/// CMB, reached internally — never a memory transaction, so an IOMMU that maps only RAM does not see them — and the
/// CMB rules of what the controller advertises (SQS, RDS, WDS; no CQS, no LISTS).
/// </summary>
public sealed class NvmeControllerMemoryTests
{
    private const byte OpWrite = 0x01;
    private const byte OpRead = 0x02;
    private const ushort DataTransferError = 0x004;
    private const ushort InvalidUseOfCmb = 0x012;
    private const ulong CmbBytes = Topo.MiB;

    /// <summary>A controller with a 1 MiB CMB behind a translating IOMMU that maps only the first 16 MiB of RAM.</summary>
    private static (NvmeHarness H, IommuUnit Iommu, PciBar Cmb) Build()
    {
        var h = new NvmeHarness(CmbBytes, IommuMode.Translate, Topo.MiB);
        IommuUnit iommu = h.InstallIommu(16 * Topo.MiB);
        PciBar cmb = h.Endpoint.GetBar(2)!;
        return (h, iommu, cmb);
    }

    private static void EnableControllerMemorySpace(NvmeHarness h, PciBar cmb) => h.Write64(0x50, 3 | cmb.Address); // CRE, CMSE, CBA

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

    private static NvmeCompletion CreateSq(NvmeHarness h, ushort qid, ulong address, uint entries, ushort cqid) => h.AdminCommand(new NvmeCommand
    {
        Opcode = 0x01,
        Prp1 = address,
        Cdw10 = qid | ((entries - 1) << 16),
        Cdw11 = 1u | ((uint)cqid << 16),
    });

    private static NvmeCompletion CreateCq(NvmeHarness h, ushort qid, ulong address, uint entries) => h.AdminCommand(new NvmeCommand
    {
        Opcode = 0x05,
        Prp1 = address,
        Cdw10 = qid | ((entries - 1) << 16),
        Cdw11 = 1,
    });

    private static byte[] RandomBytes(int length, int seed)
    {
        byte[] bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    [Fact]
    public void Cmbloc_AdvertisesMixedDataPointerLocations_AndNothingElse()
    {
        using var h = new NvmeHarness(CmbBytes, Topo.MiB);
        h.Write64(0x50, 1); // CRE

        uint cmbloc = h.Read32(NvmeRegister.Cmbloc);

        Assert.Equal(2u, cmbloc & 7); // BIR
        Assert.Equal(1u << 6, cmbloc & 0x1F8); // CDPMLS; no CQMMS, CQPDS, CDPCILS, CDMMMS, CQDA
        Assert.Equal(0u, cmbloc >> 12); // OFST
    }

    [Fact]
    public void SqInTheControllerMemorySpace_IsFetchedInternally_WhereAFabricFetchFaults()
    {
        (NvmeHarness h, IommuUnit iommu, PciBar cmb) = Build();
        using NvmeHarness owned = h;
        h.Enable();
        AssertSuccess(CreateCq(h, 1, h.Bus(NvmeHarness.IoCqOffset), 8));
        AssertSuccess(CreateSq(h, 1, cmb.Address, 8, 1));
        byte[] data = RandomBytes(4096, 1);
        data.CopyTo(h.Controller.Namespaces[0].Memory.GetSpan(0, 4096));
        cmb.Memory!.Write(0, ReadWrite(OpRead, 5, 0, 8, h.Bus(NvmeHarness.DataOffset), 0));
        var cq = new HostQueue(h, 1, 0, NvmeHarness.IoCqOffset, 8);

        // With CMSE clear the address is a host address: the fetch goes to the IOMMU, which has no mapping for it.
        h.Write64(0x50, 1);
        h.WriteDoorbell(2, 1);
        Assert.True(h.Controller.IsFatal);
        Assert.Equal(1, iommu.Faults.TotalCount);

        h.Disable();
        h.Enable();
        EnableControllerMemorySpace(h, cmb);
        AssertSuccess(CreateCq(h, 1, h.Bus(NvmeHarness.IoCqOffset), 8));
        AssertSuccess(CreateSq(h, 1, cmb.Address, 8, 1));
        long internalBytes = h.Controller.CmbInternalBytes;
        long peer = h.Fabric.BytesOnPath(RoutePath.RootComplexPeer);
        h.WriteDoorbell(2, 1);

        Assert.False(h.Controller.IsFatal);
        Assert.True(cq.TryPop(out NvmeCompletion read));
        AssertSuccess(read);
        Assert.Equal(5, read.Cid);
        Assert.True(h.Fabric.Ram.Region.GetSpan(NvmeHarness.DataOffset, 4096).SequenceEqual(data));
        Assert.Equal(64, h.Controller.CmbInternalBytes - internalBytes);
        Assert.Equal(peer, h.Fabric.BytesOnPath(RoutePath.RootComplexPeer));
        Assert.Equal(1, iommu.Faults.TotalCount);
    }

    [Fact]
    public void DataIntoAndOutOfTheControllerMemorySpace_MovesInternally_MixedWithHostMemoryInOneCommand()
    {
        (NvmeHarness h, IommuUnit iommu, PciBar cmb) = Build();
        using NvmeHarness owned = h;
        h.Enable();
        EnableControllerMemorySpace(h, cmb);
        HostQueue io = h.CreateIoQueuePair(1, 16);
        byte[] data = RandomBytes(8192, 2);
        data.CopyTo(h.Controller.Namespaces[0].Memory.GetSpan(0, data.Length));
        BarRegion ram = h.Fabric.Ram.Region;
        ram.Fill(NvmeHarness.DataOffset, 0x3000, 0xEE);

        // 8 KiB: PRP1 2 KiB into the CMB, then a PRP list in host memory naming a CMB page and a host page (CDPMLS).
        ram.Write(NvmeHarness.ListOffset, cmb.Address + 0x1000);
        ram.Write(NvmeHarness.ListOffset + 8, h.Bus(NvmeHarness.DataOffset + 0x1000));
        long internalBytes = h.Controller.CmbInternalBytes;
        long peer = h.Fabric.BytesOnPath(RoutePath.RootComplexPeer);
        AssertSuccess(io.Submit(ReadWrite(OpRead, 1, 0, 16, cmb.Address + 0x800, h.Bus(NvmeHarness.ListOffset))));

        Assert.True(cmb.Memory!.GetSpan(0x800, 0x1800).SequenceEqual(data.AsSpan(0, 0x1800)));
        Assert.True(ram.GetSpan(NvmeHarness.DataOffset + 0x1000, 0x800).SequenceEqual(data.AsSpan(0x1800, 0x800)));
        Assert.True(ram.GetSpan(NvmeHarness.DataOffset + 0x1800, 0x800).IndexOfAnyExcept((byte)0xEE) < 0);
        Assert.Equal(0x1800, h.Controller.CmbInternalBytes - internalBytes);

        // Write from the CMB to another LBA, read that back into host memory.
        AssertSuccess(io.Submit(ReadWrite(OpWrite, 2, 64, 8, cmb.Address + 0x1000, 0)));
        AssertSuccess(io.Submit(ReadWrite(OpRead, 3, 64, 8, h.Bus(NvmeHarness.DataOffset), 0)));

        Assert.True(ram.GetSpan(NvmeHarness.DataOffset, 4096).SequenceEqual(data.AsSpan(0x800, 0x1000)));
        Assert.Equal(0x1800 + 4096, h.Controller.CmbInternalBytes - internalBytes);
        Assert.Equal(peer, h.Fabric.BytesOnPath(RoutePath.RootComplexPeer));
        Assert.Equal(0, iommu.Faults.TotalCount);
    }

    [Fact]
    public void PrpListInTheControllerMemorySpace_IsInvalidUseOfCmb_ButAHostAddressWhileCmseIsClear()
    {
        using var h = new NvmeHarness(CmbBytes, Topo.MiB);
        h.Enable();
        HostQueue io = h.CreateIoQueuePair(1, 16);
        PciBar cmb = h.Endpoint.GetBar(2)!;
        cmb.Memory!.Write(0x100, h.Bus(NvmeHarness.DataOffset + 0x1000));
        cmb.Memory.Write(0x108, h.Bus(NvmeHarness.DataOffset + 0x2000));
        NvmeCommand read = ReadWrite(OpRead, 1, 0, 24, h.Bus(NvmeHarness.DataOffset), cmb.Address + 0x100);

        h.Write64(0x50, 1); // CRE only
        AssertSuccess(io.Submit(read));
        EnableControllerMemorySpace(h, cmb);
        NvmeCompletion inCmb = io.Submit(read);

        AssertStatus(InvalidUseOfCmb, inCmb);
        Assert.NotEqual(0, inCmb.StatusPhase & 0x8000); // DNR
    }

    [Fact]
    public void DataBufferAcrossTheEdgeOfTheControllerMemorySpace_IsInvalidUseOfCmb_AndNothingMoves()
    {
        using var h = new NvmeHarness(CmbBytes, Topo.MiB);
        h.Enable();
        HostQueue io = h.CreateIoQueuePair(1, 16);
        PciBar cmb = h.Endpoint.GetBar(2)!;
        EnableControllerMemorySpace(h, cmb);
        cmb.Memory!.Fill(0, CmbBytes, 0xEE);
        RandomBytes(1024, 3).CopyTo(h.Controller.Namespaces[0].Memory.GetSpan(0, 1024));
        (ulong prp1, ulong prp2) = NvmeSglDescriptor.DataBlock(cmb.Address + CmbBytes - 512, 1024).AsDataPointer;

        NvmeCompletion read = io.Submit(new NvmeCommand { Opcode = OpRead, Flags = 0x40, Cid = 1, Nsid = 1, Prp1 = prp1, Prp2 = prp2, Cdw12 = 1 });

        AssertStatus(InvalidUseOfCmb, read);
        Assert.True(cmb.Memory.GetSpan(CmbBytes - 512, 512).IndexOfAnyExcept((byte)0xEE) < 0);
        Assert.Equal(0, h.Controller.CmbInternalBytes);
    }

    [Fact]
    public void QueuesAndTheControllerMemorySpace_SqInside_CqNowhere_NothingAcrossTheEdge()
    {
        using var h = new NvmeHarness(CmbBytes, Topo.MiB);
        h.Enable();
        PciBar cmb = h.Endpoint.GetBar(2)!;
        EnableControllerMemorySpace(h, cmb);

        AssertStatus(InvalidUseOfCmb, CreateCq(h, 1, cmb.Address, 16));
        AssertSuccess(CreateCq(h, 1, h.Bus(NvmeHarness.IoCqOffset), 16));
        AssertStatus(InvalidUseOfCmb, CreateSq(h, 1, cmb.Address + CmbBytes - 4096, 128, 1)); // 8 KiB from the last page
        AssertStatus(InvalidUseOfCmb, CreateSq(h, 1, cmb.Address - 4096, 128, 1));
        AssertSuccess(CreateSq(h, 1, cmb.Address + CmbBytes - 8192, 128, 1));
    }

    [Fact]
    public void AdminSqInTheControllerMemorySpace_Works_AdminCqThereIsAFatalConfiguration()
    {
        using var h = new NvmeHarness(CmbBytes, Topo.MiB);
        PciBar cmb = h.Endpoint.GetBar(2)!;
        EnableControllerMemorySpace(h, cmb);
        h.Enable(asqBus: cmb.Address);
        NvmeCommand identify = new() { Opcode = 0x06, Cid = 7, Prp1 = h.Bus(NvmeHarness.DataOffset), Cdw10 = 1 };
        cmb.Memory!.Write(0, identify);
        h.WriteDoorbell(0, 1);

        Assert.True(h.Admin!.TryPop(out NvmeCompletion done));
        AssertSuccess(done);
        Assert.Equal(7, done.Cid);
        Assert.Equal(h.Controller.VendorId, h.Fabric.Ram.Region.Read<ushort>(NvmeHarness.DataOffset));

        h.Disable();
        h.Write64((uint)NvmeRegister.Acq, cmb.Address + 0x1000);
        h.Write32(NvmeRegister.Cc, 1u | (6u << 16) | (4u << 20));

        Assert.True(h.Controller.IsFatal);
        Assert.False(h.Controller.IsReady);
    }

    [Fact]
    public void DataTransferToAHole_StillFailsOverTheFabric_WithCmseSet()
    {
        using var h = new NvmeHarness(CmbBytes, Topo.MiB);
        h.Enable();
        HostQueue io = h.CreateIoQueuePair(1, 16);
        EnableControllerMemorySpace(h, h.Endpoint.GetBar(2)!);

        AssertStatus(DataTransferError, io.Submit(ReadWrite(OpRead, 1, 0, 1, NvmeHarness.HoleAddress, 0)));
    }
}
