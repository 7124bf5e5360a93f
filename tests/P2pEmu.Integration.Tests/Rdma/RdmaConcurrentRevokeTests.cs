using System;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using P2pEmu.Drivers.Rdma;
using P2pEmu.Emulator.Execution;
using P2pEmu.Emulator.Host;
using Xunit;
using static P2pEmu.Integration.Tests.Rdma.RdmaRig;

namespace P2pEmu.Integration.Tests.Rdma;

/// <summary>
/// The vfio exporter revokes a dma-buf while a writer thread keeps RDMA-writing into the NIC's dynamic region over it,
/// with each NIC on its own engine thread (the driver's page fault handler runs on nic1's): once the revoke has
/// returned, no WRITE succeeds and no byte reaches the accelerator's memory, and the writes completed before it landed.
/// </summary>
public sealed class RdmaConcurrentRevokeTests
{
    private const ulong Offset = 64 * 1024;
    private const ulong Length = 4 * MiB;
    private const int Chunk = 16 * 1024;
    private const int Slots = 16;
    private const int WritesAfterRevoke = 8;
    private static readonly TimeSpan s_deadline = TimeSpan.FromSeconds(60);

    private readonly record struct Outcome(int Index, int Slot, bool PostedAfterRevoke, IbWcStatus Status);

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Revoke_DuringWrites_FailsEveryLaterWrite_AndLeavesTheMemoryAsTheRevokeLeftIt(int seed)
    {
        using var rig = new RdmaRig("translate", ExecutionMode.Concurrent);
        var accel = new AccelDmabuf(rig, Offset, Length);
        IbMr mr = rig.B.Dev.RegUserMrDmabuf(rig.B.Pd, 0, MiB, 0x5000_0000, accel.User, accel.Fd, AllAccess).Value;
        RegisteredBuffer local = rig.HostBuffer(rig.A, MiB);
        byte[] before = Pattern(Slots * Chunk, seed); // what writes posted before the revoke carry
        byte[] late = Pattern(Slots * Chunk, seed + 100); // and after it
        local.Write(0, before);
        local.Write(Slots * Chunk, late);

        var outcomes = new ConcurrentQueue<Outcome>();
        int revoked = 0;
        string? writerError = null;
        using var enoughBefore = new ManualResetEventSlim();
        var writer = new Thread(() =>
        {
            try
            {
                Span<IbWc> wc = stackalloc IbWc[1];
                int successes = 0;
                int afterRevoke = 0;
                for (int i = 0; afterRevoke < WritesAfterRevoke && i < 100_000; i++)
                {
                    bool postedAfter = Volatile.Read(ref revoked) != 0;
                    int slot = i % Slots;
                    ulong source = ((postedAfter ? (ulong)Slots : 0) + (ulong)slot) * Chunk;
                    Errno posted = rig.A.Dev.PostSend(rig.A.Qp, new IbSendWr
                    {
                        WrId = (ulong)i, Opcode = IbWrOpcode.RdmaWrite, SendFlags = IbSendFlags.Signaled,
                        SgList = [local.Sge(source, Chunk)], RemoteAddr = mr.Iova + ((ulong)slot * Chunk), Rkey = mr.Rkey,
                    });
                    if (posted != Errno.None)
                    {
                        writerError = $"post {i}: {posted}";
                        return;
                    }

                    var clock = Stopwatch.StartNew();
                    while (rig.A.Dev.PollCq(rig.A.Cq, wc) == 0)
                    {
                        if (clock.Elapsed > s_deadline)
                        {
                            writerError = $"write {i} never completed";
                            return;
                        }

                        Thread.Yield();
                    }

                    if (wc[0].WrId != (ulong)i)
                    {
                        writerError = $"completion for {wc[0].WrId}, expected {i}";
                        return;
                    }

                    outcomes.Enqueue(new Outcome(i, slot, postedAfter, wc[0].Status));
                    if (!postedAfter && wc[0].Status == IbWcStatus.Success && ++successes == 2 * Slots)
                    {
                        enoughBefore.Set();
                    }

                    if (postedAfter)
                    {
                        afterRevoke++;
                    }
                }
            }
            finally
            {
                enoughBefore.Set();
            }
        });
        writer.IsBackground = true;
        writer.Start();

        Assert.True(enoughBefore.Wait(s_deadline));
        accel.CloseDevice();
        byte[] snapshot = accel.Memory(Offset, Slots * Chunk).ToArray();
        Volatile.Write(ref revoked, 1);
        Assert.True(writer.Join(s_deadline), "the writer did not finish");

        Assert.Null(writerError);
        Outcome[] all = [.. outcomes];
        Outcome[] after = [.. all.Where(o => o.PostedAfterRevoke)];
        Outcome[] succeededBefore = [.. all.Where(o => !o.PostedAfterRevoke && o.Status == IbWcStatus.Success)];
        Assert.Equal(WritesAfterRevoke, after.Length);
        Assert.All(after, o => Assert.Contains(o.Status, new[] { IbWcStatus.RemAccessErr, IbWcStatus.WrFlushErr }));
        Assert.True(succeededBefore.Length >= 2 * Slots);
        byte[] now = accel.Memory(Offset, Slots * Chunk).ToArray();
        Assert.Equal(Hash(snapshot), Hash(now));
        foreach (int slot in succeededBefore.Select(o => o.Slot).Distinct())
        {
            Assert.Equal(Hash(before.AsSpan(slot * Chunk, Chunk)), Hash(now.AsSpan(slot * Chunk, Chunk)));
        }

        Assert.True(mr.PageFaultFailures >= 1);
        Assert.Equal(Errno.ENODEV, mr.LastFaultError);
    }
}
