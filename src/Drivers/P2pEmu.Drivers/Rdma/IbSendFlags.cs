using System;

namespace P2pEmu.Drivers.Rdma;

/// <summary>Linux <c>enum ib_send_flags</c>.</summary>
#pragma warning disable CA1711 // Linux's name
[Flags]
public enum IbSendFlags
{
    None = 0,
    Fence = 1,
    Signaled = 2,
    Solicited = 4,
    Inline = 8,
}
#pragma warning restore CA1711
