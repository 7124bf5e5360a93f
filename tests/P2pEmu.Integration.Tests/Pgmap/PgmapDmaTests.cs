using System;
using System.Linq;
using System.Threading.Tasks;
using P2pEmu.Dma.Mapping;
using P2pEmu.Dma.Mm;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Host;
using Xunit;

namespace P2pEmu.Integration.Tests.Pgmap;

/// <summary>
/// A user buffer mapped from the provider's <c>allocate</c> file, pinned with FOLL_PCI_P2PDMA, DMA-mapped for a client
/// and written by the client's DMA engine through the fabric: the path O_DIRECT to a P2P buffer takes.
/// </summary>
public sealed class PgmapDmaTests
{
    private const ulong Page = PgmapRig.Page;
    private const FollFlags P2pWrite = FollFlags.Write | FollFlags.PciP2pdma;

    [Fact]
    public void ClientDma_IntoPinnedP2pPages_BusAddress_LandsInTheBarAndTheTaskSeesIt()
    {
        using var rig = new PgmapRig();
        rig.Probe();
        using MmStruct mm = rig.NewMm();
        ulong buffer = mm.Mmap(0, 8 * Page, Prot.Read | Prot.Write, MapFlags.Shared, rig.Allocate).Value;
        var pages = new Page[8];
        Assert.Equal(8, mm.PinUserPages(buffer, 8, P2pWrite, pages).Value);
        SgTable table = PgmapRig.TableOf(pages);
        Assert.Equal(Errno.None, rig.Machine.Dma.DmaMapSgtable(rig.ClientDma, table, DmaDirection.FromDevice));
        byte[] data = RandomBytes(1, 8 * (int)Page);
        long peerBytes = rig.Machine.Fabric.BytesOnPath(RoutePath.SwitchPeer);

        DmaResult dma = rig.ClientPort.Write(PgmapRig.Segments(table), data);

        Assert.True(dma.IsSuccess, dma.ToString());
        Assert.All(table.Entries.Take(table.Nents), sg => Assert.True(sg.IsBusAddress));
        Assert.Equal(8 * (long)Page, rig.Machine.Fabric.BytesOnPath(RoutePath.SwitchPeer) - peerBytes);
        var seen = new byte[data.Length];
        Assert.Equal(Errno.None, mm.ReadUser(buffer, seen));
        Assert.Null(Integrity.Mismatch(data, seen, "client DMA -> P2P pages -> task load"));
        rig.Machine.Dma.DmaUnmapSgtable(rig.ClientDma, table, DmaDirection.FromDevice);
        Gup.UnpinUserPages(pages);
    }

    [Fact]
    public void ClientCopy_FromPinnedHostPagesIntoPinnedP2pPages_IsOneCopyPerByte()
    {
        using var rig = new PgmapRig();
        rig.Probe();
        using MmStruct mm = rig.NewMm();
        ulong host = mm.Mmap(0, 4 * Page, Prot.Read | Prot.Write, MapFlags.Private | MapFlags.Anonymous).Value;
        ulong p2p = mm.Mmap(0, 4 * Page, Prot.Read | Prot.Write, MapFlags.Shared, rig.Allocate).Value;
        byte[] data = RandomBytes(2, 4 * (int)Page);
        Assert.Equal(Errno.None, mm.WriteUser(host, data));
        var hostPages = new Page[4];
        var p2pPages = new Page[4];
        Assert.Equal(4, mm.PinUserPages(host, 4, FollFlags.None, hostPages).Value);
        Assert.Equal(4, mm.PinUserPages(p2p, 4, P2pWrite, p2pPages).Value);
        SgTable source = PgmapRig.TableOf(hostPages);
        SgTable target = PgmapRig.TableOf(p2pPages);
        Assert.Equal(Errno.None, rig.Machine.Dma.DmaMapSgtable(rig.ClientDma, source, DmaDirection.ToDevice));
        Assert.Equal(Errno.None, rig.Machine.Dma.DmaMapSgtable(rig.ClientDma, target, DmaDirection.FromDevice));
        long copied = rig.Machine.Fabric.BytesCopied;

        DmaResult dma = rig.ClientPort.Copy(PgmapRig.Segments(source), PgmapRig.Segments(target));

        Assert.True(dma.IsSuccess, dma.ToString());
        Assert.Equal(4 * (long)Page, rig.Machine.Fabric.BytesCopied - copied);
        var seen = new byte[data.Length];
        mm.ReadUser(p2p, seen);
        Assert.Null(Integrity.Mismatch(data, seen, "host pages -> client copy -> P2P pages"));
        Gup.UnpinUserPages(hostPages);
        Gup.UnpinUserPages(p2pPages);
    }

