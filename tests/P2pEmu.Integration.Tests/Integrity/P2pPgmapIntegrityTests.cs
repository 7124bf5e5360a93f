using System;
using System.Collections.Generic;
using System.Linq;
using P2pEmu.Dma.Mapping;
using P2pEmu.Dma.Mm;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Host;
using P2pEmu.Integration.Tests.Pgmap;
using P2pEmu.Testing;
using Xunit;

namespace P2pEmu.Integration.Tests.Integrity;

/// <summary>
/// Peer-to-peer DMA into and out of another device's BAR: pages of the provider's p2pmem <c>allocate</c> file,
/// pinned with FOLL_PCI_P2PDMA and mapped by dma_map_sgtable, reached by bus address behind the switch (BUS_ADDR)
/// or by an IOVA through the IOMMU (THRU_HOST_BRIDGE), over unaligned windows and several seeds.
/// </summary>
public sealed class P2pPgmapIntegrityTests
{
    private const int PageCount = 4;
    private const FollFlags P2pWrite = FollFlags.Write | FollFlags.PciP2pdma;

    private static readonly (int Offset, int Size)[] s_windows = { (0, 4096), (1, 4097), (511, 12345), (4095, 2), (0, PageCount * 4096) };

    private static readonly int[] s_seeds = { 3, 99, 2026 };

    public static IEnumerable<object[]> Matrix() =>
        from thru in new[] { false, true }
        from w in s_windows
        from seed in s_seeds
        select new object[] { thru, w.Offset, w.Size, seed };

    [Theory]
    [MemberData(nameof(Matrix))]
    public void ClientWrite_IntoP2pPages_LandsExactlyInTheWindow(bool thruHostBridge, int offset, int size, int seed)
    {
        using var rig = new PgmapRig(thruHostBridge);
        using var buffer = new P2pBuffer(rig, seed, DmaDirection.FromDevice);
        byte[] data = Seeded.Bytes(seed, size);
        long peerBytes = rig.Machine.Fabric.BytesOnPath(RoutePath.SwitchPeer);

        DmaResult result = rig.ClientPort.Write(SgWindow.Slice(buffer.Segments, (ulong)offset, (ulong)size), data);

        Assert.True(result.IsSuccess, result.ToString());
        Assert.Equal(thruHostBridge ? 0 : size, rig.Machine.Fabric.BytesOnPath(RoutePath.SwitchPeer) - peerBytes);
        Assert.Equal(!thruHostBridge, buffer.IsBusAddress);
        IntegrityAssert.Equal(PathOf("client write -> P2P pages", thruHostBridge, offset, size, seed), Seeded.Overlay(buffer.Background, offset, data), buffer.BarBytes());
    }

    [Theory]
    [MemberData(nameof(Matrix))]
    public void ClientRead_FromP2pPages_SeesExactlyTheWindow(bool thruHostBridge, int offset, int size, int seed)
    {
        using var rig = new PgmapRig(thruHostBridge);
        using var buffer = new P2pBuffer(rig, seed, DmaDirection.ToDevice);
        var seen = new byte[size];

        DmaResult result = rig.ClientPort.Read(SgWindow.Slice(buffer.Segments, (ulong)offset, (ulong)size), seen);

        Assert.True(result.IsSuccess, result.ToString());
        IntegrityAssert.Equal(PathOf("P2P pages -> client read", thruHostBridge, offset, size, seed), buffer.Background.AsSpan(offset, size), seen);
    }

    private static string PathOf(string what, bool thruHostBridge, int offset, int size, int seed) =>
        $"{what} ({(thruHostBridge ? "THRU_HOST_BRIDGE" : "BUS_ADDR")}, offset {offset}, {size} bytes, seed {seed})";

    /// <summary>Pinned, DMA-mapped p2pmem pages whose BAR bytes hold seeded background.</summary>
    private sealed class P2pBuffer : IDisposable
    {
        private readonly PgmapRig _rig;
        private readonly MmStruct _mm;
        private readonly Page[] _pages = new Page[PageCount];
        private readonly SgTable _table;
        private readonly DmaDirection _direction;

        public P2pBuffer(PgmapRig rig, int seed, DmaDirection direction)
        {
            _rig = rig;
            _direction = direction;
            rig.Probe();
            _mm = rig.NewMm("integrity");
            ulong user = _mm.Mmap(0, PageCount * PgmapRig.Page, Prot.Read | Prot.Write, MapFlags.Shared, rig.Allocate).Value;
            Assert.Equal(PageCount, _mm.PinUserPages(user, PageCount, P2pWrite, _pages).Value);
            _table = PgmapRig.TableOf(_pages);
            Assert.Equal(Errno.None, rig.Machine.Dma.DmaMapSgtable(rig.ClientDma, _table, direction));
            Segments = PgmapRig.Segments(_table);
            Background = Seeded.Bytes(seed ^ 0x3c3c, PageCount * (int)PgmapRig.Page);
            for (int i = 0; i < PageCount; i++)
            {
                Background.AsSpan(i * (int)PgmapRig.Page, (int)PgmapRig.Page).CopyTo(PageSpan(i));
            }
        }

        public SgEntry[] Segments { get; }

        public byte[] Background { get; }

        public bool IsBusAddress => _table.Entries.Take(_table.Nents).All(e => e.IsBusAddress);

        /// <summary>The pages' bytes read straight from the BAR's backing, in user-buffer order.</summary>
        public byte[] BarBytes()
        {
            var bytes = new byte[Background.Length];
            for (int i = 0; i < PageCount; i++)
            {
                PageSpan(i).CopyTo(bytes.AsSpan(i * (int)PgmapRig.Page));
            }

            return bytes;
        }

        public void Dispose()
        {
            _rig.Machine.Dma.DmaUnmapSgtable(_rig.ClientDma, _table, _direction);
            Gup.UnpinUserPages(_pages);
            _mm.Dispose();
        }

        private Span<byte> PageSpan(int index)
        {
            ulong at = _pages[index].Phys.Value - _rig.ProviderBar.Address;
            return _rig.ProviderBar.Memory!.GetSpan(at, (int)PgmapRig.Page);
        }
    }
}
