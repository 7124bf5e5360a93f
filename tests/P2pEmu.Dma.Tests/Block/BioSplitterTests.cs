using System.Collections.Generic;
using System.Linq;
using P2pEmu.Dma.Block;
using P2pEmu.Dma.P2pDma;
using P2pEmu.Emulator.Fabric;
using Xunit;

namespace P2pEmu.Dma.Tests.Block;

public sealed class BioSplitterTests
{
    private static readonly QueueLimits s_nvme = new() { MaxHwSectors = 256, MaxSegments = 33, VirtBoundaryMask = 4095, DmaAlignment = 3 };

    private static Bio MakeBio(P2pDmaHost p2p, params (ulong Phys, uint Length)[] vecs)
    {
        var bio = new Bio(p2p, ReqOp.Write, 100);
        foreach ((ulong phys, uint length) in vecs)
        {
            BioVec v = BioVec.FromPhys(phys, length);
            Assert.Equal(length, bio.BioAddPage(v.Page, v.Length, v.Offset));
        }

        return bio;
    }

    [Fact]
    public void Split_AtMaxHwSectors_PiecesFollowEachOther()
    {
        (PcieFabric fabric, P2pDmaHost p2p) = BlockTestbed.Build();
        using PcieFabric owned = fabric;
        var splitter = new BioSplitter();

        Assert.Equal(BlkStatus.Ok, splitter.Split(MakeBio(p2p, (0x10_0000, 300 * 1024)), s_nvme));
        IReadOnlyList<BioSplitter.Piece> pieces = splitter.Pieces;

        Assert.Equal(new uint[] { 131072, 131072, 45056 }, pieces.Select(p => p.Bytes));
        Assert.Equal(new ulong[] { 100, 356, 612 }, pieces.Select(p => p.Sector));
        Assert.Equal(0x10_0000UL + 131072, splitter.Segments(pieces[1])[0].Phys);
    }

    [Fact]
    public void Split_AtAVirtualBoundaryGap()
    {
        (PcieFabric fabric, P2pDmaHost p2p) = BlockTestbed.Build();
        using PcieFabric owned = fabric;
        var splitter = new BioSplitter();

        Assert.Equal(BlkStatus.Ok, splitter.Split(MakeBio(p2p, (0x10_0200, 3584), (0x30_0000, 1024), (0x50_0000, 512)), s_nvme));
        IReadOnlyList<BioSplitter.Piece> pieces = splitter.Pieces;

        // 3584 ends on the boundary; 1024 does not, so the next segment starts a new piece.
        Assert.Equal(new uint[] { 4608, 512 }, pieces.Select(p => p.Bytes));
        Assert.Equal(2, splitter.Segments(pieces[0]).Length);
    }

    [Fact]
    public void Split_InsideALogicalBlock_CarriesTheRemainderIntoTheNextPiece()
    {
        (PcieFabric fabric, P2pDmaHost p2p) = BlockTestbed.Build();
        using PcieFabric owned = fabric;
        var splitter = new BioSplitter();
        QueueLimits twoSegments = s_nvme with { MaxSegments = 2, VirtBoundaryMask = 0 };

        // Segments of 700, 700 and 648 bytes; two segments per piece puts the first cut at byte 1400.
        Assert.Equal(BlkStatus.Ok, splitter.Split(MakeBio(p2p, (0x10_0000, 700), (0x30_0000, 700), (0x50_0000, 648)), twoSegments));
        IReadOnlyList<BioSplitter.Piece> pieces = splitter.Pieces;

        Assert.Equal(new uint[] { 1024, 1024 }, pieces.Select(p => p.Bytes));
        Assert.Equal(0x30_0000UL + 324, splitter.Segments(pieces[1])[0].Phys);
        Assert.Equal(376u, splitter.Segments(pieces[1])[0].Length);
    }

    [Fact]
    public void Split_GapInsideTheFirstBlock_IsInval()
    {
        (PcieFabric fabric, P2pDmaHost p2p) = BlockTestbed.Build();
        using PcieFabric owned = fabric;
        var splitter = new BioSplitter();

        Assert.Equal(BlkStatus.Inval, splitter.Split(MakeBio(p2p, (0x10_0000, 256), (0x30_0000, 256)), s_nvme));
        Assert.Equal(BlkStatus.Inval, splitter.Split(MakeBio(p2p, (0x10_0000, 700)), s_nvme));
    }

    [Fact]
    public void Split_AgainOnTheSameSplitter_DropsTheEarlierPieces()
    {
        (PcieFabric fabric, P2pDmaHost p2p) = BlockTestbed.Build();
        using PcieFabric owned = fabric;
        var splitter = new BioSplitter();
        Assert.Equal(BlkStatus.Ok, splitter.Split(MakeBio(p2p, (0x10_0000, 300 * 1024)), s_nvme));

        Assert.Equal(BlkStatus.Ok, splitter.Split(MakeBio(p2p, (0x40_0000, 200 * 1024)), s_nvme));

        Assert.Equal(new uint[] { 131072, 73728 }, splitter.Pieces.Select(p => p.Bytes));
        Assert.Equal(0x40_0000UL + 131072, splitter.Segments(splitter.Pieces[1])[0].Phys);
        Assert.Equal(1, splitter.Segments(splitter.Pieces[1]).Length);
    }
}
