using System;
using System.Collections.Generic;
using System.IO.Hashing;
using System.Linq;
using P2pEmu.Dma.Mapping;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Pci;
using P2pEmu.Emulator.Topology;
using P2pEmu.Iommu.Hardware;
using P2pEmu.Testing;
using Xunit;

namespace P2pEmu.Integration.Tests.Integrity;

/// <summary>
/// Isolation with the IOMMU translating and ACS on every switch port: every endpoint function is given one host page
/// through the DMA API, then writes at random — into its page, and at random IOVAs, host RAM addresses and other
/// devices' BARs. No byte it was not given changes, its own page holds exactly what its delivered writes put there, and
/// every refused write is a failed transaction of the fabric; every IOMMU fault is in the fault log with the address
/// the device used.
/// </summary>
/// <remarks>
/// Isolation is between devices in different IOMMU groups. Within one multi-function device without ACS the functions
/// reach each other's BARs inside the device (<c>MultiFunctionPeer</c>), so a device's random writes aim at other
/// devices' BARs only. Linux groups the extra functions with the PF, but puts SR-IOV VFs (never multifunction) in groups
/// of their own although this device routes between them and its PF internally: an isolation gap of such hardware
/// that ACS on the PF would close.
/// </remarks>
public sealed class IsolationTests
{
    private const int RamWindow = 64 << 20;
    private const int WritesPerDevice = 40;

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void RandomDma_FromEveryDevice_ChangesOnlyWhatItWasGiven_AndEveryRefusalIsLogged(int seed)
    {
        TopologyDescription topology = Machine.TopologySource.Load("default");
        string isolated = Emulator.Topology.BuiltInTopologies.Default
            .Replace("\"name\": \"sw0.dp0\", \"acs\": { \"ctrl\": [] }", "\"name\": \"sw0.dp0\", \"acs\": { \"ctrl\": [\"SV\", \"RR\", \"CR\", \"UF\"] }", StringComparison.Ordinal)
            .Replace("{ \"name\": \"sw0.dp1\",", "{ \"name\": \"sw0.dp1\", \"acs\": { \"ctrl\": [\"SV\", \"RR\", \"CR\", \"UF\"] },", StringComparison.Ordinal)
            .Replace("{ \"name\": \"sw0.dp2\",", "{ \"name\": \"sw0.dp2\", \"acs\": { \"ctrl\": [\"SV\", \"RR\", \"CR\", \"UF\"] },", StringComparison.Ordinal);
        Assert.NotEqual(Emulator.Topology.BuiltInTopologies.Default, isolated);
        using Machine.Machine machine = Machine.Machine.Build(Emulator.Topology.Json.TopologyJsonReader.Parse(isolated));
        PcieFabric fabric = machine.Fabric;
        var random = new Random(seed);
        List<PciBar> bars = [.. fabric.Functions.OfType<PciEndpoint>().SelectMany(e => e.Bars).Where(b => b.Memory is not null)];
        List<PciFunction> devices = [.. Machine.Reports.P2pMatrix.EndpointFunctions(machine)];
        var groups = IommuGroups.Compute(fabric);
        foreach (PciFunction device in devices)
        {
            device.Config.Write16(PciConfig.Command, (ushort)(device.Config.Read16(PciConfig.Command) | PciConfig.CommandMaster | PciConfig.CommandMemory));
        }

        // Every device's page, and what must be in it: the bytes its delivered writes put there, in order.
        var pages = new Dictionary<PciFunction, (ulong Phys, DmaAddress Iova, byte[] Expected)>();
        foreach (PciFunction device in devices)
        {
            ulong phys = machine.Pages.AllocPage().Value;
            DmaAddress iova = machine.Dma.DmaMapPhys(machine.Dma.GetDevice(device), new PhysAddress(phys), 4096, DmaDirection.Bidirectional);
            Assert.False(DmaApi.IsMappingError(iova));
            byte[] initial = new byte[4096];
            random.NextBytes(initial);
            initial.CopyTo(Ram(machine, phys, 4096));
            pages[device] = (phys, iova, initial);
        }

        List<ulong> grantedPages = [.. pages.Values.Select(p => p.Phys)];
        Dictionary<string, ulong> before = Snapshot(machine, bars, grantedPages);
        long failedBefore = Enum.GetValues<RouteStatus>().Where(s => s != RouteStatus.Delivered).Sum(fabric.FailedTransactions);
        long iommuFaultsBefore = machine.Iommus.Sum(u => u.Faults.TotalCount);
        int refused = 0;
        int iommuRefused = 0;
        var faulted = new List<(PciFunction Device, ulong Address)>();

        foreach (PciFunction device in devices)
        {
            var port = new DmaPort(fabric, device);
            (ulong phys, DmaAddress iova, byte[] expected) = pages[device];
            List<PciBar> others = [.. bars.Where(b => !groups.AreInSameGroup(b.Owner, device) && !SameDevice(b.Owner, device))];
            for (int i = 0; i < WritesPerDevice; i++)
            {
                int length = random.Next(1, 257);
                ulong address = random.Next(4) switch
                {
                    0 => iova.Value + (ulong)random.Next(0, 4096 - length), // its own page
                    1 => (ulong)random.NextInt64(0, RamWindow - length),     // host RAM by physical address
                    2 => Inside(others[random.Next(others.Count)], length, random), // another group's BAR by bus address
                    _ => (ulong)random.NextInt64(0, 1L << 48),              // anywhere
                };
                byte[] data = new byte[length];
                random.NextBytes(data);

                DmaResult result = port.Write(new DmaAddress(address), data);

                bool own = address >= iova.Value && address + (ulong)length <= iova.Value + 4096;
                if (result.IsSuccess)
                {
                    Assert.True(own, $"{device.Name} wrote {length} bytes at 0x{address:x}, which it was not given: {fabric.Route(device, new DmaAddress(address), AccessKind.Write)}");
                    data.CopyTo(expected, (int)(address - iova.Value));
                }
                else
                {
                    Assert.Equal(0UL, result.BytesTransferred);
                    refused++;
                    if (result.Status == RouteStatus.IommuFault)
                    {
                        iommuRefused++;
                        faulted.Add((device, address));
                    }
                }
            }
        }

        Dictionary<string, ulong> after = Snapshot(machine, bars, grantedPages);
        HashSet<string> granted = [.. pages.Values.Select(p => PageName(p.Phys))];
        Assert.Empty(after.Where(kv => before[kv.Key] != kv.Value && !granted.Contains(kv.Key)).Select(kv => kv.Key));
        foreach ((PciFunction device, (ulong phys, _, byte[] expected)) in pages)
        {
            IntegrityAssert.Equal($"{device.Name}'s own page", expected, Ram(machine, phys, 4096));
        }

        Assert.True(refused > devices.Count, "most random writes are refused");
        Assert.Equal(refused, Enum.GetValues<RouteStatus>().Where(s => s != RouteStatus.Delivered).Sum(fabric.FailedTransactions) - failedBefore);
        Assert.Equal(iommuRefused, machine.Iommus.Sum(u => u.Faults.TotalCount) - iommuFaultsBefore);
        List<IommuFault> logged = [.. machine.Iommus.SelectMany(u => u.Faults.Snapshot())];
        Assert.True(iommuRefused > 0);
        Assert.All(faulted, t => Assert.Contains(logged, f => f.Address.Value == t.Address && f.Requester == t.Device.Bdf && f.Segment == t.Device.HostBridge.Segment));
    }

