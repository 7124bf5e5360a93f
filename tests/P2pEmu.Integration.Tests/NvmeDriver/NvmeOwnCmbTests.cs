using P2pEmu.Dma.Block;
using P2pEmu.Dma.P2pDma;
using P2pEmu.Drivers.Nvme;
using P2pEmu.Emulator.Execution;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Topology;
using Xunit;

namespace P2pEmu.Integration.Tests.NvmeDriver;

/// <summary>
/// A controller's own CMB is internal to it (NVMe "Controller Memory Buffer", CMBMSC.CMSE): SQs the driver puts there
/// and data it reads into or writes from there never become memory transactions, so they work wherever the CMB is
/// registered — behind a switch port without ACS UF, and with the IOMMU translating — and cost the fabric nothing.
/// </summary>
public sealed class NvmeOwnCmbTests
{
    private const int Bytes = 192 * 1024;

    public static TheoryData<string, ExecutionMode> CmbTopologies => new()
    {
        { "switch-port-without-uf", ExecutionMode.Deterministic }, // nvme1's 4 MiB CMB below sw0.dp1, no ACS, the IOMMU translating
        { "root-port-iommu", ExecutionMode.Deterministic },        // nvme0's 4 MiB CMB below a root port, the IOMMU translating
        { "default", ExecutionMode.Deterministic },                // the built-in topology: nvme0's 64 MiB CMB below sw0.dp0, ACS ctrl empty
        { "switch-port-without-uf", ExecutionMode.Concurrent },
        { "default", ExecutionMode.Concurrent },
    };

    private static (Machine.Machine Machine, string Nvme, string Disk) Build(string name, ExecutionMode mode)
    {
        var options = new Machine.MachineOptions { ExecutionMode = mode };
        return name switch
        {
            "switch-port-without-uf" => (Machine.Machine.Build(DriverTopologies.SwitchPair(AcsFlags.None), options), "nvme1", "nvme1n1"),
            "root-port-iommu" => (Machine.Machine.Build(DriverTopologies.Single(4 * DriverTopologies.MiB, IommuMode.Translate), options), "nvme0", "nvme0n1"),
            _ => (Machine.Machine.Load(name, options), "nvme0", "nvme0n1"),
        };
    }

    private static long PeerBytes(PcieFabric fabric) =>
        fabric.BytesOnPath(RoutePath.SwitchPeer) + fabric.BytesOnPath(RoutePath.RootComplexPeer) + fabric.BytesOnPath(RoutePath.MultiFunctionPeer);

    [Theory]
    [MemberData(nameof(CmbTopologies))]
    public void SqsInTheCmb_AreFetchedInternally_WhereAFabricFetchWouldFault(string topology, ExecutionMode mode)
    {
        (Machine.Machine machine, string nvme, string diskName) = Build(topology, mode);
        using Machine.Machine owned = machine;
        NvmeDev dev = machine.NvmeDrivers[nvme];
        BlockDevice disk = machine.BlockDevices[diskName];
        KernelBuffer source = KernelBuffer.Contiguous(machine, 6);
        KernelBuffer target = KernelBuffer.Contiguous(machine, 6);
        byte[] data = KernelBuffer.Random(Bytes, 21);
        source.Write(0, data);
        long peer = PeerBytes(machine.Fabric);

        Assert.True(dev.CmbUseSqes);
        Assert.All(dev.IoQueues, q => Assert.True(q.SqInCmb));
        Assert.Equal(Bytes, KernelBuffer.Ok(disk.WriteDirect(8192, source.Vecs(0, Bytes))));
        Assert.Equal(Bytes, KernelBuffer.Ok(disk.ReadDirect(8192, target.Vecs(0, Bytes))));

        Assert.Equal(KernelBuffer.Hash(data), KernelBuffer.Hash(target.Read(0, Bytes)));
        Assert.Equal(peer, PeerBytes(machine.Fabric)); // no SQ entry crossed the fabric
        Assert.All(machine.Iommus, u => Assert.Equal(0, u.Faults.TotalCount));
        Assert.Equal(NvmeCtrlState.Live, dev.State);
        NvmeReadWriteTests.SettleReaps(dev);
        Assert.True(dev.IoQueues[0].Completions > 0);
    }

    [Theory]
    [MemberData(nameof(CmbTopologies))]
    public void ReadIntoTheControllersOwnCmb_AndWriteFromIt_MoveNoByteOnTheFabric(string topology, ExecutionMode mode)
    {
        (Machine.Machine machine, string nvme, string diskName) = Build(topology, mode);
        using Machine.Machine owned = machine;
        BlockDevice disk = machine.BlockDevices[diskName];
        KernelBuffer host = KernelBuffer.Contiguous(machine, 6);
        byte[] data = KernelBuffer.Random(Bytes, 22);
        host.Write(0, data);
        KernelBuffer.Ok(disk.WriteDirect(0, host.Vecs(0, Bytes)));
        KernelBuffer cmb = KernelBuffer.P2pmem(machine, nvme, Bytes);
        cmb.Fill(0xA5);
        long peer = PeerBytes(machine.Fabric);

        Assert.Equal(PciP2pdmaMapType.BusAddr, machine.P2pDma.Explain(machine.Fabric[nvme], machine.Fabric[nvme]).MapType);
        Assert.Equal(Bytes, KernelBuffer.Ok(disk.ReadDirect(0, cmb.Vecs(0, Bytes))));
        Assert.Equal(KernelBuffer.Hash(data), KernelBuffer.Hash(cmb.Read(0, Bytes)));

        byte[] other = KernelBuffer.Random(Bytes, 23);
        cmb.Write(0, other);
        Assert.Equal(Bytes, KernelBuffer.Ok(disk.WriteDirect(1024 * 1024, cmb.Vecs(0, Bytes))));
        Assert.Equal(peer, PeerBytes(machine.Fabric));

        host.Fill(0);
        KernelBuffer.Ok(disk.ReadDirect(1024 * 1024, host.Vecs(0, Bytes)));
        Assert.Equal(KernelBuffer.Hash(other), KernelBuffer.Hash(host.Read(0, Bytes)));
        Assert.All(machine.Iommus, u => Assert.Equal(0, u.Faults.TotalCount));
    }

    [Fact]
    public void UseCmbSqesOff_KeepsSqsInHostMemory()
    {
        using Machine.Machine machine = DriverTopologies.BuildWith(DriverTopologies.SwitchPair(AcsFlags.None), new NvmeDriverOptions { UseCmbSqes = false });
        NvmeDev dev = machine.NvmeDrivers["nvme1"];

        Assert.False(dev.CmbUseSqes);
        Assert.All(dev.IoQueues, q => Assert.False(q.SqInCmb));
        Assert.Equal(machine.P2pDma.GetP2pmemSysfs(machine.Fabric["nvme1"])!.Size, machine.P2pDma.GetP2pmemSysfs(machine.Fabric["nvme1"])!.Available);
        KernelBuffer buffer = KernelBuffer.Contiguous(machine, 0);
        Assert.Equal(4096, KernelBuffer.Ok(machine.BlockDevices["nvme1n1"].WriteDirect(0, buffer.Vecs(0, 4096))));
    }

    [Fact]
    public void NvmeDriverOptions_UseCmbSqes_DefaultsToTrue_AsLinux()
    {
        Assert.True(new NvmeDriverOptions().UseCmbSqes);
    }
}
