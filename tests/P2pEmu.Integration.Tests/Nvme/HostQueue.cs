using System;
using System.Threading;
using P2pEmu.Emulator.Devices.Nvme;
using P2pEmu.Emulator.Execution;
using P2pEmu.Emulator.Memory;

namespace P2pEmu.Integration.Tests.Nvme;

/// <summary>The driver side of one SQ/CQ pair in host RAM: tail, head and expected phase, as Linux's nvme_queue keeps them.</summary>
internal sealed class HostQueue
{
    private readonly NvmeHarness _harness;
    private readonly BarRegion _ram;

    public HostQueue(NvmeHarness harness, ushort id, ulong sqOffset, ulong cqOffset, uint entries)
    {
        _harness = harness;
        _ram = harness.Fabric.Ram.Region;
        Id = id;
        SqOffset = sqOffset;
        CqOffset = cqOffset;
        Entries = entries;
    }

    public ushort Id { get; }

    public ulong SqOffset { get; }

    public ulong CqOffset { get; }

    public uint Entries { get; }

    public uint SqTail { get; private set; }

    public uint CqHead { get; private set; }

    public bool Phase { get; private set; } = true;

    /// <summary>Writes a command at the tail without ringing the doorbell.</summary>
    public void Push(NvmeCommand command)
    {
        _ram.Write(SqOffset + ((ulong)SqTail * 64), command);
        SqTail = (SqTail + 1) % Entries;
    }

    public void RingSubmission() => _harness.WriteDoorbell((2 * Id) + 0, SqTail);

    /// <summary>Consumes the next completion if its phase tag says it is new; optionally rings the CQ head doorbell.</summary>
    public bool TryPop(out NvmeCompletion completion, bool ringHead = true)
    {
        completion = _ram.Read<NvmeCompletion>(CqOffset + ((ulong)CqHead * 16));
        if (completion.Phase != Phase)
        {
            return false;
        }

        CqHead++;
        if (CqHead == Entries)
        {
            CqHead = 0;
            Phase = !Phase;
        }

        if (ringHead)
        {
            RingCompletionHead();
        }

        return true;
    }

    public void RingCompletionHead() => _harness.WriteDoorbell((2 * Id) + 1, CqHead);

    /// <summary>
    /// Submits one command and returns its completion: posted inside the doorbell write by a deterministic controller;
    /// a concurrent one is given a bounded number of polls.
    /// </summary>
    public NvmeCompletion Submit(NvmeCommand command)
    {
        Push(command);
        RingSubmission();
        bool inline = _harness.Controller.Mode == ExecutionMode.Deterministic;
        var spinner = default(SpinWait);
        NvmeCompletion completion;
        for (int polls = 0; !TryPop(out completion); polls++)
        {
            if (inline || polls == 100_000)
            {
                throw new InvalidOperationException($"Queue {Id}: no completion was posted.");
            }

            spinner.SpinOnce();
        }

        return completion;
    }
}
