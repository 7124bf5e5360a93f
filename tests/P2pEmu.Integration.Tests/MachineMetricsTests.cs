using System.Collections.Generic;
using System.Diagnostics.Metrics;
using P2pEmu.Dma.Mapping;
using P2pEmu.Drivers.Rdma;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Host;
using P2pEmu.Machine.Diagnostics;
using Xunit;

namespace P2pEmu.Integration.Tests;

[Collection(ProcessWideStateCollection.Name)]
public sealed class MachineMetricsTests
{
    [Fact]
    public void Meter_ReportsBytesByPathAndIotlbActivity_OfLiveMachines()
    {
        using Machine.Machine machine = Machine.Machine.Load("default");
        DmaDevice dev = machine.Dma.GetDevice(machine.Fabric["nic0"]);
        ulong page = machine.Pages.AllocPage().Value;
        DmaAddress iova = machine.Dma.DmaMapPhys(dev, new PhysAddress(page), 4096, DmaDirection.FromDevice);
        var port = new DmaPort(machine.Fabric, machine.Fabric["nic0"]);
        Assert.True(port.Write(iova, new byte[4096]).IsSuccess);
        Assert.True(port.Write(iova, new byte[4096]).IsSuccess);
        DmaAddress next = machine.Dma.DmaMapPhys(dev, new PhysAddress(machine.Pages.AllocPage().Value), 4096, DmaDirection.FromDevice);
        Assert.Equal(iova.Value >> 21, next.Value >> 21); // the same 2 MiB region: its walk starts at the cached leaf table
        Assert.True(port.Write(next, new byte[4096]).IsSuccess);

        Dictionary<string, long> seen = Observe();

        Assert.True(seen["p2pemu.fabric.bytes/HostMemory"] >= machine.Fabric.BytesOnPath(RoutePath.HostMemory));
        Assert.True(machine.Fabric.BytesOnPath(RoutePath.HostMemory) >= 8192);
        Assert.True(seen["p2pemu.fabric.bytes_copied"] >= 8192);
        Assert.True(seen["p2pemu.iommu.iotlb.hits"] >= machine.Iommus[0].IoTlb.Hits);
        Assert.True(machine.Iommus[0].IoTlb.Hits >= 1);
        Assert.True(seen["p2pemu.iommu.iotlb.misses"] >= 2);
        Assert.True(machine.Iommus[0].IoTlb.TableHits >= 1);
        Assert.True(seen["p2pemu.iommu.pagewalk_cache.hits"] >= machine.Iommus[0].IoTlb.TableHits);
        Assert.True(seen.ContainsKey("p2pemu.iommu.faults"));
    }

    /// <summary>One poll of the meter's observable instruments: instrument name (and tag values) to value.</summary>
    private static Dictionary<string, long> Observe()
    {
        var seen = new Dictionary<string, long>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == MachineMetrics.MeterName)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            string key = instrument.Name;
            foreach (KeyValuePair<string, object?> tag in tags)
            {
                key += "/" + tag.Value;
            }

            seen[key] = value;
        });
        listener.Start();
        listener.RecordObservableInstruments();
        return seen;
    }

    [Fact]
    public void Meter_CountsNvmeAndRdmaCompletions_AndTheLiveDmaBufsAndAttachments()
    {
        using var rig = new Rdma.RdmaRig();
        var accel = new Rdma.AccelDmabuf(rig, 0, 1 << 20);
        IbMr mr = rig.B.Dev.RegUserMrDmabuf(rig.B.Pd, 0, 1 << 20, 0x5000_0000, accel.User, accel.Fd, Rdma.RdmaRig.AllAccess).Value;
        Rdma.RdmaRig.RegisteredBuffer source = rig.HostBuffer(rig.A, 1 << 20);
        Assert.Equal(IbWcStatus.Success, Rdma.RdmaRig.Run(rig.A, new IbSendWr { Opcode = IbWrOpcode.RdmaWrite, SgList = [source.Sge(0, 4096)], RemoteAddr = mr.Iova, Rkey = mr.Rkey }).Status);
        using Machine.Machine storage = Machine.Machine.Load("default");
        P2pEmu.Dma.Block.BlockDevice disk = storage.BlockDevices["nvme0n1"];
        ulong page = storage.Pages.AllocPage().Value;
        Assert.Equal(4096, disk.ReadDirect(0, [new PhysAddress(page)], 0, 4096).Value);

        Dictionary<string, long> seen = Observe();

        long nvme = 0;
        foreach (P2pEmu.Drivers.Nvme.NvmeDev dev in storage.NvmeDriver.Devices)
        {
            nvme += dev.CompletedIo;
        }

        Assert.True(nvme >= 1);
        Assert.True(seen["p2pemu.nvme.completions"] >= nvme);
        Assert.True(rig.A.Dev.CompletionsPolled >= 1);
        Assert.True(seen["p2pemu.rdma.completions"] >= rig.A.Dev.CompletionsPolled);
        Assert.Equal(1, rig.Machine.DmaBuf.LiveAttachments); // the MR's dynamic attachment
        Assert.True(seen["p2pemu.dmabuf.attachments"] >= 1);
        Assert.True(seen["p2pemu.dmabuf.buffers"] >= rig.Machine.DmaBuf.LiveBuffers);
        Assert.Equal(Errno.None, rig.B.Dev.DeregMr(mr));
        Assert.Equal(0, rig.Machine.DmaBuf.LiveAttachments);
    }
}
