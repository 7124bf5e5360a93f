using System;
using System.IO.Hashing;
using P2pEmu.Emulator.Devices.Accel;
using P2pEmu.Emulator.Fabric;
using Xunit;

namespace P2pEmu.Integration.Tests.Accel;

/// <summary>The accelerator's copy engine driven through BAR0 with a descriptor ring in host memory, as a driver would.</summary>
public sealed class AccelCopyEngineTests
{
    private const uint Done = (uint)AccelDescriptorStatus.Done;

    [Fact]
    public void Bar0_Identifies_AndReportsTheDeviceMemorySize()
    {
        using var h = new AccelHarness();

        Assert.Equal(AccelDevice.IdValue, h.Read32(AccelRegister.Id));
        Assert.Equal(0x0001_0000u, h.Read32(AccelRegister.Version));
        Assert.Equal(12u | (1u << 8), h.Read32(AccelRegister.Cap));
        Assert.Equal(AccelHarness.DeviceMemoryBytes, h.Read64(AccelRegister.MemSize));
        Assert.Equal(AccelHarness.DeviceMemoryBytes, h.Gpu.GetBar(1)!.SizeBytes);
        Assert.Equal(AccelDevice.Bar0SizeBytes, h.Gpu.GetBar(0)!.SizeBytes);
        Assert.Equal(1, h.Gpu.MsiXTableSize);
        Assert.Equal((0, AccelDevice.MsiXTableOffset), h.Gpu.MsiXTableLocation);
        Assert.False(h.Ready);
        Assert.Equal(0u, h.Read32((AccelRegister)0x10_0000)); // above the register block: reserved, reads 0
    }

    [Fact]
    public void Copy_HostRamToDeviceMemory_LandsExactly()
    {
        using var h = new AccelHarness();
        const int Length = 192 * 1024;
        byte[] data = Pattern(Length, 1);
        (ulong cpu, ulong dma) = h.Alloc(Length);
        h.CpuWrite(cpu, data);
        h.Enable();

        h.Submit(AccelHarness.Copy(dma, h.Bar1 + 0x1000, Length));

        AccelDescriptor done = h.Last;
        Assert.Equal(Done, done.Status);
        Assert.Equal((uint)Length, done.BytesDone);
        Assert.Equal(XxHash3.HashToUInt64(data), XxHash3.HashToUInt64(h.CpuRead(h.Bar1 + 0x1000, Length)));
        Assert.All(h.CpuRead(h.Bar1, 0x1000), b => Assert.Equal(0, b));               // nothing before the target
        Assert.All(h.CpuRead(h.Bar1 + 0x1000 + Length, 0x1000), b => Assert.Equal(0, b)); // nor after it
        Assert.Equal(1u, h.Read32(AccelRegister.RingHead));
        Assert.Equal(1u, h.Read32(AccelRegister.Completed));
        Assert.False(h.Halted);
    }

    [Fact]
    public void Copy_DeviceMemoryToHostRam_LandsExactly()
    {
        using var h = new AccelHarness();
        const int Length = 64 * 1024;
        byte[] data = Pattern(Length, 2);
        h.CpuWrite(h.Bar1 + 0x20_0000, data); // memcpy_toio into device memory
        (ulong cpu, ulong dma) = h.Alloc(Length);
        h.Enable();

        h.Submit(AccelHarness.Copy(h.Bar1 + 0x20_0000, dma, Length));

        Assert.Equal(Done, h.Last.Status);
        Assert.Equal(XxHash3.HashToUInt64(data), XxHash3.HashToUInt64(h.CpuRead(cpu, Length)));
    }

    [Fact]
    public void Copy_DeviceMemoryToPeerCmb_GoesPeerToPeerThroughTheSwitch()
    {
        using var h = new AccelHarness();
        const int Length = 256 * 1024;
        byte[] data = Pattern(Length, 3);
        h.CpuWrite(h.Bar1, data);
        h.Enable();
        long peerBefore = h.Fabric.BytesOnPath(RoutePath.SwitchPeer);
        long hostBefore = h.Fabric.BytesOnPath(RoutePath.HostMemory);
        long rootBefore = h.Fabric.BytesOnPath(RoutePath.RootComplexPeer);

        h.Submit(AccelHarness.Copy(h.Bar1, h.Cmb + 0x1000, Length));

        Assert.Equal(Done, h.Last.Status);
        Assert.Equal(XxHash3.HashToUInt64(data), XxHash3.HashToUInt64(h.CpuRead(h.Cmb + 0x1000, Length)));
        Assert.True(h.Fabric.BytesOnPath(RoutePath.SwitchPeer) - peerBefore >= Length, "the copy did not go through the switch");
        Assert.Equal(rootBefore, h.Fabric.BytesOnPath(RoutePath.RootComplexPeer));
        Assert.True(h.Fabric.BytesOnPath(RoutePath.HostMemory) - hostBefore < Length, "the data went through host memory");
    }

