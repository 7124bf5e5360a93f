using System;
using System.Linq;
using P2pEmu.Dma.Mapping;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Host;
using P2pEmu.Emulator.Topology;
using P2pEmu.Iommu.Hardware;
using P2pEmu.Testing;
using Xunit;

namespace P2pEmu.Integration.Tests.Integrity;

/// <summary>
/// Device DMA into host RAM through the DMA API, for every IOMMU mode, with 4 KiB and 2 MiB IOMMU pages, unaligned
/// offsets and odd sizes, and several seeds: the buffer must hold its old bytes with exactly the written range replaced.
/// The expected bytes come from the test's own copy of the seeded data, never from the emulator.
/// </summary>
public sealed class DmaApiMatrixTests
{
    private static readonly (int Offset, int Size)[] s_shapes = [(0, 4096), (1, 4097), (511, 12345), (4095, 65536 + 3), (777, 1 << 20)];

    public static TheoryData<string, string, int> Cases()
    {
        var cases = new TheoryData<string, string, int>();
        foreach (string iommu in new[] { "off", "passthrough", "translate" })
        {
            foreach (string requester in new[] { "nvme0", "nic1" })
            {
                cases.Add(iommu, requester, 4096);
                cases.Add(iommu, requester, 2 << 20);
            }
        }

        return cases;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void DmaMapPhys_ThenADeviceWrite_ReplacesExactlyTheWrittenBytes(string iommu, string requester, int granule)
    {
        var mode = Enum.Parse<IommuMode>(iommu, ignoreCase: true);
        TopologyDescription topology = Machine.TopologySource.Load("default");
        using Machine.Machine machine = Machine.Machine.Build(topology with { HostBridges = [.. topology.HostBridges.Select(hb => hb with { Iommu = mode })] });
        DmaDevice dev = machine.Dma.GetDevice(machine.Fabric[requester]);
        var port = new DmaPort(machine.Fabric, machine.Fabric[requester]);
        int bufferBytes = granule == 4096 ? (2 << 20) : (4 << 20);
        int order = HostPageAllocator.OrderForBytes((ulong)bufferBytes);
        ulong buffer = machine.Pages.AllocPages(order).Value;
        Assert.True(machine.Fabric.TryFindRam(buffer, out ulong ramOffset, out _));

        foreach (int seed in new[] { 1, 2, 3 })
        {
            foreach ((int offset, int size) in s_shapes)
            {
                string path = $"{requester} -> host RAM ({iommu}, {granule >> 10} KiB pages, offset {offset}, {size} bytes, seed {seed})";
                var random = new Random(HashCode.Combine(seed, offset, size));
                byte[] before = new byte[bufferBytes];
                random.NextBytes(before);
                byte[] data = new byte[size];
                random.NextBytes(data);
                before.CopyTo(machine.Fabric.Ram.Region.GetSpan(ramOffset, bufferBytes));

                // 4 KiB case: map only the pages the write touches; 2 MiB case: the whole 2 MiB-aligned buffer.
                ulong mapStart = granule == 4096 ? buffer + ((ulong)offset & ~4095UL) : buffer;
                ulong mapBytes = granule == 4096 ? (((ulong)(offset + size) + 4095) & ~4095UL) - ((ulong)offset & ~4095UL) : (ulong)bufferBytes;
                DmaAddress address = machine.Dma.DmaMapPhys(dev, new PhysAddress(mapStart), mapBytes, DmaDirection.FromDevice);
                Assert.False(DmaApi.IsMappingError(address), path);
                DmaAddress target = new(address.Value + (buffer + (ulong)offset - mapStart));
                if (dev.IommuDomain is IommuDomain domain)
                {
                    Assert.True(new PageTableWalker(machine.Fabric).TryWalk(domain.RootTable, new Iova(target.Value), IommuProt.Write, out PageWalkResult walk), path);
                    Assert.Equal((ulong)granule, walk.PageSizeBytes);
                }
                else
                {
                    Assert.Equal(buffer + (ulong)offset, target.Value); // no translation: the device is given the physical address
                }

                DmaResult result = port.Write(target, data);

                machine.Dma.DmaUnmapPhys(dev, address, mapBytes, DmaDirection.FromDevice);
                Assert.True(result.IsSuccess, $"{path}: {result}");
                byte[] expected = (byte[])before.Clone();
                data.CopyTo(expected, offset);
                IntegrityAssert.Equal(path, expected, machine.Fabric.Ram.Region.GetSpan(ramOffset, bufferBytes));
            }
        }

        machine.Pages.FreePages(buffer, order);
    }
}
