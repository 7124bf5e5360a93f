using System;
using P2pEmu.Emulator.Memory;

namespace P2pEmu.Emulator.Devices.Nvme;

/// <summary>A namespace of 512-byte logical blocks backed by anonymous memory or a file.</summary>
public sealed class NvmeNamespace : IDisposable
{
    /// <summary>log2 of the only LBA format's data size (LBAF0: 512 bytes).</summary>
    public const int LbaShift = 9;

    /// <summary>The only LBA format's data size in bytes.</summary>
    public const int LbaBytes = 1 << LbaShift;

    /// <summary>Creates a namespace of <paramref name="sizeBytes"/> rounded down to whole blocks.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The size is below one block.</exception>
    public NvmeNamespace(uint nsid, ulong sizeBytes, string? backingPath = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(sizeBytes, (ulong)LbaBytes);
        Nsid = nsid;
        BlockCount = sizeBytes >> LbaShift;
        ulong bytes = BlockCount << LbaShift;
        Memory = backingPath is null ? BarRegion.CreateAnonymous(bytes) : BarRegion.CreateFile(backingPath, bytes);
    }

    /// <summary>The namespace identifier (1-based).</summary>
    public uint Nsid { get; }

    /// <summary>NSZE = NCAP = NUSE, in logical blocks.</summary>
    public ulong BlockCount { get; }

    /// <summary>The media; test code may inspect it directly.</summary>
    public BarRegion Memory { get; }

    /// <inheritdoc/>
    public void Dispose() => Memory.Dispose();
}
