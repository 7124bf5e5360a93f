using System;
using System.Runtime.InteropServices;
using P2pEmu.Dma.DmaBuf;
using P2pEmu.Dma.Mapping;
using P2pEmu.Dma.Userspace;
using P2pEmu.Drivers.Vfio;
using P2pEmu.Emulator.Host;
using P2pEmu.Emulator.Pci;
using P2pEmu.Emulator.Topology;
using P2pEmu.Testing;
using DmaBuffer = P2pEmu.Dma.DmaBuf.DmaBuf;

namespace P2pEmu.Integration.Tests.DmaBuf;

/// <summary>
/// A machine with a vfio-pci exporter and importers. Under one switch: "exp" (BAR0 1 MiB 32-bit, BAR2 4 MiB 64-bit,
/// and a second function "exp.f1" on the same link), "near" (BUS_ADDR to exp) and "thru" (its port redirects:
/// THRU_HOST_BRIDGE); "far" behind another root port; "rciep" on the root bus. exp is bound to vfio-pci and opened by
/// <see cref="User"/> (<see cref="DeviceFd"/>).
/// </summary>
internal sealed class VfioMachine : IDisposable
{
    public const ulong MiB = Topo.MiB;
    public const ulong Page = 4096;
    public const uint DmaBufGet = VfioUapi.DeviceFeatureGet | VfioUapi.DeviceFeatureDmaBuf;

    public VfioMachine(KernelProfile kernel = KernelProfile.Linux619, IommuMode iommu = IommuMode.Translate, VfioPciOptions? options = null, Action<P2pEmu.Machine.Machine>? beforeBind = null)
    {
        AcsFlags redirect = AcsFlags.SV | AcsFlags.RR | AcsFlags.CR | AcsFlags.UF;
        TopologyDescription topology = Topo.Machine(new HostBridgeDescription("hb0", 0, 0, iommu, true, new[]
        {
            Topo.HostDevice(0x8086, 0x2020),
            Topo.RootPort("rp0", Topo.Switch("sw",
                Topo.Port("dp0", Topo.TwoBarEndpoint("exp", 1 * MiB, 4 * MiB).WithFunctions(Topo.Endpoint("exp.f1", 64 * 1024))),
                Topo.Port("dp1", Topo.Endpoint("near", 64 * 1024)),
                Topo.Port("dp2", redirect, Topo.Endpoint("thru", 64 * 1024)))),
            Topo.RootPort("rp1", Topo.Endpoint("far", 64 * 1024)),
            Topo.Endpoint("rciep", 64 * 1024),
        }, "$.hostBridges[0]"));
        topology = topology with { Platform = topology.Platform with { Kernel = kernel, RamBytes = 128 * MiB } };
        Machine = P2pEmu.Machine.Machine.Build(topology);
        beforeBind?.Invoke(Machine);
        Driver = new VfioPciDriver(Machine.DmaBuf, options);
        Vdev = Driver.Bind(Exp).Value;
        DeviceFd = Vdev.Open(User).Value;
    }

    public P2pEmu.Machine.Machine Machine { get; }

    public DmaBufHost Host => Machine.DmaBuf;

    public VfioPciDriver Driver { get; }

    public VfioPciCoreDevice Vdev { get; }

    public Process User { get; } = new("user");

    public int DeviceFd { get; }

    public PciEndpoint Exp => (PciEndpoint)Machine.Fabric["exp"];

    public PciBar Bar2 => Exp.GetBar(2)!;

    public DmaDevice Dev(string name) => Machine.Dma.GetDevice(Machine.Fabric[name]);

    /// <summary>
    /// The user memory of a <c>VFIO_DEVICE_FEATURE</c> call: header, <c>vfio_device_feature_dma_buf</c> and ranges.
    /// <paramref name="bytes"/> cuts it short (a buffer that ends early faults); the counts can lie.
    /// </summary>
    public static byte[] FeatureArg(
        uint region,
        (ulong Offset, ulong Length)[] ranges,
        uint flags = DmaBufGet,
        uint openFlags = Process.OCloexec,
        uint dmaBufFlags = 0,
        uint? argsz = null,
        uint? nrRanges = null,
        int? bytes = null)
    {
        int headerBytes = Marshal.SizeOf<VfioDeviceFeature>();
        int requestBytes = Marshal.SizeOf<VfioDeviceFeatureDmaBuf>();
        int rangeBytes = Marshal.SizeOf<VfioRegionDmaRange>();
        byte[] memory = new byte[headerBytes + requestBytes + (ranges.Length * rangeBytes)];
        var header = new VfioDeviceFeature { Argsz = argsz ?? (uint)memory.Length, Flags = flags };
        var request = new VfioDeviceFeatureDmaBuf { RegionIndex = region, OpenFlags = openFlags, Flags = dmaBufFlags, NrRanges = nrRanges ?? (uint)ranges.Length };
        MemoryMarshal.Write(memory, in header);
        MemoryMarshal.Write(memory.AsSpan(headerBytes), in request);
        for (int i = 0; i < ranges.Length; i++)
        {
            var range = new VfioRegionDmaRange { Offset = ranges[i].Offset, Length = ranges[i].Length };
            MemoryMarshal.Write(memory.AsSpan(headerBytes + requestBytes + (i * rangeBytes)), in range);
        }

        return bytes is int n ? memory[..n] : memory;
    }

    /// <summary>Exports BAR2 ranges; the dma-buf descriptor.</summary>
    public Result<int> Export(params (ulong Offset, ulong Length)[] ranges) =>
        Vdev.IoctlDeviceFeature(User, DeviceFd, FeatureArg(2, ranges));

    /// <summary>The buffer behind a descriptor (with a reference the caller puts, or lets the process keep).</summary>
    public DmaBuffer Get(int fd)
    {
        DmaBuffer dmabuf = Host.DmaBufGet(User, fd).Value;
        Host.DmaBufPut(dmabuf);
        return dmabuf;
    }

    /// <summary>Writes the command register through the config region.</summary>
    public void WriteCommand(ushort command)
    {
        Result<int> written = Vdev.ConfigWrite(User, DeviceFd, PciConfig.Command, BitConverter.GetBytes(command));
        if (!written.IsSuccess)
        {
            throw new InvalidOperationException($"command write failed: {written.Error}");
        }
    }

    public void MemoryOff() => WriteCommand((ushort)(Exp.Config.Read16(PciConfig.Command) & ~PciConfig.CommandMemory));

    public void MemoryOn() => WriteCommand((ushort)(Exp.Config.Read16(PciConfig.Command) | PciConfig.CommandMemory));

    public void Dispose() => Machine.Dispose();
}
