using System;
using System.Diagnostics.Tracing;
using System.Linq;
using System.Reflection;
using P2pEmu.Dma.Diagnostics;
using P2pEmu.Drivers.Nvme;
using P2pEmu.Drivers.Rdma;
using P2pEmu.Emulator.Diagnostics;
using Xunit;

namespace P2pEmu.Integration.Tests.Diagnostics;

/// <summary>Every EventSource of the emulator: its name, its events' names and ids (a contract for tools), a manifest that builds, and the payload shape that allocates nothing.</summary>
public sealed class EventSourceManifestTests
{
    public static TheoryData<Type, string, string[]> Sources => new()
    {
        { typeof(FabricEventSource), "P2pEmu.Fabric", ["1 Transfer", "2 TransactionFailed"] },
        { Type.GetType("P2pEmu.Iommu.Hardware.IommuEventSource, P2pEmu.Iommu", throwOnError: true)!, "P2pEmu.Iommu",
            ["1 TranslationFault", "2 IotlbInvalidation", "3 IotlbMiss", "4 Mapped", "5 Unmapped", "6 IovaAlloc", "7 IovaFree"] },
        { typeof(DmaEventSource), "P2pEmu.Dma",
            ["1 MapType", "2 DmaBufAttach", "3 DmaBufDetach", "4 DmaBufMap", "5 DmaBufUnmap", "6 DmaBufNotify", "7 ProviderTeardown"] },
        { typeof(NvmeEventSource), "P2pEmu.Nvme", ["1 SetupCmd", "2 CompleteRq"] },
        { typeof(NicEventSource), "P2pEmu.Nic", ["1 PostSend", "2 SendCompletion", "3 RecvCompletion"] },
    };

    [Theory]
    [MemberData(nameof(Sources))]
    public void EventSource_HasItsStableNameAndIds_AValidManifest_AndThreeLongPayloads(Type source, string name, string[] events)
    {
        Assert.Equal(name, EventSource.GetName(source));
        string? manifest = EventSource.GenerateManifest(source, source.Assembly.Location, EventManifestOptions.Strict);
        Assert.False(string.IsNullOrEmpty(manifest));
        MethodInfo[] methods = [.. source.GetMethods().Where(m => m.GetCustomAttribute<EventAttribute>() is not null)];
        Assert.Equal(events, methods.Select(m => $"{m.GetCustomAttribute<EventAttribute>()!.EventId} {m.Name}").OrderBy(e => int.Parse(e.Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture)));
        foreach (MethodInfo method in methods)
        {
            Assert.Contains($"\"{method.Name}\"", manifest, StringComparison.Ordinal);
            Assert.Equal([typeof(long), typeof(long), typeof(long)], method.GetParameters().Select(p => p.ParameterType));
        }
    }
}
