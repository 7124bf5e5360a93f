using System;

namespace P2pEmu.Emulator.Pci;

/// <content>The MSI-X capability: Message Control (Enable, Function Mask) and where the table and PBA live.</content>
public sealed partial class PciEndpoint
{
    /// <summary>Offset of the MSI-X capability; 0 when the function has none.</summary>
    public int MsiXCapabilityOffset { get; private set; }

    /// <summary>Message Control's MSI-X Enable, as software last wrote it.</summary>
    public bool MsiXEnabled => (MsiXControl & MsiXConfig.FlagsEnable) != 0;

    /// <summary>Message Control's Function Mask: every vector is masked while it is set.</summary>
    public bool MsiXFunctionMasked => (MsiXControl & MsiXConfig.FlagsMaskAll) != 0;

    /// <summary>Number of MSI-X vectors (Table Size + 1); 0 without the capability.</summary>
    public int MsiXTableSize => MsiXCapabilityOffset == 0 ? 0 : (Config.Read16(MsiXCapabilityOffset + MsiXConfig.Flags) & MsiXConfig.FlagsQsize) + 1;

    /// <summary>The table's BAR index and offset, as the capability reports them.</summary>
    public (int Bar, uint Offset) MsiXTableLocation => Location(MsiXConfig.Table);

    /// <summary>The Pending Bit Array's BAR index and offset, as the capability reports them.</summary>
    public (int Bar, uint Offset) MsiXPbaLocation => Location(MsiXConfig.Pba);

    /// <summary>
    /// Raised after software wrote Message Control (MSI-X Enable or Function Mask may have changed), on the writing
    /// thread, so a table can deliver vectors that were pending while the function was masked.
    /// </summary>
    public event Action<PciEndpoint>? MsiXControlWritten;

    private ushort MsiXControl => MsiXCapabilityOffset == 0 ? (ushort)0 : Config.Read16(MsiXCapabilityOffset + MsiXConfig.Flags);

    private (int Bar, uint Offset) Location(int register)
    {
        if (MsiXCapabilityOffset == 0)
        {
            return (-1, 0);
        }

        uint value = Config.Read32(MsiXCapabilityOffset + register);
        return ((int)(value & MsiXConfig.BirMask), value & MsiXConfig.OffsetMask);
    }

    private void InitializeMsiX(MsiXSpec? spec, CapabilityLayout caps)
    {
        if (spec is null)
        {
            return;
        }

        if (spec.TableSize is < 1 or > MsiXConfig.MaxVectors)
        {
            throw new ArgumentException($"{Name}: an MSI-X table has 1 to {MsiXConfig.MaxVectors} vectors, not {spec.TableSize}.", nameof(spec));
        }

        CheckMsiXStructure(spec.TableBar, spec.TableOffset, (ulong)spec.TableSize * MsiXConfig.EntrySize, "table");
        CheckMsiXStructure(spec.PbaBar, spec.PbaOffset, (ulong)MsiXConfig.PbaBytes(spec.TableSize), "PBA");
        ulong tableEnd = spec.TableOffset + ((ulong)spec.TableSize * MsiXConfig.EntrySize);
        ulong pbaEnd = spec.PbaOffset + (ulong)MsiXConfig.PbaBytes(spec.TableSize);
        if (spec.TableBar == spec.PbaBar && spec.TableOffset < pbaEnd && spec.PbaOffset < tableEnd)
        {
            throw new ArgumentException($"{Name}: the MSI-X table and PBA overlap.", nameof(spec));
        }

        int offset = caps.Add(PciConfig.CapIdMsiX, MsiXConfig.Length);
        MsiXCapabilityOffset = offset;
        Config.Set16(offset + MsiXConfig.Flags, (ushort)(spec.TableSize - 1));
        Config.SetWritable(offset + MsiXConfig.Flags, 2, MsiXConfig.FlagsEnable | MsiXConfig.FlagsMaskAll);
        Config.Set32(offset + MsiXConfig.Table, spec.TableOffset | (uint)spec.TableBar);
        Config.Set32(offset + MsiXConfig.Pba, spec.PbaOffset | (uint)spec.PbaBar);
    }

    private void CheckMsiXStructure(int barIndex, uint offset, ulong lengthBytes, string what)
    {
        PciBar? bar = GetBar(barIndex);
        if (bar is null || (offset & ~MsiXConfig.OffsetMask) != 0 || offset + lengthBytes > bar.SizeBytes)
        {
            throw new ArgumentException($"{Name}: the MSI-X {what} at BAR{barIndex}+0x{offset:x} ({lengthBytes} bytes) is not QWORD aligned inside a BAR of the function.", nameof(barIndex));
        }
    }

    private void OnMsiXConfigWritten(int offset, int length)
    {
        int control = MsiXCapabilityOffset + MsiXConfig.Flags;
        if (MsiXCapabilityOffset != 0 && offset < control + 2 && offset + length > control)
        {
            MsiXControlWritten?.Invoke(this);
        }
    }
}
