using System.Collections.Generic;
using System.Linq;
using P2pEmu.Dma.Block;
using P2pEmu.Emulator.Topology;
using P2pEmu.Integration.Tests.NvmeDriver;
using P2pEmu.Testing;
using Xunit;

namespace P2pEmu.Integration.Tests.Integrity;

/// <summary>
/// NVMe O_DIRECT reads into and writes from a peer drive's CMB (p2pmem), by bus address behind the switch and
/// through the host bridge with the IOMMU translating, at dword-aligned offsets and sector sizes.
/// </summary>
public sealed class NvmePeerCmbIntegrityTests
{
    private const int CmbBytes = 8 * 4096;

    private static readonly (int Offset, int Size)[] s_windows = { (0, 4096), (508, 4608), (4092, 12288), (0, CmbBytes) };

    public static IEnumerable<object[]> Matrix() =>
        from thru in new[] { false, true }
        from w in s_windows
        from seed in new[] { 11, 23 }
        select new object[] { thru, w.Offset, w.Size, seed };

    [Theory]
    [MemberData(nameof(Matrix))]
    public void ReadDirect_IntoPeerCmb_ThenWriteDirect_FromIt_KeepsEveryByte(bool thruHostBridge, int offset, int size, int seed)
    {
        using P2pEmu.Machine.Machine machine = P2pEmu.Machine.Machine.Build(thruHostBridge
            ? DriverTopologies.SwitchPair(AcsFlags.RR | AcsFlags.CR, iommu: IommuMode.Translate)
            : DriverTopologies.SwitchPair(AcsFlags.None));
        BlockDevice disk = machine.BlockDevices["nvme0n1"];
        KernelBuffer host = KernelBuffer.Scattered(machine, CmbBytes / 4096);
        KernelBuffer cmb = KernelBuffer.P2pmem(machine, "nvme1", CmbBytes);
        byte[] data = Seeded.Bytes(seed, size);
        byte[] background = Seeded.Bytes(seed ^ 0x1111, CmbBytes);
        host.Write(offset, data);
        cmb.Write(0, background);
        string path = $"host RAM -> nvme0 -> nvme1 CMB -> nvme0 -> host RAM ({(thruHostBridge ? "THRU_HOST_BRIDGE" : "BUS_ADDR")}, offset {offset}, {size} bytes, seed {seed})";

        Assert.Equal(size, KernelBuffer.Ok(disk.WriteDirect(0, host.Vecs(offset, size))));
        Assert.Equal(size, KernelBuffer.Ok(disk.ReadDirect(0, cmb.Vecs(offset, size))));
        IntegrityAssert.Equal(path + " [CMB]", Seeded.Overlay(background, offset, data), cmb.Read(0, CmbBytes));
        host.Write(0, new byte[host.SizeBytes]);
        Assert.Equal(size, KernelBuffer.Ok(disk.WriteDirect(1 << 20, cmb.Vecs(offset, size))));
        Assert.Equal(size, KernelBuffer.Ok(disk.ReadDirect(1 << 20, host.Vecs(offset, size))));

        IntegrityAssert.Equal(path + " [host]", Seeded.Overlay(new byte[host.SizeBytes], offset, data), host.Read(0, host.SizeBytes));
        Assert.All(machine.Iommus, u => Assert.Equal(0, u.Faults.TotalCount));
    }
}
