using System;
using System.Globalization;

namespace P2pEmu.Emulator.Topology;

/// <summary>A device/function position on a bus, written "dd.f" in topology files.</summary>
public readonly record struct PciSlot(int Device, int Function)
{
    public int DevFn => (Device << 3) | Function;

    public static bool TryParse(string text, out PciSlot slot)
    {
        slot = default;
        if (text is null || text.Length != 4 || text[2] != '.')
        {
            return false;
        }

        if (!int.TryParse(text.AsSpan(0, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out int dev)
            || !int.TryParse(text.AsSpan(3, 1), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out int fn)
            || dev > 0x1F || fn > 7)
        {
            return false;
        }

        slot = new PciSlot(dev, fn);
        return true;
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Device:x2}.{Function:x1}");
}
