namespace P2pEmu.Emulator.Devices.Nic;

/// <summary>BAR0 register offsets of the NIC (docs/nic.md has the full map). All registers are 32-bit unless named 64-bit.</summary>
public static class NicRegister
{
    /// <summary>VERSION (RO): major in bits 31:16, minor in 15:0.</summary>
    public const uint Version = 0x0000;

    /// <summary>MAX_QP (RO): highest queue pair number + 1.</summary>
    public const uint MaxQp = 0x0004;

    /// <summary>MAX_CQ (RO): highest completion queue number + 1.</summary>
    public const uint MaxCq = 0x0008;

    /// <summary>MAX_MKEY (RO): how many memory keys the device holds.</summary>
    public const uint MaxMkey = 0x000C;

    /// <summary>MAX_QUEUE_ENTRIES (RO): the largest work, completion, event or Ethernet ring.</summary>
    public const uint MaxQueueEntries = 0x0010;

    /// <summary>CTRL (RW): bit 0 EN, bit 1 RST (self-clearing).</summary>
    public const uint Control = 0x0020;

    /// <summary>STATUS (RO): bit 0 RDY, bit 1 FATAL.</summary>
    public const uint Status = 0x0024;

    /// <summary>MAC_LO (RO): the low 32 bits of the 48-bit MAC address (the last four bytes on the wire).</summary>
    public const uint MacLow = 0x0028;

    /// <summary>MAC_HI (RO): the high 16 bits of the MAC address in bits 15:0 (the first wire byte in bits 15:8).</summary>
    public const uint MacHigh = 0x002C;

    /// <summary>IPV4 (RW): the port's IPv4 address (the RoCEv2 GID), first octet in bits 31:24.</summary>
    public const uint Ipv4 = 0x0030;

    /// <summary>CMD_ADDR (RW, 64-bit): DMA address of the 64-byte command block.</summary>
    public const uint CommandAddress = 0x0040;

    /// <summary>CMD_DOORBELL (WO): writing 1 executes the command block before the write returns.</summary>
    public const uint CommandDoorbell = 0x0048;

    /// <summary>CMD_STATUS (RO): the last command's <see cref="NicCommandStatus"/>.</summary>
    public const uint CommandStatus = 0x004C;

    /// <summary>EQ_BASE (RW, 64-bit): DMA address of the event queue.</summary>
    public const uint EventQueueBase = 0x0060;

    /// <summary>EQ_SIZE (RW): event queue entries (a power of two; 0 disables the queue).</summary>
    public const uint EventQueueSize = 0x0068;

    /// <summary>EQ_CI (WO): the host's free-running event queue consumer counter.</summary>
    public const uint EventQueueConsumer = 0x006C;

    /// <summary>TX_BASE (RW, 64-bit): DMA address of the Ethernet transmit descriptor ring.</summary>
    public const uint TxBase = 0x0080;

    /// <summary>TX_SIZE (RW): transmit ring entries (a power of two; 0 disables the ring).</summary>
    public const uint TxSize = 0x0088;

    /// <summary>TX_TAIL (WO doorbell): free-running count of descriptors the host made ready.</summary>
    public const uint TxTail = 0x008C;

    /// <summary>TX_HEAD (RO): free-running count of descriptors the device finished.</summary>
    public const uint TxHead = 0x0090;

    /// <summary>RX_BASE (RW, 64-bit): DMA address of the Ethernet receive descriptor ring.</summary>
    public const uint RxBase = 0x00A0;

    /// <summary>RX_SIZE (RW): receive ring entries (a power of two; 0 disables the ring).</summary>
    public const uint RxSize = 0x00A8;

    /// <summary>RX_TAIL (WO doorbell): free-running count of receive buffers the host posted.</summary>
    public const uint RxTail = 0x00AC;

    /// <summary>RX_HEAD (RO): free-running count of receive buffers the device filled.</summary>
    public const uint RxHead = 0x00B0;

    /// <summary>RX_DROPPED (RO): frames dropped for want of a posted receive buffer.</summary>
    public const uint RxDropped = 0x00B4;

    /// <summary>Doorbells: the send queue producer counter of QP <i>n</i> at <c>0x1000 + 8n</c>, its receive queue's at <c>+4</c>.</summary>
    public const uint QpDoorbells = 0x1000;

    /// <summary>Doorbells: the consumer counter of CQ <i>n</i> at <c>0x2000 + 4n</c>.</summary>
    public const uint CqDoorbells = 0x2000;

    /// <summary>The MSI-X table.</summary>
    public const uint MsiXTable = 0x8000;

    /// <summary>The MSI-X pending bit array.</summary>
    public const uint MsiXPba = 0x9000;

    /// <summary>CTRL.EN.</summary>
    public const uint ControlEnable = 1u << 0;

    /// <summary>CTRL.RST.</summary>
    public const uint ControlReset = 1u << 1;

    /// <summary>STATUS.RDY.</summary>
    public const uint StatusReady = 1u << 0;

    /// <summary>STATUS.FATAL: a ring or event write failed; the device stopped until reset.</summary>
    public const uint StatusFatal = 1u << 1;
}
