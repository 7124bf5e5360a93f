namespace P2pEmu.Drivers.Rdma;

/// <summary>Linux <c>struct ib_wc</c>: one completion.</summary>
public readonly record struct IbWc(ulong WrId, IbWcStatus Status, IbWcOpcode Opcode, uint ByteLen, uint ImmData, bool WithImm, uint QpNum, uint SrcQp, uint VendorErr);
