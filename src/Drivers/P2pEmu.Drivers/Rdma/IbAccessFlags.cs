using System;

namespace P2pEmu.Drivers.Rdma;

/// <summary>Linux <c>enum ib_access_flags</c> (the rights this device checks).</summary>
[Flags]
public enum IbAccessFlags
{
    None = 0,
    LocalWrite = 1,
    RemoteWrite = 2,
    RemoteRead = 4,
    RemoteAtomic = 8,
}
