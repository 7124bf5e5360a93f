using System.Collections.Generic;
using P2pEmu.Dma.Block;
using P2pEmu.Dma.P2pDma;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Fabric;
using Xunit;

namespace P2pEmu.Dma.Tests.Block;

public sealed class BioTests
{
    [Fact]
    public void BioAddPage_MergesPhysicallyContiguousPages_IntoOneVec()
    {
        (PcieFabric fabric, P2pDmaHost p2p) = BlockTestbed.Build();
        using PcieFabric owned = fabric;
        var bio = new Bio(p2p, ReqOp.Write, 8);

        Assert.Equal(512u, bio.BioAddPage(new PhysAddress(0x10_0000), 512, 3584));
        Assert.Equal(4096u, bio.BioAddPage(new PhysAddress(0x10_1000), 4096, 0));
        Assert.Equal(4096u, bio.BioAddPage(new PhysAddress(0x20_0000), 4096, 0));

        Assert.Equal(2, bio.Vecs.Count);
        Assert.Equal(new BioVec(new PhysAddress(0x10_0000), 3584, 4608), bio.Vecs[0]);
        Assert.Equal(8704u, bio.Size);
        Assert.Equal(ReqFlags.None, bio.Flags);
        Assert.Null(bio.Pagemap);
    }

    [Fact]
    public void BioAddPage_P2pPages_FlagTheBio_AndNeverMixWithHostPagesOrAnotherPagemap()
    {
        (PcieFabric fabric, P2pDmaHost p2p) = BlockTestbed.Build();
        using PcieFabric owned = fabric;
        var p0 = new PhysAddress(BlockTestbed.Bar(fabric, "p0"));
        var p1 = new PhysAddress(BlockTestbed.Bar(fabric, "p1"));
        var host = new PhysAddress(0x10_0000);
        var bio = new Bio(p2p, ReqOp.Read, 0);

        Assert.Equal(4096u, bio.BioAddPage(p0, 4096, 0));
        Assert.Equal(0u, bio.BioAddPage(host, 4096, 0));
        Assert.Equal(0u, bio.BioAddPage(p1, 4096, 0));
        Assert.Equal(4096u, bio.BioAddPage(new PhysAddress(p0.Value + 0x3000), 4096, 0));

        Assert.Equal(ReqFlags.P2pdma | ReqFlags.NoMerge, bio.Flags);
        Assert.Same(p2p.FindPagemap(p0.Value), bio.Pagemap);
        Assert.Equal(8192u, bio.Size);

        var hostBio = new Bio(p2p, ReqOp.Read, 0);
        Assert.Equal(4096u, hostBio.BioAddPage(host, 4096, 0));
        Assert.Equal(0u, hostBio.BioAddPage(p0, 4096, 0));
    }

    [Fact]
    public void BioAddPage_RefusesANewVecWhenFull_ButStillMergesIntoTheLast()
    {
        (PcieFabric fabric, P2pDmaHost p2p) = BlockTestbed.Build();
        using PcieFabric owned = fabric;
        var bio = new Bio(p2p, ReqOp.Read, 0, maxVecs: 2);
        bio.BioAddPage(new PhysAddress(0x10_0000), 4096, 0);
        bio.BioAddPage(new PhysAddress(0x30_0000), 4096, 0);

        Assert.True(bio.IsFull);
        Assert.Equal(0u, bio.BioAddPage(new PhysAddress(0x50_0000), 4096, 0));
        Assert.Equal(4096u, bio.BioAddPage(new PhysAddress(0x30_1000), 4096, 0));
        Assert.Equal(12288u, bio.Size);
    }

    [Fact]
    public void TrimTail_AppendsTheBytesOffTheEnd_AcrossVecs_InOrder()
    {
        (PcieFabric fabric, P2pDmaHost p2p) = BlockTestbed.Build();
        using PcieFabric owned = fabric;
        var bio = new Bio(p2p, ReqOp.Read, 0);
        bio.BioAddPage(new PhysAddress(0x10_0000), 1000, 0);
        bio.BioAddPage(new PhysAddress(0x30_0000), 100, 0);

        var tail = new List<BioVec> { BioVec.FromPhys(0x70_0000, 512) };
        bio.TrimTail(300, tail);

        Assert.Equal(800u, bio.Size);
        Assert.Equal(new[] { BioVec.FromPhys(0x70_0000, 512), BioVec.FromPhys(0x10_0000 + 800, 200), BioVec.FromPhys(0x30_0000, 100) }, tail);
        Assert.Equal(new BioVec(new PhysAddress(0x10_0000), 0, 800), Assert.Single(bio.Vecs));
    }
}