    /// <summary>Functions of one physical device (bus and slot), VFs included.</summary>
    private static bool SameDevice(PciFunction a, PciFunction b) =>
        ReferenceEquals(a.Bus, b.Bus) && a.Bdf.Device == b.Bdf.Device;

    private static ulong Inside(PciBar bar, int length, Random random) =>
        bar.Address + (ulong)random.NextInt64(0, (long)bar.SizeBytes - length);

    private static Span<byte> Ram(Machine.Machine machine, ulong phys, int length)
    {
        Assert.True(machine.Fabric.TryFindRam(phys, out ulong offset, out _));
        return machine.Fabric.Ram.Region.GetSpan(offset, length);
    }

    private static string PageName(ulong phys) => $"RAM page 0x{phys:x}";

    /// <summary>An XxHash3 per 4 KiB page of the first 64 MiB of host RAM (where random writes aim), of the granted pages, and of every BAR's memory.</summary>
    private static Dictionary<string, ulong> Snapshot(Machine.Machine machine, List<PciBar> bars, List<ulong> granted)
    {
        var hashes = new Dictionary<string, ulong>();
        foreach (ulong page in Enumerable.Range(0, RamWindow / 4096).Select(i => (ulong)i * 4096).Concat(granted))
        {
            hashes[PageName(page)] = XxHash3.HashToUInt64(Ram(machine, page, 4096));
        }

        foreach (PciBar bar in bars)
        {
            for (ulong at = 0; at < bar.SizeBytes; at += 4096)
            {
                hashes[$"{bar} +0x{at:x}"] = XxHash3.HashToUInt64(bar.Memory!.GetSpan(at, (int)Math.Min(4096, bar.SizeBytes - at)));
            }
        }

        return hashes;
    }
}