    [Fact]
    public void Batch_WithInterruptOnTheLast_SendsOneMessage_AndCopiesInOrder()
    {
        using var h = new AccelHarness();
        MsiMsg vector = h.EnableInterrupt();
        byte[] data = Pattern(3 * 4096, 4);
        (ulong cpu, ulong dma) = h.Alloc((ulong)data.Length);
        h.CpuWrite(cpu, data);
        h.Enable();

        h.Submit(
            AccelHarness.Copy(dma, h.Bar1, 4096),
            AccelHarness.Copy(dma + 4096, h.Bar1 + 4096, 4096),
            AccelHarness.Copy(dma + 8192, h.Bar1 + 8192, 4096, (uint)AccelDescriptorOptions.InterruptOnCompletion));

        Assert.Equal(1, h.Fabric.Msi.Count(vector));
        Assert.Equal(1u, h.Read32(AccelRegister.IntStatus) & 1);
        Assert.Equal(data, h.CpuRead(h.Bar1, data.Length));
        Assert.Equal(3u, h.Read32(AccelRegister.Completed));

        h.Write32(AccelRegister.IntStatus, 1); // write 1 to clear
        Assert.Equal(0u, h.Read32(AccelRegister.IntStatus));
        h.Submit(AccelHarness.Copy(dma, h.Bar1, 16)); // no IOC: no message
        Assert.Equal(1, h.Fabric.Msi.Count(vector));
    }

    [Fact]
    public void InterruptHandler_RingingTheDoorbell_GetsItsBatchRunBeforeTheFirstDoorbellReturns()
    {
        using var h = new AccelHarness();
        MsiMsg vector = h.EnableInterrupt();
        byte[] data = Pattern(2 * 4096, 8);
        (ulong cpu, ulong dma) = h.Alloc((ulong)data.Length);
        h.CpuWrite(cpu, data);
        h.Enable();
        int handled = 0;
        h.Fabric.Msi.SetHandler(vector, _ =>
        {
            if (handled++ == 0)
            {
                h.Submit(AccelHarness.Copy(dma + 4096, h.Bar1 + 4096, 4096, (uint)AccelDescriptorOptions.InterruptOnCompletion));
            }
        });

        h.Submit(AccelHarness.Copy(dma, h.Bar1, 4096, (uint)AccelDescriptorOptions.InterruptOnCompletion));

        Assert.Equal(2, handled);
        Assert.Equal(2, h.Fabric.Msi.Count(vector));
        Assert.Equal(2u, h.Read32(AccelRegister.Completed));
        Assert.Equal(data, h.CpuRead(h.Bar1, data.Length));
    }

    [Fact]
    public void Ring_WrapsAround_EveryDescriptorCompletes()
    {
        using var h = new AccelHarness();
        const int Piece = 8192;
        byte[] data = Pattern(7 * Piece, 5);
        (ulong cpu, ulong dma) = h.Alloc((ulong)data.Length);
        h.CpuWrite(cpu, data);
        h.Enable(entries: 4);

        for (uint batch = 0, next = 0; batch < 3; batch++)
        {
            uint count = batch == 2 ? 1u : 3u;
            var descriptors = new AccelDescriptor[count];
            for (int i = 0; i < count; i++, next++)
            {
                descriptors[i] = AccelHarness.Copy(dma + (next * Piece), h.Bar1 + (next * Piece), Piece);
            }

            h.Submit(descriptors);
            Assert.Equal(h.Tail, h.Read32(AccelRegister.RingHead));
        }

        Assert.Equal(3u, h.Read32(AccelRegister.RingHead)); // 7 descriptors in a ring of 4
        Assert.Equal(7u, h.Read32(AccelRegister.Completed));
        Assert.Equal(XxHash3.HashToUInt64(data), XxHash3.HashToUInt64(h.CpuRead(h.Bar1, data.Length)));
        for (uint i = 0; i < 4; i++)
        {
            Assert.Equal(Done, h.ReadDescriptor(i).Status);
        }
    }

