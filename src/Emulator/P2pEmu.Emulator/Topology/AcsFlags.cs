using System;

namespace P2pEmu.Emulator.Topology;

/// <summary>ACS Capability / Control register bits (PCIe base spec, "ACS Extended Capability").</summary>
[Flags]
#pragma warning disable CA1711 // "Flags" is the register's own word.
public enum AcsFlags : ushort
#pragma warning restore CA1711
{
    None = 0,

    /// <summary>Source Validation.</summary>
    SV = 0x01,

    /// <summary>Translation Blocking.</summary>
    TB = 0x02,

    /// <summary>P2P Request Redirect.</summary>
    RR = 0x04,

    /// <summary>P2P Completion Redirect.</summary>
    CR = 0x08,

    /// <summary>Upstream Forwarding.</summary>
    UF = 0x10,

    /// <summary>P2P Egress Control.</summary>
    EC = 0x20,

    /// <summary>Direct Translated P2P.</summary>
    DT = 0x40,

    All = SV | TB | RR | CR | UF | EC | DT,
}
