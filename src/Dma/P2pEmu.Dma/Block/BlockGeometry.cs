namespace P2pEmu.Dma.Block;

/// <summary>Fixed sizes of the block layer: Linux's 512-byte sector and 4 KiB page.</summary>
public static class BlockGeometry
{
    /// <summary><c>SECTOR_SHIFT</c>: block-layer addresses are always in 512-byte sectors.</summary>
    public const int SectorShift = 9;

    /// <summary><c>SECTOR_SIZE</c>.</summary>
    public const uint SectorSize = 1u << SectorShift;

    /// <summary><c>PAGE_SIZE</c>.</summary>
    public const ulong PageSize = 4096;

    /// <summary><c>BIO_MAX_VECS</c>: the most bio_vecs one bio holds.</summary>
    public const int BioMaxVecs = 256;
}
