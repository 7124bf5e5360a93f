using System;

namespace P2pEmu.Emulator.Pci;

/// <summary>
/// Lays out a function's capability list (from 0x40, linked from the Capabilities Pointer) and its
/// extended capability list (from 0x100), writing the headers and next pointers as the specs define.
/// </summary>
public sealed class CapabilityLayout
{
    private const int FirstStandardOffset = 0x40;

    private readonly ConfigSpace _config;
    private int _nextStandard = FirstStandardOffset;
    private int _lastStandard;
    private int _nextExtended = PciConfig.ExtendedCapabilityStart;
    private int _lastExtended;

    public CapabilityLayout(ConfigSpace config)
    {
        _config = config;
    }

    /// <summary>Adds a standard capability of <paramref name="lengthBytes"/> and returns its offset.</summary>
    public int Add(byte id, int lengthBytes)
    {
        int offset = _nextStandard;
        int end = offset + ((lengthBytes + 3) & ~3);
        if (end > PciConfig.ExtendedCapabilityStart)
        {
            throw new InvalidOperationException($"Capability 0x{id:x2} does not fit below 0x100.");
        }

        _config.Set8(offset, id);
        _config.Set8(offset + 1, 0);
        if (_lastStandard == 0)
        {
            _config.Set8(PciConfig.CapabilityList, (byte)offset);
            _config.Set16(PciConfig.Status, (ushort)(_config.Read16(PciConfig.Status) | PciConfig.StatusCapList));
        }
        else
        {
            _config.Set8(_lastStandard + 1, (byte)offset);
        }

        _lastStandard = offset;
        _nextStandard = end;
        return offset;
    }

    /// <summary>Adds an extended capability (header: id 15:0, version 19:16, next 31:20) and returns its offset.</summary>
    public int AddExtended(ushort id, int version, int lengthBytes)
    {
        int offset = _nextExtended;
        int end = offset + ((lengthBytes + 3) & ~3);
        if (end > ConfigSpace.Size)
        {
            throw new InvalidOperationException($"Extended capability 0x{id:x4} does not fit in 4 KiB.");
        }

        _config.Set32(offset, (uint)(id | (version << 16)));
        if (_lastExtended != 0)
        {
            uint header = _config.Read32(_lastExtended);
            _config.Set32(_lastExtended, (header & 0x000F_FFFF) | ((uint)offset << 20));
        }

        _lastExtended = offset;
        _nextExtended = end;
        return offset;
    }

    /// <summary>Finds a standard capability by walking the list as software does; 0 when absent.</summary>
    public static int Find(ConfigSpace config, byte id)
    {
        ArgumentNullException.ThrowIfNull(config);
        if ((config.Read16(PciConfig.Status) & PciConfig.StatusCapList) == 0)
        {
            return 0;
        }

        int offset = config.Read8(PciConfig.CapabilityList) & ~3;
        for (int guard = 0; offset >= FirstStandardOffset && guard < 48; guard++)
        {
            if (config.Read8(offset) == id)
            {
                return offset;
            }

            offset = config.Read8(offset + 1) & ~3;
        }

        return 0;
    }

    /// <summary>Finds an extended capability by walking the list; 0 when absent.</summary>
    public static int FindExtended(ConfigSpace config, ushort id)
    {
        ArgumentNullException.ThrowIfNull(config);
        int offset = PciConfig.ExtendedCapabilityStart;
        for (int guard = 0; offset >= PciConfig.ExtendedCapabilityStart && guard < 960; guard++)
        {
            uint header = config.Read32(offset);
            if (header == 0 || header == uint.MaxValue)
            {
                return 0;
            }

            if ((header & 0xFFFF) == id)
            {
                return offset;
            }

            offset = (int)(header >> 20) & ~3;
        }

        return 0;
    }
}
