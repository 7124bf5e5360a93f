using System;
using System.Collections.Generic;
using System.Linq;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Pci;
using P2pEmu.Testing;
using Xunit;

namespace P2pEmu.Emulator.Tests.Fabric;

/// <summary>
/// A DMA port routes its own requests to host RAM on a fast path with a cached climb to the root complex; it must
/// give exactly the outcome <see cref="PcieFabric.Route"/> gives, also after software reprograms config space.
/// </summary>
public sealed class DmaPortFastPathTests
{
    /// <summary>Addresses from here up are "IOVAs" (above RAM, below every BAR): the translator below maps, forwards or refuses them by page.</summary>
    private const ulong IovaZone = 0x10_0000_0000;

    private static PcieFabric BuildSwitched(ScriptedTranslator translator)
    {
        PcieFabric fabric = FabricBuilder.Build(Topo.Machine(Topo.HostBridge("hb0",
            Topo.HostDevice(),
            Topo.RootPort("rp", Topo.Switch("sw",
                Topo.Port("dp0", Topo.Endpoint("a", 64 * 1024)),
                Topo.Port("dp1", Topo.Endpoint("b", 64 * 1024)))))));
        translator.Attach(fabric);
        return fabric;
    }

    [Fact]
    public void Write_AfterBridgeBusMasterCleared_FailsThere_AndWorksAgainOnceSet()
    {
        var translator = new ScriptedTranslator();
        using PcieFabric fabric = BuildSwitched(translator);
        var port = new DmaPort(fabric, fabric["a"]);
        byte[] data = { 1, 2, 3, 4, 5, 6, 7, 8 };
        ulong iova = IovaZone + (2 * 4096);
        DmaResult first = port.Write(new DmaAddress(iova), data);
        Assert.True(first.IsSuccess, first.ToString());

        PciFunction upstream = fabric["sw.up"];
        ushort command = upstream.Config.Read16(PciConfig.Command);
        upstream.Config.Write16(PciConfig.Command, (ushort)(command & ~PciConfig.CommandMaster));
        FabricSnapshot before = FabricSnapshot.FillAndCapture(fabric, 65536, seed: 7);

        DmaResult blocked = port.Write(new DmaAddress(iova), new byte[8]);

        Assert.Equal(RouteStatus.UnsupportedRequest, blocked.Status);
        Assert.Equal(RouteReason.BridgeBusMasterDisabled, blocked.Failure.Reason);
        Assert.Same(upstream, blocked.Failure.DecidedAt);
        Assert.Empty(before.ChangedOutside(null, 0, 0));

        upstream.Config.Write16(PciConfig.Command, command);
        Assert.True(port.Write(new DmaAddress(iova), data).IsSuccess);
    }

    [Fact]
    public void Write_ToAddressInAPeerWindowMovedOutsideTheHostBridgeWindows_TurnsAroundInTheSwitch()
    {
        var translator = new ScriptedTranslator();
        using PcieFabric fabric = BuildSwitched(translator);
        var port = new DmaPort(fabric, fabric["a"]);
        ulong target = IovaZone + 0x10_2000;
        Assert.True(port.Write(new DmaAddress(target), new byte[8]).IsSuccess);
        int callsBefore = translator.Calls;

        // Software programs dp1's prefetchable window over the address (outside every host bridge window).
        PciFunction dp1 = fabric["dp1"];
        dp1.Config.Write16(PciConfig.PrefMemoryBase, (ushort)((target >> 16) & 0xFFF0));
        dp1.Config.Write16(PciConfig.PrefMemoryLimit, (ushort)((target >> 16) & 0xFFF0));
        dp1.Config.Write32(PciConfig.PrefBaseUpper32, (uint)(target >> 32));
        dp1.Config.Write32(PciConfig.PrefLimitUpper32, (uint)(target >> 32));

        DmaResult result = port.Write(new DmaAddress(target), new byte[8]);

        Assert.Equal(callsBefore, translator.Calls);
        Assert.Equal(RouteStatus.UnsupportedRequest, result.Status);
        Assert.False(result.Failure.ReachedRootComplex);
        Assert.Same(dp1, result.Failure.DecidedAt);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(6)]
    public void Write_OnRandomTopologiesAndConfigChanges_HasTheOutcomeRouteGives(int seed)
    {
        var translator = new ScriptedTranslator();
        using PcieFabric fabric = FabricBuilder.Build(RandomTopology.Generate(seed, RandomTopology.AcsStyle.Any));
        translator.Attach(fabric);
        var random = new Random(seed);
        List<ulong> addresses = Addresses(fabric, random);
        List<PciFunction> bridges = fabric.Functions.Where(f => f is PciBridge).ToList();

        for (int round = 0; round < 6; round++)
        {
            foreach (PciFunction requester in fabric.Functions)
            {
                if (requester is not PciEndpoint)
                {
                    continue;
                }

                var port = new DmaPort(fabric, requester);
                foreach (ulong address in addresses)
                {
                    AssertSameOutcome(fabric, port, address, random);
                }
            }

            // Reprogram something that changes routing: Bus Master or Memory Space of a bridge, or an ACS control.
            PciFunction victim = bridges[random.Next(bridges.Count)];
            ushort command = victim.Config.Read16(PciConfig.Command);
            victim.Config.Write16(PciConfig.Command, (ushort)(command ^ (random.Next(2) == 0 ? PciConfig.CommandMaster : PciConfig.CommandMemory)));
        }
    }

