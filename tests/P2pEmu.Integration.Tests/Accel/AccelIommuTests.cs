using System.IO.Hashing;
using System.Linq;
using P2pEmu.Emulator.Devices.Accel;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Topology;
using P2pEmu.Iommu.Hardware;
using Xunit;

namespace P2pEmu.Integration.Tests.Accel;

/// <summary>The copy engine behind a translating IOMMU: IOVAs for the ring and host buffers, faults for unmapped IOVAs.</summary>
public sealed class AccelIommuTests
{
    /// <summary>An IOVA nothing maps: far above RAM and outside the host bridge's windows.</summary>
    private const ulong Unmapped = 0x10_0000_0000;

    [Fact]
    public void Copy_ThroughIovas_HostToDeviceAndBack()
    {
        using var h = new AccelHarness(IommuMode.Translate);
        const int Length = 96 * 1024;
        byte[] data = AccelCopyEngineTests.Pattern(Length, 11);
        (ulong src, ulong srcIova) = h.Alloc(Length);
        (ulong dst, ulong dstIova) = h.Alloc(Length);
        h.CpuWrite(src, data);
        h.Enable();

        h.Submit(AccelHarness.Copy(srcIova, h.Bar1 + 0x8000, Length), AccelHarness.Copy(h.Bar1 + 0x8000, dstIova, Length));

        Assert.NotEqual(src, srcIova); // the IOMMU translates: the device sees IOVAs, not physical addresses
        Assert.Equal((uint)AccelDescriptorStatus.Done, h.ReadDescriptor(0).Status);
        Assert.Equal((uint)AccelDescriptorStatus.Done, h.ReadDescriptor(1).Status);
        Assert.Equal(XxHash3.HashToUInt64(data), XxHash3.HashToUInt64(h.CpuRead(dst, Length)));
        Assert.Empty(h.Machine.Iommus[0].Faults.Snapshot());
    }

    [Fact]
    public void Copy_ToPeerCmbByBusAddress_TurnsAroundInTheSwitch_NeverReachingTheIommu()
    {
        using var h = new AccelHarness(IommuMode.Translate);
        byte[] data = AccelCopyEngineTests.Pattern(64 * 1024, 12);
        h.CpuWrite(h.Bar1, data);
        h.Enable();

        h.Submit(AccelHarness.Copy(h.Bar1, h.Cmb, (uint)data.Length));

        Assert.Equal((uint)AccelDescriptorStatus.Done, h.Last.Status);
        Assert.Equal(data, h.CpuRead(h.Cmb, data.Length));
        Assert.Empty(h.Machine.Iommus[0].Faults.Snapshot());
    }

    [Fact]
    public void UnmappedDestinationIova_IsAWriteFault_Halts_LogsTheFault_AndWritesNothing()
    {
        using var h = new AccelHarness(IommuMode.Translate);
        const int Length = 8192;
        byte[] data = AccelCopyEngineTests.Pattern(Length, 13);
        byte[] guard = Enumerable.Repeat((byte)0xA5, Length).ToArray();
        (ulong src, ulong srcIova) = h.Alloc(Length);
        (ulong other, ulong otherIova) = h.Alloc(Length);
        h.CpuWrite(src, data);
        h.CpuWrite(other, guard);
        h.Enable();

        h.Submit(AccelHarness.Copy(srcIova, Unmapped, Length), AccelHarness.Copy(srcIova, otherIova, Length));

        AccelDescriptor failed = h.ReadDescriptor(0);
        Assert.Equal((uint)AccelDescriptorStatus.DmaWriteFault, failed.Status);
        Assert.Equal(0u, failed.BytesDone);
        Assert.Equal(0u, h.ReadDescriptor(1).Status); // the engine stopped: the next descriptor was never run
        Assert.True(h.Halted);
        Assert.False(h.Fatal);
        Assert.Equal((uint)AccelErrorCode.DmaWriteFault, h.Read32(AccelRegister.ErrCode));
        Assert.Equal(0u, h.Read32(AccelRegister.ErrIndex));
        Assert.Equal(Unmapped, h.Read64(AccelRegister.ErrAddr));
        Assert.Equal(0u, h.Read32(AccelRegister.RingHead));
        IommuFault fault = Assert.Single(h.Machine.Iommus[0].Faults.Snapshot());
        Assert.Equal(Unmapped, fault.Address.Value);
        Assert.Equal(AccessKind.Write, fault.Access);
        Assert.Equal(h.Gpu.Bdf, fault.Requester);
        Assert.Equal(guard, h.CpuRead(other, Length));
        Assert.Equal(data, h.CpuRead(src, Length));
        Assert.All(h.CpuRead(h.Bar1, 64 * 1024), b => Assert.Equal(0, b));
    }

    [Fact]
    public void UnmappedSourceIova_IntoDeviceMemory_IsAReadFault_AndLeavesTheMemoryAlone()
    {
        using var h = new AccelHarness(IommuMode.Translate);
        h.Enable();

        h.Submit(AccelHarness.Copy(Unmapped + 0x1000, h.Bar1, 4096));

        Assert.Equal((uint)AccelDescriptorStatus.DmaReadFault, h.Last.Status);
        Assert.True(h.Halted);
        Assert.Equal(Unmapped + 0x1000, h.Read64(AccelRegister.ErrAddr));
        IommuFault fault = Assert.Single(h.Machine.Iommus[0].Faults.Snapshot());
        Assert.Equal(AccessKind.Read, fault.Access);
        Assert.All(h.CpuRead(h.Bar1, 4096), b => Assert.Equal(0, b));
    }

    [Fact]
    public void UnmappedRing_IsAFetchFault_Fatal()
    {
        using var h = new AccelHarness(IommuMode.Translate);
        h.Write64(AccelRegister.RingBase, Unmapped);
        h.Write32(AccelRegister.RingSize, 4);
        h.Write32(AccelRegister.Ctrl, 1);

        h.Write32(AccelRegister.RingTail, 1);

        Assert.True(h.Fatal);
        Assert.True(h.Halted);
        Assert.Equal((uint)AccelErrorCode.DescriptorFetchFault, h.Read32(AccelRegister.ErrCode));
        Assert.Equal(Unmapped, h.Read64(AccelRegister.ErrAddr));
        Assert.Single(h.Machine.Iommus[0].Faults.Snapshot());

        h.Reset();
        Assert.False(h.Fatal);
        Assert.False(h.Halted);
    }
}
