namespace P2pEmu.Drivers.Rdma;

/// <summary>Linux <c>struct ib_sge</c>: a piece of a message in a memory region.</summary>
public readonly record struct IbSge(ulong Addr, uint Length, uint Lkey);
