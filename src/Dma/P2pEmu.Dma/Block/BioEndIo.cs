namespace P2pEmu.Dma.Block;

/// <summary>Linux <c>bio_end_io_t</c>: what runs when a bio ends; <see cref="Bio.Status"/> says how.</summary>
public delegate void BioEndIo(Bio bio);
