using System;
using System.Collections.Generic;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Host;
using P2pEmu.Emulator.Pci;

namespace P2pEmu.Drivers.Pci;

/// <summary>
/// A driver's MSI-X vectors (Linux <c>pci_alloc_irq_vectors(…, PCI_IRQ_MSIX)</c> with <c>msix_capability_init</c>,
/// <c>request_irq</c> and <c>pci_free_irq_vectors</c>): table entry <i>n</i> carries a message the machine's interrupt
/// controller allocated, programmed through the BAR the capability names, with a handler per entry.
/// </summary>
internal sealed class MsixVectors
{
    private readonly PciEndpoint _pdev;
    private readonly CpuAccess _cpu;
    private readonly MsiController _msi;
    private readonly List<MsiMsg> _irqs = new();
    private ulong _table;

    public MsixVectors(PciEndpoint pdev, CpuAccess cpu, MsiController msi)
    {
        _pdev = pdev;
        _cpu = cpu;
        _msi = msi;
    }

    /// <summary>The messages programmed, by table entry.</summary>
    public IReadOnlyList<MsiMsg> Messages => _irqs;

    public int Count => _irqs.Count;

    /// <summary>
    /// Programs table entries up to <paramref name="count"/> − 1 that are not programmed yet, each calling
    /// <paramref name="handler"/> with its entry: the first call enables MSI-X with every vector masked by Function Mask,
    /// as <c>msix_capability_init</c> does, and clears it once entry 0 is set. Stops early when the table or the
    /// interrupt controller runs out (<paramref name="exhausted"/> hears of the entry that got none).
    /// </summary>
    /// <returns>How many entries are in use now; 0 when the function has no MSI-X (the driver polls).</returns>
    public int Grow(int count, Action<int> handler, Action<int>? exhausted = null)
    {
        int cap = _pdev.MsiXCapabilityOffset;
        if (cap == 0)
        {
            return 0;
        }

        int tableSize = (_pdev.Config.Read16(cap + MsiXConfig.Flags) & MsiXConfig.FlagsQsize) + 1;
        bool first = _irqs.Count == 0;
        if (first)
        {
            uint table = _pdev.Config.Read32(cap + MsiXConfig.Table);
            PciBar? bar = _pdev.GetBar((int)(table & MsiXConfig.BirMask));
            if (bar is null)
            {
                return 0;
            }

            _table = bar.Address + (table & MsiXConfig.OffsetMask);
            WriteControl(MsiXConfig.FlagsEnable | MsiXConfig.FlagsMaskAll);
        }

        while (_irqs.Count < Math.Min(count, tableSize))
        {
            Result<MsiMsg> message = _msi.Allocate();
            int entry = _irqs.Count;
            if (!message.IsSuccess)
            {
                exhausted?.Invoke(entry);
                break;
            }

            ulong at = _table + ((ulong)entry * MsiXConfig.EntrySize);
            _cpu.Writel(at + MsiXConfig.EntryVectorControl, MsiXConfig.EntryCtrlMaskBit);
            _cpu.Writel(at + MsiXConfig.EntryLowerAddress, message.Value.AddressLo);
            _cpu.Writel(at + MsiXConfig.EntryUpperAddress, message.Value.AddressHi);
            _cpu.Writel(at + MsiXConfig.EntryData, message.Value.Data);
            _irqs.Add(message.Value);
            _msi.SetHandler(message.Value, _ => handler(entry));
            _cpu.Writel(at + MsiXConfig.EntryVectorControl, 0); // request_irq: unmasked
        }

        if (_irqs.Count == 0)
        {
            WriteControl(0);
            return 0;
        }

        if (first)
        {
            WriteControl(MsiXConfig.FlagsEnable);
        }

        return _irqs.Count;
    }

    /// <summary>Masks every entry, disables MSI-X and frees the vectors, so a late message is spurious and no handler runs once this returns.</summary>
    public void Free()
    {
        if (_irqs.Count == 0)
        {
            return;
        }

        for (int entry = 0; entry < _irqs.Count; entry++)
        {
            _cpu.Writel(_table + ((ulong)entry * MsiXConfig.EntrySize) + MsiXConfig.EntryVectorControl, MsiXConfig.EntryCtrlMaskBit);
        }

        WriteControl(0);
        foreach (MsiMsg message in _irqs)
        {
            _msi.SetHandler(message, null);
            _msi.Free(message);
        }

        _irqs.Clear();
    }

    private void WriteControl(ushort flags)
    {
        int control = _pdev.MsiXCapabilityOffset + MsiXConfig.Flags;
        ushort value = _pdev.Config.Read16(control);
        _pdev.Config.Write16(control, (ushort)((value & ~(MsiXConfig.FlagsEnable | MsiXConfig.FlagsMaskAll)) | flags));
    }
}
