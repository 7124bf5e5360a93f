using System;
using System.Threading;
using P2pEmu.Emulator.Devices.Nvme;
using P2pEmu.Emulator.Execution;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Memory;
using P2pEmu.Emulator.Topology;
using P2pEmu.Testing;
using Xunit;
using static P2pEmu.Integration.Tests.Nvme.NvmeAdminTests;

namespace P2pEmu.Integration.Tests.Nvme;

/// <summary>How the controller runs its queues: inline in the doorbell write, or on its own thread, and what a CC write does to that.</summary>
public sealed class NvmeExecutionTests
{
    private const ulong SqOffset = 0x12_0000;
    private const ulong CqOffset = 0x13_0000;
    private const uint Entries = 1024;
    private const int Commands = 1000;

    private static NvmeCommand ReadBlock(NvmeHarness h, ushort cid) => new()
    {
        Opcode = 0x02,
        Cid = cid,
        Nsid = 1,
        Prp1 = h.Bus(NvmeHarness.DataOffset + ((ulong)cid * 512)),
        Cdw10 = cid,
    };

    [Fact]
    public void Deterministic_TheDoorbellWriteReturnsWithEveryCommandCompleted_OnTheWritersThread()
    {
        using var h = new NvmeHarness(0, IommuMode.Off, ExecutionMode.Deterministic, Topo.MiB);
        h.Enable();
        HostQueue io = h.CreateIoQueuePair(1, Entries, SqOffset, CqOffset);
        for (ushort cid = 0; cid < 100; cid++)
        {
            io.Push(ReadBlock(h, cid));
        }

        long rounds = h.Controller.EngineRounds;
        io.RingSubmission();

        Assert.Equal(rounds + 1, h.Controller.EngineRounds);
        for (int i = 0; i < 100; i++)
        {
            Assert.True(io.TryPop(out NvmeCompletion completion, ringHead: false));
            AssertSuccess(completion);
        }
    }

    [Fact]
    public void Concurrent_ControllerDisabledWhileItWorks_StopsBeforeTheNextCommand_AndEveryPostedCompletionHasAllItsData()
    {
        using var h = new NvmeHarness(0, IommuMode.Off, ExecutionMode.Concurrent, Topo.MiB);
        h.Enable();
        HostQueue io = h.CreateIoQueuePair(1, Entries, SqOffset, CqOffset);
        Span<byte> media = h.Controller.Namespaces[0].Memory.GetSpan(0, Commands * 512);
        new Random(5).NextBytes(media);
        BarRegion ram = h.Fabric.Ram.Region;
        ram.Fill(NvmeHarness.DataOffset, Commands * 512, 0);
        for (ushort cid = 0; cid < Commands; cid++)
        {
            io.Push(ReadBlock(h, cid));
        }

        io.RingSubmission();
        h.Disable();
        byte[] data = ram.GetSpan(NvmeHarness.DataOffset, Commands * 512).ToArray();
        byte[] completions = ram.GetSpan(CqOffset, Commands * 16).ToArray();
        h.Controller.Stop(); // the controller's thread has ended: anything it still did would show now

        Assert.True(ram.GetSpan(NvmeHarness.DataOffset, Commands * 512).SequenceEqual(data));
        Assert.True(ram.GetSpan(CqOffset, Commands * 16).SequenceEqual(completions));
        Assert.False(h.Controller.IsReady);
        int posted = 0;
        while (posted < Commands && (BitConverter.ToUInt16(completions, (posted * 16) + 14) & 1) != 0)
        {
            posted++;
        }

        // Commands run in order, each whole: the first `posted` reads landed in full, none after them did.
        Assert.True(data.AsSpan(0, posted * 512).SequenceEqual(media[..(posted * 512)]));
        Assert.True(data.AsSpan(posted * 512).IndexOfAnyExcept((byte)0) < 0);
    }

    [Fact]
    public void Concurrent_TheControllersOwnThreadDoesTheWork_AndRaisesTheInterrupts()
    {
        using var h = new NvmeHarness(0, IommuMode.Off, ExecutionMode.Concurrent, Topo.MiB);
        h.ProgramVector(0);
        MsiMsg one = h.ProgramVector(1);
        h.SetMsiXControl(enable: true);
        h.Enable();
        HostQueue io = h.CreateIoQueuePair(1, 64, interruptVector: 1);
        int handlerThread = 0;
        h.Fabric.Msi.SetHandler(one, _ => Volatile.Write(ref handlerThread, Environment.CurrentManagedThreadId));

        for (ushort cid = 0; cid < 40; cid++)
        {
            AssertSuccess(io.Submit(ReadBlock(h, cid)));
        }

        var spinner = default(SpinWait);
        while (Volatile.Read(ref handlerThread) == 0)
        {
            spinner.SpinOnce();
        }

        Assert.NotEqual(Environment.CurrentManagedThreadId, Volatile.Read(ref handlerThread));
    }
}
