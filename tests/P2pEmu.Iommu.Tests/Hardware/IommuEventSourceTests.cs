using System;
using System.Collections.Generic;
using System.Diagnostics.Tracing;
using System.Linq;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Host;
using P2pEmu.Emulator.Topology;
using P2pEmu.Iommu.Hardware;
using Xunit;

namespace P2pEmu.Iommu.Tests.Hardware;

[Collection(ProcessWideStateCollection.Name)]
public sealed class IommuEventSourceTests
{
    [Fact]
    public void EventSource_HasStableNameAndValidManifest()
    {
        Assert.Equal("P2pEmu.Iommu", EventSource.GetName(typeof(IommuEventSource)));
        string? manifest = EventSource.GenerateManifest(typeof(IommuEventSource), typeof(IommuEventSource).Assembly.Location, EventManifestOptions.Strict);
        Assert.False(string.IsNullOrEmpty(manifest));
        foreach (string name in new[] { "TranslationFault", "IotlbInvalidation", "IotlbMiss", "Mapped", "Unmapped", "IovaAlloc", "IovaFree" })
        {
            Assert.Contains(name, manifest, StringComparison.Ordinal);
        }

        int[] ids = typeof(IommuEventSource).GetMethods()
            .Select(method => method.GetCustomAttributes(typeof(EventAttribute), false).Cast<EventAttribute>().SingleOrDefault())
            .Where(attribute => attribute is not null)
            .Select(attribute => attribute!.EventId)
            .ToArray();
        Assert.Equal(7, ids.Length);
        Assert.All(ids, id => Assert.True(id > 0));
        Assert.Equal(ids.Length, ids.Distinct().Count());
    }

    [Fact]
    public void Faults_Misses_Mappings_AndInvalidations_AreEmitted_WithTypedPayloads()
    {
        using var m = new IommuMachine(IommuMachine.Switched(IommuMode.Translate));
        using var listener = new RecordingListener();
        IommuDomain domain = m.DomainFor("a");
        Assert.Equal(Errno.None, domain.Map(new Iova(0x10_0000), new BusAddress(0x6000), 0x2000, IommuProt.Read));
        long requester = m["a"].Bdf.Value;

        Assert.True(m.Port("a").Read(new DmaAddress(0x10_0000), new byte[8]).IsSuccess);
        Assert.False(m.Port("a").Write(new DmaAddress(0x10_1000), new byte[8]).IsSuccess);
        Assert.Equal(0x2000UL, domain.Unmap(new Iova(0x10_0000), 0x2000));

        EventWrittenEventArgs fault = Assert.Single(listener.For(domain, "TranslationFault"));
        Assert.Equal(requester, fault.Payload![0]);
        Assert.Equal(0x10_1000L, fault.Payload[1]);
        long details = ((long)domain.Id << 24) | ((long)AccessKind.Write << 16) | ((long)IommuFaultReason.PermissionDenied << 8) | 1;
        Assert.Equal(details, fault.Payload[2]);
        Assert.Contains(listener.For(domain, "IotlbMiss"), e => (long)e.Payload![1]! == 0x10_0000L && (long)e.Payload[2]! == domain.Id);
        Assert.Contains(listener.For(domain, "Mapped"), e => (long)e.Payload![1]! == 0x10_0000L && (long)e.Payload[2]! == 0x2000L);
        Assert.Contains(listener.For(domain, "Unmapped"), e => (long)e.Payload![1]! == 0x10_0000L && (long)e.Payload[2]! == 0x2000L);
        Assert.Contains(listener.For(domain, "IotlbInvalidation"), e => (long)e.Payload![0]! == domain.Id && (long)e.Payload[1]! == 0x10_0000L && (long)e.Payload[2]! == 0x2000L);
    }

    [Fact]
    public void IovaAllocAndFree_NameTheCookie_TheIova_AndTheSize()
    {
        using var listener = new RecordingListener();
        using var cookie = new P2pEmu.Iommu.IovaAllocator.DmaIommuCookie();

        Iova iova = cookie.IommuDmaAllocIova(3 * 4096, ulong.MaxValue, isPci: true);
        cookie.IommuDmaFreeIova(iova, 3 * 4096);

        Assert.NotEqual(0UL, iova.Value);
        EventWrittenEventArgs alloc = Assert.Single(listener.ForCookie(cookie.Id, "IovaAlloc"));
        EventWrittenEventArgs free = Assert.Single(listener.ForCookie(cookie.Id, "IovaFree"));
        Assert.Equal([cookie.Id, (long)iova.Value, 3L * 4096], alloc.Payload!.Select(p => (long)p!));
        Assert.Equal([cookie.Id, (long)iova.Value, 3L * 4096], free.Payload!.Select(p => (long)p!));
    }

    private sealed class RecordingListener : EventListener
    {
        private readonly List<EventWrittenEventArgs> _events = new();

        /// <summary>Events of one name whose payload names <paramref name="domain"/> (tests run in parallel with others).</summary>
        public List<EventWrittenEventArgs> For(IommuDomain domain, string name)
        {
            lock (_events)
            {
                return _events.Where(e => e.EventName == name && Mentions(e, domain)).ToList();
            }
        }

        /// <summary>IOVA events of one cookie.</summary>
        public List<EventWrittenEventArgs> ForCookie(long cookieId, string name)
        {
            lock (_events)
            {
                return _events.Where(e => e.EventName == name && (long)e.Payload![0]! == cookieId).ToList();
            }
        }

        protected override void OnEventSourceCreated(EventSource eventSource)
        {
            if (eventSource.Name == "P2pEmu.Iommu")
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

        private static bool Mentions(EventWrittenEventArgs e, IommuDomain domain) => e.EventName switch
        {
            "TranslationFault" => ((long)e.Payload![2]! >> 24) == domain.Id,
            "IotlbMiss" => (long)e.Payload![2]! == domain.Id,
            _ => (long)e.Payload![0]! == domain.Id,
        };
    }
}
