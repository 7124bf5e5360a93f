using System.Collections.Generic;
using System.Linq;
using P2pEmu.Emulator.Devices.Nvme;
using P2pEmu.Emulator.Memory;
using P2pEmu.Testing;
using Xunit;
using static P2pEmu.Integration.Tests.Nvme.NvmeAdminTests;

namespace P2pEmu.Integration.Tests.Nvme;

/// <summary>The controller reads submission queue entries in bursts of up to eight, never past the tail or a page end.</summary>
public sealed class NvmeSubmissionFetchTests
{
    private const byte OpFlush = 0x00;
    private const byte OpRead = 0x02;

    [Fact]
    public void TwentyEntriesUnderOneDoorbell_AreFetchedInThreeReads_OfEightEightAndFour()
    {
        using var h = new NvmeHarness(0, Topo.MiB);
        h.Enable();
        HostQueue io = h.CreateIoQueuePair(1, 32);
        var translator = new FaultingTranslator(0, 0);
        h.Fabric.HostBridges[0].Translator = translator;
        for (ushort cid = 0; cid < 20; cid++)
        {
            io.Push(Flush(cid));
        }

        io.RingSubmission();

        ulong sq = h.Bus(NvmeHarness.IoSqOffset);
        Assert.Equal(new[] { sq, sq + 512, sq + 1024 }, translator.Requested.Where(a => a >= sq && a < sq + (32 * 64)));
        Assert.Equal(Enumerable.Range(0, 20), PopAll(io).Select(c => (int)c.Cid));
    }

    [Fact]
    public void EntriesRewrittenByAnEarlierCommand_RunAsFetched_InsideTheBurst_AndAsRewritten_AfterIt()
    {
        using var h = new NvmeHarness(0, Topo.MiB);
        h.Enable();
        HostQueue io = h.CreateIoQueuePair(1, 32);
        BarRegion media = h.Controller.Namespaces[0].Memory;
        for (int slot = 2; slot < 10; slot++)
        {
            media.Write((ulong)(slot - 2) * 64, Flush((ushort)(100 + slot)));
        }

        // Slot 0 reads LBA 0 over slots 2..9 of its own queue; slot 1 and the originals of 2..9 are Flushes.
        io.Push(new NvmeCommand { Opcode = OpRead, Cid = 1, Nsid = 1, Prp1 = h.Bus(NvmeHarness.IoSqOffset + (2 * 64)) });
        for (ushort slot = 1; slot < 10; slot++)
        {
            io.Push(Flush((ushort)(10 + slot)));
        }

        io.RingSubmission();

        // Slots 0..7 were read in the first burst, before the Read landed; 8 and 9 were read after it.
        Assert.Equal(new[] { 1, 11, 12, 13, 14, 15, 16, 17, 108, 109 }, PopAll(io).Select(c => (int)c.Cid));
    }

    [Fact]
    public void BurstBeforeAFaultingPage_StopsAtThePageEnd_SoTheEntriesBeforeItComplete()
    {
        using var h = new NvmeHarness(0, Topo.MiB);
        h.Enable();
        HostQueue io = h.CreateIoQueuePair(1, 128, cqOffset: NvmeHarness.ScratchOffset);
        ulong secondPage = h.Bus(NvmeHarness.IoSqOffset + 4096);
        h.Fabric.HostBridges[0].Translator = new FaultingTranslator(secondPage, secondPage + 4096);
        for (ushort cid = 0; cid < 62; cid++)
        {
            io.Push(Flush(cid));
        }

        io.RingSubmission();
        Assert.Equal(62, PopAll(io).Count);

        for (ushort cid = 62; cid < 68; cid++)
        {
            io.Push(Flush(cid)); // slots 62..67: the page ends after slot 63
        }

        io.RingSubmission();

        Assert.Equal(new[] { 62, 63 }, PopAll(io).Select(c => (int)c.Cid));
        Assert.True(h.Controller.IsFatal);
    }

    private static NvmeCommand Flush(ushort cid) => new() { Opcode = OpFlush, Cid = cid, Nsid = 1 };

    private static List<NvmeCompletion> PopAll(HostQueue io)
    {
        var completions = new List<NvmeCompletion>();
        while (io.TryPop(out NvmeCompletion completion))
        {
            AssertSuccess(completion);
            completions.Add(completion);
        }

        return completions;
    }
}
