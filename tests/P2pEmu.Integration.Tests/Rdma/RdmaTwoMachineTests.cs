using System;
using System.Globalization;
using P2pEmu.Dma.Mapping;
using P2pEmu.Dma.P2pDma;
using P2pEmu.Drivers.Rdma;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Devices.Net;
using P2pEmu.Emulator.Host;
using P2pEmu.Emulator.Topology.Json;
using Xunit;
using static P2pEmu.Integration.Tests.Rdma.RdmaRig;

namespace P2pEmu.Integration.Tests.Rdma;

/// <summary>
/// Two machines in one process, each with one NIC, cabled with <see cref="P2pEmu.Machine.Machine.ConnectNics"/>: an
/// RDMA WRITE from machine 1's host memory lands in machine 2's NVMe CMB (p2pmem reached by its NIC through the host
/// bridge), as a GPUDirect-style storage target would receive it.
/// </summary>
public sealed class RdmaTwoMachineTests
{
    private static string Json(string nic, string iommu) => string.Create(CultureInfo.InvariantCulture, $$"""
        {
          "platform": { "kernel": "6.19", "ram": "256MiB" },
          "hostBridges": [ {
            "name": "hb0", "iommu": "{{iommu}}", "rootComplexP2p": true,
            "devices": [
              { "name": "hostdev", "kind": "host-bridge", "vendorId": "0x8086", "deviceId": "0x2020" },
              { "name": "rp0", "kind": "root-port", "children": [ { "name": "{{nic}}", "kind": "nic" } ] },
              { "name": "rp1", "kind": "root-port", "children": [ { "name": "nvme0", "kind": "nvme", "cmb": { "size": "16MiB" }, "namespaces": [ { "size": "4MiB" } ] } ] }
            ] } ]
        }
        """);

    [Theory]
    [InlineData("off")]
    [InlineData("translate")]
    public void RdmaWrite_FromMachineOneHostMemory_LandsInMachineTwosCmb(string iommu)
    {
        using var m1 = P2pEmu.Machine.Machine.Build(TopologyJsonReader.Parse(Json("nic0", iommu)));
        using var m2 = P2pEmu.Machine.Machine.Build(TopologyJsonReader.Parse(Json("nic1", iommu)));
        EthernetLink link = P2pEmu.Machine.Machine.ConnectNics(m1, "nic0", m2, "nic1");
        var a = new Side(m1.RdmaDevices["nic0"]);
        var b = new Side(m2.RdmaDevices["nic1"]);
        RdmaRig.Connect(a, b, 4096);
        RdmaRig.Connect(b, a, 4096);

        const int Bytes = 1 << 20;
        ulong source = m1.Pages.AllocPages(HostPageAllocator.OrderForBytes(Bytes)).Value;
        var sourceSgt = new SgTable([new Scatterlist(new PhysAddress(source), Bytes)]);
        Assert.Equal(Errno.None, a.Dev.IbDmaMapSgtable(sourceSgt, DmaDirection.Bidirectional));
        IbMr local = a.Dev.RegMrSg(a.Pd, sourceSgt, 0x4000_0000, AllAccess).Value;
        P2pMemory cmb = m2.P2pDma.PciAllocP2pmem(m2.Fabric["nvme0"], 2 * Bytes)!;
        var cmbSgt = new SgTable([new Scatterlist(new PhysAddress(cmb.BusAddress), 2 * Bytes)]);
        Assert.Equal(Errno.None, b.Dev.IbDmaMapSgtable(cmbSgt, DmaDirection.Bidirectional));
        IbMr remote = b.Dev.RegMrSg(b.Pd, cmbSgt, 0x8000_0000, AllAccess).Value;
        byte[] data = Pattern(Bytes - 333, 91);
        Assert.True(m1.Fabric.TryHostWrite(source + 11, data));
        byte[] before = new byte[2 * Bytes];
        Assert.True(m2.Fabric.TryHostRead(cmb.BusAddress, before));
        long wireBytes = link.BytesDelivered;

        IbWc wc = Run(a, new IbSendWr
        {
            WrId = 3, Opcode = IbWrOpcode.RdmaWrite, SgList = [new IbSge(local.Iova + 11, (uint)data.Length, local.Lkey)], RemoteAddr = remote.Iova + 4096 + 7, Rkey = remote.Rkey,
        });

        byte[] after = new byte[2 * Bytes];
        Assert.True(m2.Fabric.TryHostRead(cmb.BusAddress, after));
        Assert.Equal(IbWcStatus.Success, wc.Status);
        Assert.Equal(3UL, wc.WrId);
        Assert.Equal(Hash(data), Hash(after.AsSpan(4096 + 7, data.Length)));
        Assert.Equal(Hash(before.AsSpan(0, 4096 + 7)), Hash(after.AsSpan(0, 4096 + 7)));
        Assert.Equal(Hash(before.AsSpan(4096 + 7 + data.Length)), Hash(after.AsSpan(4096 + 7 + data.Length)));
        Assert.True(link.BytesDelivered - wireBytes > data.Length); // it crossed the cable between the machines
        Assert.NotEqual(m1.Nics["nic0"].Mac, m2.Nics["nic1"].Mac);
        Assert.Empty(b.Drain());
    }
}
