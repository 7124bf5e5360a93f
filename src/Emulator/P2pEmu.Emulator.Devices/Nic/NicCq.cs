using P2pEmu.Emulator.Addressing;

namespace P2pEmu.Emulator.Devices.Nic;

/// <summary>A completion queue: a ring of 32-byte CQEs in host memory with a phase bit, as the device sees it.</summary>
internal sealed class NicCq
{
    public NicCq(uint cqn, DmaAddress ring, uint entries, uint vector)
    {
        Cqn = cqn;
        Ring = ring;
        Entries = entries;
        Vector = vector;
    }

    public uint Cqn { get; }

    public DmaAddress Ring { get; }

    public uint Entries { get; }

    /// <summary>The MSI-X vector raised after new entries, or <see cref="NoVector"/>.</summary>
    public uint Vector { get; }

    public const uint NoVector = uint.MaxValue;

    /// <summary>Free-running count of CQEs written.</summary>
    public uint Producer { get; set; }

    /// <summary>Free-running count of CQEs the host consumed (its doorbell).</summary>
    public uint Consumer { get; set; }

    /// <summary>Set when a CQE found the ring full or could not be written; the CQ takes no more entries.</summary>
    public bool InError { get; set; }

    /// <summary>How many QPs report to this CQ (it cannot be destroyed while any does).</summary>
    public int Users { get; set; }
}
