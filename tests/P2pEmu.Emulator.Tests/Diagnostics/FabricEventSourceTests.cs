using System;
using System.Collections.Generic;
using System.Diagnostics.Tracing;
using System.Linq;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Diagnostics;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Testing;
using Xunit;

namespace P2pEmu.Emulator.Tests.Diagnostics;

[Collection(ProcessWideStateCollection.Name)]
public sealed class FabricEventSourceTests
{
    [Fact]
    public void EventSource_HasStableNameAndValidManifest()
    {
        Assert.Equal("P2pEmu.Fabric", EventSource.GetName(typeof(FabricEventSource)));
        string? manifest = EventSource.GenerateManifest(typeof(FabricEventSource), typeof(FabricEventSource).Assembly.Location, EventManifestOptions.Strict);
        Assert.False(string.IsNullOrEmpty(manifest));
        Assert.Contains("TransactionFailed", manifest, StringComparison.Ordinal);
    }

    [Fact]
    public void DmaPort_EmitsTransfersAndFailures_WithRequesterPathAndReason()
    {
        using PcieFabric fabric = FabricBuilder.Build(Topo.Machine(Topo.HostBridge("hb0", Topo.RootPort("rp", Topo.Endpoint("a")))));
        using var listener = new RecordingListener();
        var port = new DmaPort(fabric, fabric["a"]);

        port.Write(new DmaAddress(0x1000), new byte[100]);
        port.Write(new DmaAddress(FabricBuilder.Memory32End - 0x1000), new byte[8]);

        long requester = fabric["a"].Bdf.Value;
        EventWrittenEventArgs transfer = Assert.Single(listener.Events, e => e.EventName == nameof(FabricEventSource.Transfer) && (long)e.Payload![0]! == requester);
        Assert.Equal((long)RoutePath.HostMemory, transfer.Payload![1]);
        Assert.Equal(100L, transfer.Payload[2]);
        EventWrittenEventArgs failure = Assert.Single(listener.Events, e => e.EventName == nameof(FabricEventSource.TransactionFailed) && (long)e.Payload![0]! == requester);
        Assert.Equal((long)(FabricBuilder.Memory32End - 0x1000), failure.Payload![1]);
        Assert.Equal(((long)RouteStatus.UnsupportedRequest << 8) | (long)RouteReason.Unclaimed, failure.Payload[2]);
    }

    private sealed class RecordingListener : EventListener
    {
        private readonly List<EventWrittenEventArgs> _events = new();

        public IReadOnlyList<EventWrittenEventArgs> Events
        {
            get
            {
                lock (_events)
                {
                    return _events.ToList();
                }
            }
        }

        protected override void OnEventSourceCreated(EventSource eventSource)
        {
            if (eventSource.Name == "P2pEmu.Fabric")
            {
                EnableEvents(eventSource, EventLevel.Verbose, EventKeywords.All);
            }
        }

        protected override void OnEventWritten(EventWrittenEventArgs eventData)
        {
            lock (_events)
            {
                _events.Add(eventData);
            }
        }
    }
}
