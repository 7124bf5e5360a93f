using System;
using System.Collections.Generic;

namespace P2pEmu.Emulator.Topology;

/// <summary>
/// One entry of a <c>devices</c> or <c>children</c> list: a function (with its extra functions and VFs),
/// a root port with its children, or a switch with its ports.
/// </summary>
public sealed record DeviceDescription(string Name, DeviceKind Kind, string JsonPath)
{
    /// <summary>Position on the parent bus; null lets the builder assign the next free one.</summary>
    public PciSlot? Slot { get; init; }

    public ushort? VendorId { get; init; }

    public ushort? DeviceId { get; init; }

    /// <summary>PCI class code (base, sub, prog-if as 24 bits); null takes the kind's default.</summary>
    public uint? ClassCode { get; init; }

    public AcsDescription? Acs { get; init; }

    /// <summary>Under a root port: what hangs below it.</summary>
    public IReadOnlyList<DeviceDescription> Children { get; init; } = Array.Empty<DeviceDescription>();

    /// <summary>A switch's upstream port.</summary>
    public PortDescription? Upstream { get; init; }

    /// <summary>A switch's downstream ports.</summary>
    public IReadOnlyList<PortDescription> Ports { get; init; } = Array.Empty<PortDescription>();

    /// <summary>Memory BARs of a generic endpoint (kinds with a device model add their own).</summary>
    public IReadOnlyList<BarDescription> Bars { get; init; } = Array.Empty<BarDescription>();

    /// <summary>Further functions of a multi-function device.</summary>
    public IReadOnlyList<DeviceDescription> Functions { get; init; } = Array.Empty<DeviceDescription>();

    /// <summary>Number of SR-IOV virtual functions, named "&lt;pf&gt;.vf1", "&lt;pf&gt;.vf2", ...</summary>
    public int Vfs { get; init; }

    /// <summary>NVMe Controller Memory Buffer size in bytes (0: none).</summary>
    public ulong CmbBytes { get; init; }

    public IReadOnlyList<NamespaceDescription> Namespaces { get; init; } = Array.Empty<NamespaceDescription>();

    /// <summary>Device memory of a NIC or accelerator in bytes (0: the kind's default).</summary>
    public ulong MemoryBytes { get; init; }

    /// <summary>The NIC at the other end of this NIC's Ethernet cable (topology <c>link</c>), or null for none.</summary>
    public string? Link { get; init; }

    /// <summary>A fixed secondary bus number for a root port (from an lspci dump).</summary>
    public int? SecondaryBus { get; init; }
}
