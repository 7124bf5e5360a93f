using System;
using System.Collections.Generic;
using System.Linq;
using P2pEmu.Dma.Mapping;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Host;
using P2pEmu.Emulator.Topology;
using P2pEmu.Testing;
using Xunit;

namespace P2pEmu.Integration.Tests.Integrity;

/// <summary>
/// Device DMA into and out of host RAM through the DMA API (dma_map_phys and dma_map_sgtable) with the IOMMU off,
/// in passthrough and translating, over 4 KiB and 2 MiB buffers, unaligned offsets, odd sizes and several seeds.
/// </summary>
public sealed class DmaApiIntegrityTests
{
    private const int SmallOrder = 2;   // 16 KiB of 4 KiB pages
    private const int HugeOrder = 9;    // one 2 MiB block

    /// <summary>(order, offset, size) cases: odd sizes and offsets in 4 KiB pages, and in and across a 2 MiB block.</summary>
    private static readonly (int Order, int Offset, int Size)[] s_windows =
    {
        (SmallOrder, 0, 4096),
        (SmallOrder, 1, 4097),
        (SmallOrder, 511, 12345),
        (SmallOrder, 4095, 2),
        (HugeOrder, 0, 2 << 20),
        (HugeOrder, 4095, 12345),
        (HugeOrder, 1, (2 << 20) - 1),
    };

    private static readonly int[] s_seeds = { 1, 17, 4242 };

    public static IEnumerable<object[]> Matrix() =>
        from mode in Enum.GetValues<IommuMode>()
        from w in s_windows
        from seed in s_seeds.Take(w.Size > 1 << 20 ? 1 : s_seeds.Length)
        select new object[] { mode, w.Order, w.Offset, w.Size, seed };

    [Theory]
    [MemberData(nameof(Matrix))]
    public void DmaMapPhys_DeviceWrite_LandsExactlyInTheWindow(IommuMode mode, int order, int offset, int size, int seed)
    {
        using var rig = new HostBufferRig(mode, order, seed);
        byte[] data = Seeded.Bytes(seed, size);
        DmaAddress dma = rig.Machine.Dma.DmaMapPhys(rig.Dma, new PhysAddress(rig.Buffer + (ulong)offset), (ulong)size, DmaDirection.FromDevice);
        Assert.False(DmaApi.IsMappingError(dma));

        DmaResult result = rig.Port.Write(dma, data);

        Assert.True(result.IsSuccess, result.ToString());
        IntegrityAssert.Equal(Path("dma_map_phys write", mode, order, offset, size, seed), Seeded.Overlay(rig.Background, offset, data), rig.Ram);
        rig.Machine.Dma.DmaUnmapPhys(rig.Dma, dma, (ulong)size, DmaDirection.FromDevice);
    }

    [Theory]
    [MemberData(nameof(Matrix))]
    public void DmaMapPhys_DeviceRead_SeesExactlyTheWindow(IommuMode mode, int order, int offset, int size, int seed)
    {
        using var rig = new HostBufferRig(mode, order, seed);
        DmaAddress dma = rig.Machine.Dma.DmaMapPhys(rig.Dma, new PhysAddress(rig.Buffer + (ulong)offset), (ulong)size, DmaDirection.ToDevice);
        Assert.False(DmaApi.IsMappingError(dma));
        var seen = new byte[size];

        DmaResult result = rig.Port.Read(dma, seen);

        Assert.True(result.IsSuccess, result.ToString());
        IntegrityAssert.Equal(Path("dma_map_phys read", mode, order, offset, size, seed), rig.Background.AsSpan(offset, size), seen);
        rig.Machine.Dma.DmaUnmapPhys(rig.Dma, dma, (ulong)size, DmaDirection.ToDevice);
    }

    [Theory]
    [MemberData(nameof(Matrix))]
    public void DmaMapSgtable_DeviceWrite_OverUnevenEntries_LandsExactlyInTheWindow(IommuMode mode, int order, int offset, int size, int seed)
    {
        using var rig = new HostBufferRig(mode, order, seed);
        var table = new SgTable(Chunks(offset, size, seed).Select(c => new Scatterlist(new PhysAddress(rig.Buffer + (ulong)c.Offset), (uint)c.Length)).ToList());
        Assert.Equal(Errno.None, rig.Machine.Dma.DmaMapSgtable(rig.Dma, table, DmaDirection.FromDevice));
        byte[] data = Seeded.Bytes(seed, size);

        DmaResult result = rig.Port.Write(table.DmaSegments().ToArray(), data);

        Assert.True(result.IsSuccess, result.ToString());
        Assert.Equal((ulong)size, result.BytesTransferred);
        IntegrityAssert.Equal(Path("dma_map_sgtable write", mode, order, offset, size, seed), Seeded.Overlay(rig.Background, offset, data), rig.Ram);
        rig.Machine.Dma.DmaUnmapSgtable(rig.Dma, table, DmaDirection.FromDevice);
    }

    [Fact]
    public void DmaMapPhys_Translate_2MiBBlock_IsOneLargeIommuLeaf()
    {
        using var rig = new HostBufferRig(IommuMode.Translate, HugeOrder, seed: 9);

        DmaAddress dma = rig.Machine.Dma.DmaMapPhys(rig.Dma, new PhysAddress(rig.Buffer), 2UL << 20, DmaDirection.Bidirectional);

        Assert.Equal(2UL << 20, rig.LeafBytes(dma));
        Assert.Equal(2UL << 20, rig.LeafBytes(new DmaAddress(dma.Value + (2UL << 20) - 1)));
    }

    [Fact]
    public void DmaMapPhys_Translate_4KiBPages_AreSmallIommuLeaves()
    {
        using var rig = new HostBufferRig(IommuMode.Translate, SmallOrder, seed: 9);

        DmaAddress dma = rig.Machine.Dma.DmaMapPhys(rig.Dma, new PhysAddress(rig.Buffer + 1), 12345, DmaDirection.Bidirectional);

        Assert.Equal(4096UL, rig.LeafBytes(dma));
    }

    /// <summary>The window cut into three to five contiguous pieces of seeded, uneven lengths.</summary>
    private static List<(int Offset, int Length)> Chunks(int offset, int size, int seed)
    {
        var random = new Random(seed);
        int pieces = Math.Min(size, random.Next(3, 6));
        var cuts = Enumerable.Range(0, pieces - 1).Select(_ => random.Next(1, size)).Distinct().Order().ToList();
        var chunks = new List<(int, int)>();
        int start = 0;
        foreach (int cut in cuts.Append(size))
        {
            chunks.Add((offset + start, cut - start));
            start = cut;
        }

        return chunks;
    }

    private static string Path(string what, IommuMode mode, int order, int offset, int size, int seed) =>
        $"{what} (IOMMU {mode}, {4 << order} KiB buffer, offset {offset}, {size} bytes, seed {seed})";
}
