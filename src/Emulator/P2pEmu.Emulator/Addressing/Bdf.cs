using System;
using System.Globalization;

namespace P2pEmu.Emulator.Addressing;

/// <summary>A PCIe requester/completer ID: bus (8 bits), device (5 bits), function (3 bits).</summary>
public readonly record struct Bdf(ushort Value)
{
    public Bdf(int bus, int device, int function)
        : this(Pack(bus, device, function))
    {
    }

    public int Bus => Value >> 8;

    public int Device => (Value >> 3) & 0x1F;

    public int Function => Value & 0x7;

    /// <summary>Device and function as one byte, as Linux's <c>devfn</c>.</summary>
    public int DevFn => Value & 0xFF;

    public static Bdf FromBusDevFn(int bus, int devFn)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bus);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(bus, 0xFF);
        ArgumentOutOfRangeException.ThrowIfNegative(devFn);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(devFn, 0xFF);
        return new Bdf((ushort)((bus << 8) | devFn));
    }

    /// <summary>Parses "bb:dd.f" (hex), as lspci prints it.</summary>
    public static bool TryParse(string text, out Bdf bdf)
    {
        bdf = default;
        if (text is null || text.Length != 7 || text[2] != ':' || text[5] != '.')
        {
            return false;
        }

        if (!int.TryParse(text.AsSpan(0, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out int bus)
            || !int.TryParse(text.AsSpan(3, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out int dev)
            || !int.TryParse(text.AsSpan(6, 1), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out int fn)
            || dev > 0x1F || fn > 7)
        {
            return false;
        }

        bdf = new Bdf(bus, dev, fn);
        return true;
    }

    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{Bus:x2}:{Device:x2}.{Function:x1}");

    private static ushort Pack(int bus, int device, int function)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bus);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(bus, 0xFF);
        ArgumentOutOfRangeException.ThrowIfNegative(device);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(device, 0x1F);
        ArgumentOutOfRangeException.ThrowIfNegative(function);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(function, 7);
        return (ushort)((bus << 8) | (device << 3) | function);
    }
}
