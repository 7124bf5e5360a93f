using System;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Pci;
using P2pEmu.Testing;
using Xunit;

namespace P2pEmu.Emulator.Tests.Fabric;

public sealed class DmaPortTests
{
    private static PcieFabric Build() => FabricBuilder.Build(Topo.Machine(Topo.HostBridge("hb0",
        Topo.HostDevice(),
        Topo.RootPort("rp", Topo.Switch("sw",
            Topo.Port("dp0", Topo.Endpoint("a", 64 * 1024)),
            Topo.Port("dp1", Topo.Endpoint("b", 64 * 1024)),
            Topo.Port("dp2", Topo.Endpoint("mover")))))));

    private static PciBar Bar(PcieFabric fabric, string name) => ((PciEndpoint)fabric[name]).Bars[0];

    [Fact]
    public void Copy_ScatterGatherAcrossRamAndPeerBar_MatchesReferenceCopy()
    {
        using PcieFabric fabric = Build();
        var random = new Random(40);
        byte[] source = new byte[3 * 4096];
        random.NextBytes(source);
        source.CopyTo(fabric.Ram.Region.GetSpan(0x10000, source.Length));
        PciBar b = Bar(fabric, "b");
        SgEntry[] from = { new(new DmaAddress(0x10000), 5000), new(new DmaAddress(0x10000 + 5000), 3 * 4096 - 5000) };
        SgEntry[] to = { new(new DmaAddress(b.Address + 3), 100), new(new DmaAddress(b.Address + 9000), 4000), new(new DmaAddress(b.Address + 20000), 3 * 4096 - 4100) };

        DmaResult result = new DmaPort(fabric, fabric["a"]).Copy(from, to);

        Assert.True(result.IsSuccess, result.ToString());
        Assert.Equal(3UL * 4096, result.BytesTransferred);
        byte[] reference = new byte[source.Length];
        int at = 0;
        foreach (SgEntry entry in to)
        {
            b.Memory!.GetSpan(entry.Address.Value - b.Address, (int)entry.Length).CopyTo(reference.AsSpan(at));
            at += (int)entry.Length;
        }

        Assert.Equal(source, reference);
    }

    [Fact]
    public void Copy_PeerToPeer_CopiesEachByteOnce_BounceTwice()
    {
        using PcieFabric fabric = Build();
        PciBar a = Bar(fabric, "a");
        PciBar b = Bar(fabric, "b");
        new Random(41).NextBytes(a.Memory!.GetSpan(0, 65536));
        var port = new DmaPort(fabric, fabric["mover"]);
        long before = fabric.BytesCopied;

        Assert.True(port.Copy(new DmaAddress(a.Address), new DmaAddress(b.Address), 65536).IsSuccess);
        long direct = fabric.BytesCopied - before;
        Assert.True(port.Copy(new DmaAddress(a.Address), new DmaAddress(0x100000), 65536).IsSuccess);
        Assert.True(port.Copy(new DmaAddress(0x100000), new DmaAddress(b.Address), 65536).IsSuccess);
        long bounce = fabric.BytesCopied - before - direct;

        Assert.Equal(65536, direct);
        Assert.Equal(2 * 65536, bounce);
        Assert.True(a.Memory.GetSpan(0, 65536).SequenceEqual(b.Memory!.GetSpan(0, 65536)));
        Assert.True(fabric.BytesOnPath(RoutePath.SwitchPeer) >= 2 * 65536);
    }

    [Fact]
    public void Write_RunningPastBarEnd_StopsAtTheHoleAfterTheBarBytes()
    {
        using PcieFabric fabric = Build();
        PciBar a = Bar(fabric, "a");
        FabricSnapshot before = FabricSnapshot.FillAndCapture(fabric, 65536, seed: 42);
        byte[] data = new byte[8192];
        new Random(43).NextBytes(data);
        ulong start = a.Address + a.SizeBytes - 4096;

        DmaResult result = new DmaPort(fabric, fabric["b"]).Write(new DmaAddress(start), data);

        Assert.False(result.IsSuccess);
        Assert.Equal(4096UL, result.BytesTransferred);
        Assert.Equal(RouteStatus.UnsupportedRequest, result.Status);
        Assert.Equal(data.AsSpan(0, 4096).ToArray(), a.Memory!.GetSpan(a.SizeBytes - 4096, 4096).ToArray());
        Assert.Empty(before.ChangedOutside(a.Memory, a.SizeBytes - 4096, 4096));
    }

