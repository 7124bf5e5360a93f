using System;

namespace P2pEmu.Emulator.Memory;

/// <summary>
/// The machine's host RAM: one <see cref="BarRegion"/> of the same kind a memory BAR uses, so a DMA between
/// RAM and a peer BAR is a plain region-to-region copy.
/// </summary>
/// <remarks>
/// Committed lazily like any region: a large RAM costs only the pages a test or driver touches.
/// Dispose only after every device and IOMMU mapping of this RAM is gone (STYLE R10).
/// </remarks>
public sealed class HostMemory : IDisposable
{
    /// <summary>Creates host RAM of <paramref name="sizeBytes"/>, anonymous or backed by a file.</summary>
    /// <param name="sizeBytes">Size of RAM; greater than zero.</param>
    /// <param name="backingPath">
    /// A file to back RAM with (e.g. under <c>/dev/shm</c>) so another process can inspect it, or
    /// <see langword="null"/> for anonymous memory.
    /// </param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="sizeBytes"/> is zero or above <see cref="long.MaxValue"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="backingPath"/> is empty.</exception>
    /// <exception cref="System.IO.IOException">The mapping or the backing file could not be created.</exception>
    public HostMemory(ulong sizeBytes, string? backingPath = null)
    {
        Region = backingPath is null ? BarRegion.CreateAnonymous(sizeBytes) : BarRegion.CreateFile(backingPath, sizeBytes);
    }

    /// <summary>The memory itself. Owned by this object; do not dispose it separately.</summary>
    public BarRegion Region { get; }

    /// <summary>Size of host RAM in bytes.</summary>
    public ulong SizeBytes => Region.SizeBytes;

    /// <summary>Unmaps host RAM; idempotent.</summary>
    public void Dispose() => Region.Dispose();
}
