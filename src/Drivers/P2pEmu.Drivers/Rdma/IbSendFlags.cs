using System;

namespace P2pEmu.Drivers.Rdma;

/// <summary>Linux <c>enum ib_send_flags</c>.</summary>
[Flags]
public enum IbSendFlags
{
    None = 0,
    Fence = 1,
    Signaled = 2,
    Solicited = 4,
    Inline = 8,
}