    [Fact]
    public void ReservedFlag_IsAnInvalidDescriptor_CopiesNothing_AndHalts()
    {
        using var h = new AccelHarness();
        MsiMsg vector = h.EnableInterrupt();
        (ulong cpu, ulong dma) = h.Alloc(4096);
        h.CpuWrite(cpu, Pattern(4096, 6));
        h.Enable();

        h.Submit(AccelHarness.Copy(dma, h.Bar1, 4096, flags: 1u << 5));

        AccelDescriptor bad = h.Last;
        Assert.Equal((uint)AccelDescriptorStatus.InvalidDescriptor, bad.Status);
        Assert.Equal(0u, bad.BytesDone);
        Assert.True(h.Halted);
        Assert.False(h.Fatal);
        Assert.Equal((uint)AccelErrorCode.InvalidDescriptor, h.Read32(AccelRegister.ErrCode));
        Assert.Equal(0u, h.Read32(AccelRegister.ErrIndex));
        Assert.Equal(0u, h.Read32(AccelRegister.RingHead)); // the head stays at the failed descriptor
        Assert.Equal(2u, h.Read32(AccelRegister.IntStatus));
        Assert.Equal(1, h.Fabric.Msi.Count(vector)); // an error interrupts even without IOC
        Assert.All(h.CpuRead(h.Bar1, 4096), b => Assert.Equal(0, b));
    }

    [Fact]
    public void Halted_IgnoresDoorbells_UntilReset_ThenRunsAgain()
    {
        using var h = new AccelHarness();
        byte[] data = Pattern(4096, 7);
        (ulong cpu, ulong dma) = h.Alloc(4096);
        h.CpuWrite(cpu, data);
        h.Enable();
        h.Submit(AccelHarness.Copy(dma, h.Bar1, 4096, flags: 0x8000_0000));
        Assert.True(h.Halted);

        h.Submit(AccelHarness.Copy(dma, h.Bar1, 4096));
        Assert.Equal(0u, h.Last.Status); // still pending: the engine is halted
        Assert.Equal(1u, h.Read32(AccelRegister.RingTail)); // the second doorbell (tail 2) was ignored
        h.Write32(AccelRegister.Ctrl, 0);
        h.Write32(AccelRegister.Ctrl, 1);
        Assert.False(h.Ready); // re-enabling does not clear a halt

        h.Reset();

        Assert.False(h.Halted);
        Assert.False(h.Ready);
        Assert.Equal(0u, h.Read32(AccelRegister.ErrCode));
        Assert.Equal(0u, h.Read32(AccelRegister.Ctrl));
        Assert.Equal(0UL, h.Read64(AccelRegister.RingBase));
        h.Enable();
        Assert.True(h.Ready);
        h.Submit(AccelHarness.Copy(dma, h.Bar1, 4096));
        Assert.Equal(Done, h.Last.Status);
        Assert.Equal(data, h.CpuRead(h.Bar1, 4096));
    }

    [Theory]
    [InlineData(0u)]
    [InlineData(1u)]
    [InlineData(12u)]
    [InlineData(8192u)]
    public void Enable_WithABadRingSize_IsFatal(uint entries)
    {
        using var h = new AccelHarness();
        h.Write32(AccelRegister.RingSize, entries);

        h.Write32(AccelRegister.Ctrl, 1);

        Assert.False(h.Ready);
        Assert.True(h.Fatal);
        Assert.Equal((uint)AccelErrorCode.InvalidRing, h.Read32(AccelRegister.ErrCode));
    }

    [Fact]
    public void RingRegisters_AreReadOnlyWhileEnabled()
    {
        using var h = new AccelHarness();
        h.Enable(entries: 8);
        ulong ring = h.Read64(AccelRegister.RingBase);

        h.Write64(AccelRegister.RingBase, 0x1234_0000);
        h.Write32(AccelRegister.RingSize, 64);

        Assert.Equal(ring, h.Read64(AccelRegister.RingBase));
        Assert.Equal(8u, h.Read32(AccelRegister.RingSize));
    }

    [Fact]
    public void TailOutsideTheRing_IsIgnored()
    {
        using var h = new AccelHarness();
        h.Enable(entries: 4);

        h.Write32(AccelRegister.RingTail, 4);

        Assert.Equal(0u, h.Read32(AccelRegister.RingTail));
        Assert.Equal(0u, h.Read32(AccelRegister.RingHead));
        Assert.False(h.Halted);
    }

    [Fact]
    public void DmaReadFault_OnAnUnclaimedSource_HaltsWithTheAddress()
    {
        using var h = new AccelHarness();
        const ulong Hole = 0x4000_0000; // above RAM, below the MMIO windows: nothing claims it
        h.Enable();

        h.Submit(AccelHarness.Copy(Hole, h.Bar1, 4096));

        Assert.Equal((uint)AccelDescriptorStatus.DmaReadFault, h.Last.Status);
        Assert.Equal(0u, h.Last.BytesDone);
        Assert.True(h.Halted);
        Assert.Equal(Hole, h.Read64(AccelRegister.ErrAddr));
    }

    /// <summary>Deterministic bytes: a seeded generator, so a failure reproduces.</summary>
    internal static byte[] Pattern(int length, int seed)
    {
        byte[] bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }
}
