using System;
using System.IO;
using P2pEmu.Emulator.Memory;

namespace P2pEmu.Emulator.Devices.Nvme;

/// <summary>
/// A namespace of 512-byte logical blocks backed by a file — a given one, or by default a sparse temporary file that is
/// unlinked as soon as it is mapped, so it goes with the namespace even if the process dies — or by anonymous memory.
/// </summary>
public sealed class NvmeNamespace : IDisposable
{
    /// <summary>log2 of the only LBA format's data size (LBAF0: 512 bytes).</summary>
    public const int LbaShift = 9;

    /// <summary>The only LBA format's data size in bytes.</summary>
    public const int LbaBytes = 1 << LbaShift;

    /// <summary>Creates a namespace of <paramref name="sizeBytes"/> rounded down to whole blocks.</summary>
    /// <param name="backingPath">The file that backs it (created or extended sparsely); null for a temporary file or RAM.</param>
    /// <param name="inRam">With no <paramref name="backingPath"/>: anonymous memory instead of a temporary file.</param>
    /// <exception cref="ArgumentOutOfRangeException">The size is below one block.</exception>
    public NvmeNamespace(uint nsid, ulong sizeBytes, string? backingPath = null, bool inRam = false)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(sizeBytes, (ulong)LbaBytes);
        Nsid = nsid;
        BlockCount = sizeBytes >> LbaShift;
        ulong bytes = BlockCount << LbaShift;
        Memory = backingPath is not null ? BarRegion.CreateFile(backingPath, bytes)
            : inRam ? BarRegion.CreateAnonymous(bytes)
            : CreateTemporaryFile(nsid, bytes);
    }

    /// <summary>The namespace identifier (1-based).</summary>
    public uint Nsid { get; }

    /// <summary>NSZE = NCAP = NUSE, in logical blocks.</summary>
    public ulong BlockCount { get; }

    /// <summary>The media; test code may inspect it directly.</summary>
    public BarRegion Memory { get; }

    /// <summary>True for a file (given or temporary), false for anonymous memory.</summary>
    public bool IsFileBacked => Memory.BackingPath is not null;

    /// <inheritdoc/>
    public void Dispose() => Memory.Dispose();

    private static BarRegion CreateTemporaryFile(uint nsid, ulong bytes)
    {
        string path = Path.Combine(Path.GetTempPath(), $"p2pemu-ns{nsid}-{Guid.NewGuid():N}.img");
        BarRegion region = BarRegion.CreateFile(path, bytes);
        File.Delete(path); // the mapping keeps the file's blocks until the region is disposed
        return region;
    }
}
