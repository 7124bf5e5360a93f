using System;
using P2pEmu.Emulator.Pci;

namespace P2pEmu.Dma.P2pDma;

/// <summary>
/// A Linux <c>struct device</c>, as far as P2PDMA needs one: a name, a parent, and the PCI function it is
/// (if it is one). A block device or an RDMA port is a device whose ancestor is a PCI function.
/// </summary>
public sealed class Device
{
    public Device(string name, Device? parent = null, PciFunction? pci = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        Name = name;
        Parent = parent;
        Pci = pci;
    }

    public string Name { get; }

    public Device? Parent { get; }

    /// <summary>The PCI function this device is (<c>dev_is_pci</c>); null for other devices.</summary>
    public PciFunction? Pci { get; }

    /// <summary>The device of a PCI function.</summary>
    public static Device ForPci(PciFunction function)
    {
        ArgumentNullException.ThrowIfNull(function);
        return new Device(function.Name, null, function);
    }

    /// <summary>Linux <c>find_parent_pci_dev</c>: this device if it is PCI, else the nearest PCI ancestor.</summary>
    public PciFunction? FindParentPciDev()
    {
        for (Device? d = this; d is not null; d = d.Parent)
        {
            if (d.Pci is not null)
            {
                return d.Pci;
            }
        }

        return null;
    }

    public override string ToString() => Name;
}