    private static void AssertSameOutcome(PcieFabric fabric, DmaPort port, ulong address, Random random)
    {
        RouteResult expected = fabric.Route(port.Owner, new DmaAddress(address), AccessKind.Write);
        byte[] data = new byte[8];
        random.NextBytes(data);

        DmaResult actual = port.Write(new DmaAddress(address), data);

        string context = $"{port.Owner.Name} -> 0x{address:x}: expected {expected}, got {actual}";
        if (!expected.IsDelivered)
        {
            Assert.False(actual.IsSuccess, context);
            Assert.Equal(0UL, actual.BytesTransferred);
            Assert.Equal(expected.Status, actual.Failure.Status);
            Assert.Equal(expected.Reason, actual.Failure.Reason);
            Assert.Same(expected.DecidedAt, actual.Failure.DecidedAt);
            Assert.Same(expected.RedirectedAt, actual.Failure.RedirectedAt);
            Assert.Equal(expected.ReachedRootComplex, actual.Failure.ReachedRootComplex);
            return;
        }

        Assert.True(actual.BytesTransferred > 0, context);
        if (expected.TargetMemory is not null)
        {
            int landed = (int)Math.Min(actual.BytesTransferred, expected.ContiguousBytes);
            Assert.True(expected.TargetMemory.GetSpan(expected.TargetOffset, landed).SequenceEqual(data.AsSpan(0, landed)), context);
        }
    }

    /// <summary>Host RAM, every BAR and window edge, holes, and pages of the IOVA zone.</summary>
    private static List<ulong> Addresses(PcieFabric fabric, Random random)
    {
        var addresses = new List<ulong> { 0x1000, 0x20_0000, fabric.Ram.SizeBytes - 8 };
        foreach (PciFunction function in fabric.Functions)
        {
            if (function is PciEndpoint endpoint)
            {
                foreach (PciBar bar in endpoint.BarList)
                {
                    addresses.Add(bar.Address + 16);
                    addresses.Add(bar.Address + bar.SizeBytes + 16);
                }
            }
            else if (function is PciBridge bridge && bridge.PrefetchableBase <= bridge.PrefetchableLimit)
            {
                addresses.Add(bridge.PrefetchableBase);
                addresses.Add(bridge.PrefetchableLimit - 7);
            }
        }

        foreach (HostBridge hb in fabric.HostBridges)
        {
            addresses.Add(hb.Memory64Window.Base);
            addresses.Add(hb.Memory64Window.End + 0x1000);
        }

        for (int i = 0; i < 12; i++)
        {
            addresses.Add(IovaZone + ((ulong)random.Next(64) * 4096) + (ulong)random.Next(4000));
        }

        return addresses;
    }

    /// <summary>
    /// An IOMMU stand-in for the IOVA zone, decided by page so repeated calls agree: a quarter of the pages fault,
    /// a quarter go to a BAR, the rest to host RAM in reverse order. Addresses below the zone pass through.
    /// </summary>
    private sealed class ScriptedTranslator : IRootComplexTranslator
    {
        private readonly List<PciBar> _bars = new();
        private ulong _ramPages;

        public int Calls { get; private set; }

        public void Attach(PcieFabric fabric)
        {
            foreach (PciFunction function in fabric.Functions)
            {
                if (function is PciEndpoint endpoint)
                {
                    _bars.AddRange(endpoint.BarList);
                }
            }

            _ramPages = Math.Min(fabric.Ram.SizeBytes, PcieFabric.LowRamLimit) / 4096;
            foreach (HostBridge hb in fabric.HostBridges)
            {
                hb.Translator = this;
            }
        }

        public bool TryTranslate(PciFunction requester, Bdf requesterId, DmaAddress address, AccessKind access, out BusAddress translated, out ulong contiguousBytes)
        {
            Calls++;
            ulong a = address.Value;
            if (a < IovaZone)
            {
                translated = new BusAddress(a);
                contiguousBytes = ulong.MaxValue;
                return true;
            }

            ulong page = (a - IovaZone) / 4096;
            ulong offset = a % 4096;
            contiguousBytes = 4096 - offset;
            switch (page % 4)
            {
                case 0:
                    translated = default;
                    contiguousBytes = 0;
                    return false;
                case 1 when _bars.Count > 0:
                    PciBar bar = _bars[(int)(page % (ulong)_bars.Count)];
                    translated = new BusAddress(bar.Address + offset);
                    return true;
                default:
                    translated = new BusAddress(((_ramPages - 1 - (page % _ramPages)) * 4096) + offset);
                    return true;
            }
        }
    }
}
