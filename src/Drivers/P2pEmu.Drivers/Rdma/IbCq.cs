using P2pEmu.Emulator.Addressing;

namespace P2pEmu.Drivers.Rdma;

/// <summary>Linux <c>struct ib_cq</c>: a completion queue, a ring of CQEs in coherent host memory the driver polls.</summary>
public sealed class IbCq
{
    internal IbCq(RdmaDev device, uint cqn, uint entries, PhysAddress ring, DmaAddress ringDma)
    {
        Device = device;
        Cqn = cqn;
        Entries = entries;
        Ring = ring;
        RingDma = ringDma;
    }

    public RdmaDev Device { get; }

    public uint Cqn { get; }

    /// <summary>Ring entries (a power of two); the CQ holds one fewer completions than this before it overflows.</summary>
    public uint Entries { get; }

    internal PhysAddress Ring { get; }

    internal DmaAddress RingDma { get; }

    /// <summary>Free-running count of CQEs consumed.</summary>
    internal uint Consumer { get; set; }

    public override string ToString() => $"cq {Cqn} on {Device.Name}";
}
