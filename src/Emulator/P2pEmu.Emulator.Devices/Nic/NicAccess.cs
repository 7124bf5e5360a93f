using System;

namespace P2pEmu.Emulator.Devices.Nic;

/// <summary>Memory key and QP access rights, with the bit values of Linux <c>enum ib_access_flags</c>.</summary>
[Flags]
public enum NicAccess : uint
{
    None = 0,
    LocalWrite = 1,
    RemoteWrite = 2,
    RemoteRead = 4,
}
