namespace P2pEmu.Drivers.Rdma;

/// <summary>
/// The NIC's programming interface as the driver sees it (docs/nic.md; Linux keeps the same kind of table in
/// <c>mlx5_ifc.h</c>): BAR0 offsets, command opcodes and fields, and the sizes of the queue entries.
/// </summary>
internal static class NicHw
{
    public const uint Version = 0x0000;
    public const uint MaxQp = 0x0004;
    public const uint MaxCq = 0x0008;
    public const uint MaxMkey = 0x000C;
    public const uint MaxQueueEntries = 0x0010;
    public const uint Control = 0x0020;
    public const uint Status = 0x0024;
    public const uint MacLow = 0x0028;
    public const uint MacHigh = 0x002C;
    public const uint Ipv4 = 0x0030;
    public const uint CommandAddress = 0x0040;
    public const uint CommandDoorbell = 0x0048;
    public const uint CommandStatus = 0x004C;
    public const uint EventQueueBase = 0x0060;
    public const uint EventQueueSize = 0x0068;
    public const uint EventQueueConsumer = 0x006C;
    public const uint TxBase = 0x0080;
    public const uint TxSize = 0x0088;
    public const uint TxTail = 0x008C;
    public const uint TxHead = 0x0090;
    public const uint RxBase = 0x00A0;
    public const uint RxSize = 0x00A8;
    public const uint RxTail = 0x00AC;
    public const uint RxHead = 0x00B0;
    public const uint RxDropped = 0x00B4;
    public const uint QpDoorbells = 0x1000;
    public const uint CqDoorbells = 0x2000;

    public const uint ControlEnable = 1;
    public const uint StatusReady = 1;
    public const uint StatusFatal = 2;

    public const byte CmdCreateCq = 0x01;
    public const byte CmdDestroyCq = 0x02;
    public const byte CmdCreateQp = 0x03;
    public const byte CmdModifyQp = 0x04;
    public const byte CmdDestroyQp = 0x05;
    public const byte CmdCreateMkey = 0x06;
    public const byte CmdDestroyMkey = 0x07;
    public const byte CmdUpdateMtt = 0x08;

    public const int CommandBytes = 64;
    public const int EthernetDescriptorBytes = 16;
    public const byte DescriptorDone = 1;
    public const byte DescriptorError = 2;
    public const int MaxFrameBytes = 9216;
    public const int SendWqeBytes = 64;
    public const int RecvWqeBytes = 64;
    public const int CqeBytes = 32;
    public const int EqeBytes = 32;
    public const int MaxSendSges = 2;
    public const int MaxRecvSges = 3;

    public const uint MkeyPhysical = 1;
    public const uint MttZap = 1;
    public const ulong MttPresent = 1;
    public const ulong MttError = 2;

    public const uint NoVector = uint.MaxValue;

    public const byte EventPageFault = 1;
    public const byte EventQpFatal = 2;
    public const byte EventCqError = 3;

    /// <summary>The MSI-X entry of the event queue.</summary>
    public const int EventVector = 0;
}
