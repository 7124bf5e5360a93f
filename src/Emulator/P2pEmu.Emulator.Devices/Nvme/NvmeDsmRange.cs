using System.Runtime.InteropServices;

namespace P2pEmu.Emulator.Devices.Nvme;

/// <summary>A 16-byte Dataset Management range (NVMe NVM command set spec 1.0, "Dataset Management – Range Definition").</summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public struct NvmeDsmRange
{
    /// <summary>Bytes 3:0, Context Attributes (hints; ignored).</summary>
    public uint ContextAttributes;

    /// <summary>Bytes 7:4, Length in logical blocks (not 0-based).</summary>
    public uint LengthInBlocks;

    /// <summary>Bytes 15:8, the Starting LBA.</summary>
    public ulong StartingLba;
}
