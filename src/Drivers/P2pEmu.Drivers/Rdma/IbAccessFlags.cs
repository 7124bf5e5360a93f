using System;

namespace P2pEmu.Drivers.Rdma;

/// <summary>Linux <c>enum ib_access_flags</c> (the rights this device checks).</summary>
#pragma warning disable CA1711 // Linux's name
[Flags]
public enum IbAccessFlags
{
    None = 0,
    LocalWrite = 1,
    RemoteWrite = 2,
    RemoteRead = 4,
    RemoteAtomic = 8,
}
#pragma warning restore CA1711
