using System;
using System.Collections.Generic;
using System.Linq;
using P2pEmu.Dma.Block;
using P2pEmu.Emulator.Topology;
using P2pEmu.Integration.Tests.NvmeDriver;
using P2pEmu.Testing;
using Xunit;

namespace P2pEmu.Integration.Tests.Integrity;

/// <summary>
/// NVMe O_DIRECT writes from and reads into scattered host RAM pages through the block layer, the driver's PRPs and
/// the controller, with the IOMMU off, in passthrough and translating, at dword-aligned offsets and sector sizes.
/// </summary>
public sealed class NvmeDirectIoIntegrityTests
{
    private const int PageCount = 8;

    private static readonly (int Offset, int Size)[] s_windows = { (0, 4096), (4, 512), (508, 4608), (4092, 12288), (0, PageCount * 4096) };

    public static IEnumerable<object[]> Matrix() =>
        from mode in Enum.GetValues<IommuMode>()
        from w in s_windows
        from seed in new[] { 5, 77 }
        select new object[] { mode, w.Offset, w.Size, seed };

    [Theory]
    [MemberData(nameof(Matrix))]
    public void WriteDirectThenReadDirect_ScatteredHostPages_ReturnsExactlyTheWindow(IommuMode mode, int offset, int size, int seed)
    {
        using P2pEmu.Machine.Machine machine = P2pEmu.Machine.Machine.Build(
            DriverTopologies.Machine(mode, false, DriverTopologies.Nvme("nvme0", 0, 16 * Topo.MiB)));
        BlockDevice disk = machine.BlockDevices["nvme0n1"];
        KernelBuffer source = KernelBuffer.Scattered(machine, PageCount);
        KernelBuffer target = KernelBuffer.Scattered(machine, PageCount);
        byte[] data = Seeded.Bytes(seed, size);
        byte[] background = Seeded.Bytes(seed ^ 0x7777, target.SizeBytes);
        source.Write(offset, data);
        target.Write(0, background);
        long position = 512L * new Random(seed).Next(0, 1024);

        Assert.Equal(size, KernelBuffer.Ok(disk.WriteDirect(position, source.Vecs(offset, size))));
        Assert.Equal(size, KernelBuffer.Ok(disk.ReadDirect(position, target.Vecs(offset, size))));

        IntegrityAssert.Equal(
            $"host RAM -> nvme0 -> host RAM (O_DIRECT, IOMMU {mode}, offset {offset}, {size} bytes at {position}, seed {seed})",
            Seeded.Overlay(background, offset, data),
            target.Read(0, target.SizeBytes));
    }
}
