using System;
using System.IO.Hashing;
using P2pEmu.Emulator.Devices.Accel;
using P2pEmu.Emulator.Execution;
using Xunit;

namespace P2pEmu.Integration.Tests.Accel;

/// <summary>The copy engine on its own thread: doorbells only wake it; the host waits for it to go idle.</summary>
public sealed class AccelConcurrentTests
{
    private static readonly TimeSpan s_generous = TimeSpan.FromMinutes(1);

    [Fact]
    public void ConcurrentEngine_ProcessesEveryBatch_InOrder()
    {
        using var h = new AccelHarness(mode: ExecutionMode.Concurrent);
        AccelDevice device = h.Machine.Accelerators["gpu0"];
        const int Piece = 4096;
        const int Batches = 20;
        byte[] data = AccelCopyEngineTests.Pattern(Batches * 3 * Piece, 31);
        (ulong cpu, ulong dma) = h.Alloc((ulong)data.Length);
        h.CpuWrite(cpu, data);
        h.Enable(entries: 8);

        for (int batch = 0, next = 0; batch < Batches; batch++)
        {
            var descriptors = new AccelDescriptor[3];
            for (int i = 0; i < 3; i++, next++)
            {
                ulong at = (ulong)next * Piece;
                descriptors[i] = AccelHarness.Copy(dma + at, h.Bar1 + at, Piece);
            }

            Assert.True(device.WaitIdle(s_generous)); // the ring holds 7: let the engine drain it before refilling
            h.Submit(descriptors);
        }

        Assert.True(device.WaitIdle(s_generous));
        Assert.Equal(ExecutionMode.Concurrent, device.Mode);
        Assert.Equal((uint)(Batches * 3), h.Read32(AccelRegister.Completed));
        Assert.Equal(h.Tail, h.Read32(AccelRegister.RingHead));
        Assert.False(h.Halted);
        Assert.Equal(XxHash3.HashToUInt64(data), XxHash3.HashToUInt64(h.CpuRead(h.Bar1, data.Length)));
    }
}
