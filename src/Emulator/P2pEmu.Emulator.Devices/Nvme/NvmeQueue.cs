using System;
using System.Runtime.InteropServices;
using P2pEmu.Emulator.Addressing;

namespace P2pEmu.Emulator.Devices.Nvme;

/// <summary>
/// One submission or completion queue's device-side state: its ring in host (or peer, or the controller's own CMB)
/// memory and the indices the controller owns. Touched only under the controller lock (see <see cref="NvmeController"/>).
/// </summary>
internal sealed class NvmeQueue
{
    public NvmeQueue(ushort id, DmaAddress baseAddress, uint entries, ushort completionQueueId, bool interruptsEnabled = false, int interruptVector = 0)
    {
        Id = id;
        BaseAddress = baseAddress;
        Entries = entries;
        CompletionQueueId = completionQueueId;
        InterruptsEnabled = interruptsEnabled;
        InterruptVector = interruptVector;
        Phase = true;
    }

    /// <summary>Queue identifier (0 is the admin queue).</summary>
    public ushort Id { get; }

    /// <summary>Where entry 0 lives, as the device addresses it.</summary>
    public DmaAddress BaseAddress { get; }

    /// <summary>Number of entries (the 0-based size field plus one).</summary>
    public uint Entries { get; }

    /// <summary>For an SQ, the CQ it completes to; unused for a CQ.</summary>
    public ushort CompletionQueueId { get; }

    /// <summary>SQ: next entry the controller fetches. CQ: last head the host wrote.</summary>
    public uint Head { get; set; }

    /// <summary>SQ: last tail the host wrote. CQ: next slot the controller posts to.</summary>
    public uint Tail { get; set; }

    /// <summary>CQ: the phase tag the controller writes; starts at 1 and toggles on each wrap.</summary>
    public bool Phase { get; set; }

    /// <summary>CQ: Interrupts Enabled (IEN; always set for the admin CQ).</summary>
    public bool InterruptsEnabled { get; }

    /// <summary>CQ: the MSI-X vector (IV; 0 for the admin CQ).</summary>
    public int InterruptVector { get; }

    /// <summary>CQ: entries were posted since the queue's last interrupt.</summary>
    public bool InterruptDue { get; set; }

    /// <summary>CQ: a submission queue waits for it to have room (its next head doorbell resumes processing).</summary>
    public bool Stalled { get; set; }

    /// <summary>CQ: posting one more entry would overwrite one the host has not consumed.</summary>
    public bool IsFull => Next(Tail) == Head;

    /// <summary>SQ: most entries one fetch reads (512 bytes, the default PCIe Max_Read_Request_Size).</summary>
    public const int MaxFetchEntries = 8;

    private NvmeCommand[]? _fetched;
    private uint _fetchedSlot;
    private uint _fetchedCount;

    /// <summary>SQ: the entry at <see cref="Head"/>, when an earlier burst fetched it.</summary>
    public bool TryTakeFetched(out NvmeCommand command)
    {
        uint offset = unchecked(Head - _fetchedSlot); // a Head before the burst wraps to a large offset: a miss
        if (offset < _fetchedCount)
        {
            command = _fetched![offset];
            return true;
        }

        command = default;
        return false;
    }

    /// <summary>
    /// SQ: the buffer a burst of <paramref name="count"/> entries from <see cref="Head"/> is read into; the entries
    /// count as fetched once <see cref="EndFetch"/> says the read succeeded.
    /// </summary>
    public Span<byte> BeginFetch(int count)
    {
        _fetched ??= new NvmeCommand[MaxFetchEntries];
        _fetchedSlot = Head;
        _fetchedCount = 0;
        return MemoryMarshal.AsBytes(_fetched.AsSpan(0, count));
    }

    /// <summary>SQ: the burst begun by <see cref="BeginFetch"/> holds <paramref name="count"/> entries from its slot.</summary>
    public void EndFetch(int count) => _fetchedCount = (uint)count;

    /// <summary>The slot after <paramref name="index"/> (below <see cref="Entries"/>, as doorbells are checked), wrapping to 0.</summary>
    public uint Next(uint index) => index + 1 == Entries ? 0 : index + 1; // no division on the per-command path
}
