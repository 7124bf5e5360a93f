namespace P2pEmu.Drivers.Nvme;

/// <summary>NVMe opcodes the driver sends (Linux <c>enum nvme_admin_opcode</c>, <c>enum nvme_opcode</c>).</summary>
public static class NvmeOpcode
{
    public const byte AdminDeleteSq = 0x00;
    public const byte AdminCreateSq = 0x01;
    public const byte AdminGetLogPage = 0x02;
    public const byte AdminDeleteCq = 0x04;
    public const byte AdminCreateCq = 0x05;
    public const byte AdminIdentify = 0x06;
    public const byte AdminSetFeatures = 0x09;
    public const byte AdminGetFeatures = 0x0A;

    public const byte CmdFlush = 0x00;
    public const byte CmdWrite = 0x01;
    public const byte CmdRead = 0x02;
    public const byte CmdWriteZeroes = 0x08;
    public const byte CmdDsm = 0x09;

    /// <summary>Identify CNS: namespace.</summary>
    public const byte IdCnsNs = 0x00;

    /// <summary>Identify CNS: controller.</summary>
    public const byte IdCnsCtrl = 0x01;

    /// <summary>Identify CNS: active namespace ID list.</summary>
    public const byte IdCnsNsActiveList = 0x02;

    /// <summary>Feature: Number of Queues.</summary>
    public const byte FeatNumQueues = 0x07;

    /// <summary>Create queue flag: physically contiguous (PC).</summary>
    public const uint QueuePhysContig = 1;

    /// <summary>Create CQ flag: interrupts enabled (IEN).</summary>
    public const uint CqIrqEnabled = 1 << 1;
}
