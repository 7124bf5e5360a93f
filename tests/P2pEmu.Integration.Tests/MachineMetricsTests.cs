using System.Collections.Generic;
using System.Diagnostics.Metrics;
using P2pEmu.Dma.Mapping;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Machine.Diagnostics;
using Xunit;

namespace P2pEmu.Integration.Tests;

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

        Assert.True(seen["p2pemu.fabric.bytes/HostMemory"] >= machine.Fabric.BytesOnPath(RoutePath.HostMemory));
        Assert.True(machine.Fabric.BytesOnPath(RoutePath.HostMemory) >= 8192);
        Assert.True(seen["p2pemu.fabric.bytes_copied"] >= 8192);
        Assert.True(seen["p2pemu.iommu.iotlb.hits"] >= machine.Iommus[0].IoTlb.Hits);
        Assert.True(machine.Iommus[0].IoTlb.Hits >= 1);
        Assert.True(seen["p2pemu.iommu.iotlb.misses"] >= 1);
        Assert.True(seen.ContainsKey("p2pemu.iommu.faults"));
    }
}