    [Fact]
    public void ClientDma_ThroughTheHostBridge_UsesAnIova_AndALateDmaAfterRemovalIsAnIommuFault()
    {
        using var rig = new PgmapRig(thruHostBridge: true);
        rig.Probe();
        using MmStruct mm = rig.NewMm();
        ulong buffer = mm.Mmap(0, 2 * Page, Prot.Read | Prot.Write, MapFlags.Shared, rig.Allocate).Value;
        var pages = new Page[2];
        Assert.Equal(2, mm.PinUserPages(buffer, 2, P2pWrite, pages).Value);
        SgTable table = PgmapRig.TableOf(pages);
        Assert.Equal(Errno.None, rig.Machine.Dma.DmaMapSgtable(rig.ClientDma, table, DmaDirection.FromDevice));
        SgEntry[] segments = PgmapRig.Segments(table);
        Assert.False(table.Entries[0].IsBusAddress);
        Assert.False(rig.ProviderBar.Contains(segments[0].Address.Value)); // an IOVA, not the BAR's address
        byte[] data = RandomBytes(3, 2 * (int)Page);

        Assert.True(rig.ClientPort.Write(segments, data).IsSuccess);
        var seen = new byte[data.Length];
        mm.ReadUser(buffer, seen);
        Assert.Null(Integrity.Mismatch(data, seen, "client DMA via IOMMU -> P2P pages"));
        rig.Machine.Dma.DmaUnmapSgtable(rig.ClientDma, table, DmaDirection.FromDevice);
        rig.ClientDma.IommuCookie!.FlushQueues(); // lazy mode: the batch flush the flush queue's timer makes
        Gup.UnpinUserPages(pages);
        Assert.Equal(Errno.None, rig.P2p.RemoveProvider(rig.Provider));
        byte[] before = rig.ProviderBar.Memory!.GetSpan(0, 2 * (int)Page).ToArray();

        DmaResult late = rig.ClientPort.Write(segments, RandomBytes(4, 2 * (int)Page));

        Assert.Equal(RouteStatus.IommuFault, late.Status);
        Assert.Equal(0UL, late.BytesTransferred);
        Assert.Null(Integrity.Mismatch(before, rig.ProviderBar.Memory!.GetSpan(0, 2 * (int)Page), "BAR after a late DMA"));
    }

    [Fact]
    public async Task RemoveProvider_DuringADmaIntoPinnedPages_WaitsForItAndTheDataIsWhole()
    {
        using var rig = new PgmapRig();
        rig.Probe();
        using MmStruct mm = rig.NewMm();
        ulong buffer = mm.Mmap(0, 16 * Page, Prot.Read | Prot.Write, MapFlags.Shared, rig.Allocate).Value;
        var pages = new Page[16];
        mm.PinUserPages(buffer, 16, P2pWrite, pages);
        SgTable table = PgmapRig.TableOf(pages);
        rig.Machine.Dma.DmaMapSgtable(rig.ClientDma, table, DmaDirection.FromDevice);
        SgEntry[] segments = PgmapRig.Segments(table);
        byte[] data = RandomBytes(5, 16 * (int)Page);
        Task<Errno> remove = Task.Run(() => rig.P2p.RemoveProvider(rig.Provider));

        // The I/O in flight: it holds its pins, so the removal cannot complete under it.
        DmaResult dma = rig.ClientPort.Write(segments, data);
        var landed = new byte[data.Length];
        DmaResult readBack = rig.ClientPort.Read(segments, landed);
        bool removedUnderTheIo = remove.IsCompleted;
        rig.Machine.Dma.DmaUnmapSgtable(rig.ClientDma, table, DmaDirection.FromDevice);
        Gup.UnpinUserPages(pages);

        Assert.Equal(Errno.None, await remove);
        Assert.False(removedUnderTheIo);
        Assert.True(dma.IsSuccess, dma.ToString());
        Assert.True(readBack.IsSuccess, readBack.ToString());
        Assert.Null(Integrity.Mismatch(data, landed, "client DMA while the provider is being removed"));
        Assert.Equal(0, mm.PresentPteCount);
        Assert.Equal(Errno.EFAULT, mm.ReadUser(buffer, new byte[1]));
    }

    private static byte[] RandomBytes(int seed, int length)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }
}