    [Fact]
    public void Copy_FailedSourceOrDestination_SaysWhichSideFailed()
    {
        using PcieFabric fabric = Build();
        PciBar b = Bar(fabric, "b");
        var port = new DmaPort(fabric, fabric["mover"]);
        var hole = new DmaAddress(0x4000_0000); // above RAM, below the MMIO windows

        DmaResult fromHole = port.Copy(hole, new DmaAddress(b.Address), 4096);
        DmaResult intoHole = port.Copy(new DmaAddress(b.Address), hole, 4096);
        DmaResult crossing = port.Copy(new DmaAddress(b.Address), new DmaAddress(b.Address + b.SizeBytes - 100), 4096);
        DmaResult writeIntoHole = port.Write(hole, new byte[16]);
        DmaResult readFromHole = port.Read(hole, new byte[16]);

        Assert.Equal(AccessKind.Read, fromHole.FailedAccess);
        Assert.Equal(AccessKind.Write, intoHole.FailedAccess);
        Assert.False(crossing.IsSuccess);
        Assert.Equal(100UL, crossing.BytesTransferred);
        Assert.Equal(AccessKind.Write, crossing.FailedAccess);
        Assert.Equal(AccessKind.Write, writeIntoHole.FailedAccess);
        Assert.Equal(AccessKind.Read, readFromHole.FailedAccess);
    }

    [Fact]
    public void Copy_MismatchedListLengths_Throws()
    {
        using PcieFabric fabric = Build();
        var port = new DmaPort(fabric, fabric["a"]);
        SgEntry[] from = { new(new DmaAddress(0), 10) };
        SgEntry[] to = { new(new DmaAddress(0x1000), 11) };
        Assert.Throws<ArgumentException>(() => port.Copy(from, to));
    }

    [Fact]
    public void ReadAndWrite_RegisterBar_UseAlignedMmioAccesses()
    {
        var recorder = new RecordingMmio();
        var models = new SingleMmioModel(recorder);
        using PcieFabric fabric = FabricBuilder.Build(Topo.Machine(Topo.HostBridge("hb0", 0, 0, true, Topo.RootPort("rp", Topo.Endpoint("dev")), Topo.RootPort("rp2", Topo.Endpoint("peer")))), models);
        PciBar regs = ((PciEndpoint)fabric["dev"]).GetBar(0)!;
        Assert.Null(regs.Memory);
        byte[] bytes = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 };

        DmaResult result = new DmaPort(fabric, fabric["dev"]).Write(new DmaAddress(0x2000), bytes);
        Assert.True(result.IsSuccess);
        DmaResult toRegs = new DmaPort(fabric, fabric["peer"]).Copy(new DmaAddress(0x2000), new DmaAddress(regs.Address + 0x13), 11);

        Assert.True(toRegs.IsSuccess);
        Assert.Equal(
            new[] { (0x13UL, 1, 0x01UL), (0x14UL, 4, 0x05040302UL), (0x18UL, 4, 0x09080706UL), (0x1CUL, 2, 0x0B0AUL) },
            recorder.Writes.ToArray());
    }

    private sealed class RecordingMmio : P2pEmu.Emulator.Registers.IMmioHandler
    {
        public System.Collections.Generic.List<(ulong Offset, int Size, ulong Value)> Writes { get; } = new();

        public ulong Read(ulong offset, int sizeBytes) => 0;

        public void Write(ulong offset, int sizeBytes, ulong value) => Writes.Add((offset, sizeBytes, value));
    }

    private sealed class SingleMmioModel : IEndpointModelFactory
    {
        private readonly RecordingMmio _mmio;

        public SingleMmioModel(RecordingMmio mmio) => _mmio = mmio;

        public EndpointIdentity Describe(P2pEmu.Emulator.Topology.DeviceDescription device) =>
            device.Name == "dev"
                ? new EndpointIdentity(0x1234, 0x5678, 0xFF0000, new[] { new BarSpec(0, 4096, false, false, null, _mmio) })
                : DefaultEndpointModels.Instance.Describe(device);
    }
}
