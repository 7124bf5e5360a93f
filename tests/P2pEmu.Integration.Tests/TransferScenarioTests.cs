using System.Linq;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Pci;
using P2pEmu.Machine.Scenarios;
using P2pEmu.Testing;
using Xunit;

namespace P2pEmu.Integration.Tests;

public sealed class TransferScenarioTests
{
    [Fact]
    public void Run_SwitchWithRedirect_KernelGivesAnIova_WhichTheIommuSendsBackDownToThePeer()
    {
        using Machine.Machine machine = Machine.Machine.Load("switch-acs", bindDrivers: false);

        TransferReport report = TransferScenario.Run(machine, "switch-acs", bytesPerTransfer: 4096);

        Assert.True(report.IntegrityOk);
        TransferCheck peer = Assert.Single(report.Transfers, t => t.Requester == "nvme0" && t.Target == "nic0 BAR2");
        Assert.Equal("THRU_HOST_BRIDGE", peer.MapType);
        PciBar bar = ((PciEndpoint)machine.Fabric["nic0"]).GetBar(2)!;
        Assert.False(bar.Contains(peer.Address));
        Assert.False(machine.Fabric.HostBridges[0].WindowContains(peer.Address));
        Assert.Equal("RootComplexPeer", peer.Path);
        Assert.Equal("RootComplexHairpin", peer.Reason);
        Assert.Null(peer.RedirectedAt);
        Assert.Equal(4096UL, peer.BytesTransferred);
        Assert.Equal(4 * 4096L, report.BytesCopied);
        Assert.Equal(0L, machine.Iommus[0].Faults.TotalCount);
    }

    [Fact]
    public void Run_MisroutingRootComplex_IsReportedAsIntegrityFailureWithTheFirstBadOffset()
    {
        using Machine.Machine machine = Machine.Machine.Build(Topo.Machine(Topo.HostBridge("hb0", 0, 0, true,
            Topo.RootPort("rp0", Topo.Endpoint("a")), Topo.RootPort("rp1", Topo.Endpoint("b")))));
        machine.Fabric.HostBridges[0].Translator = new ShiftingTranslator(64);

        TransferReport report = TransferScenario.Run(machine, "shifted", bytesPerTransfer: 4096);

        Assert.False(report.IntegrityOk);
        TransferCheck bad = Assert.Single(report.Transfers, t => t.Requester == "a" && t.Target == "host RAM");
        Assert.False(bad.IntegrityOk);
        Assert.StartsWith("first bad byte at offset 0:", bad.Mismatch, System.StringComparison.Ordinal);
        TransferCheck refused = Assert.Single(report.Transfers, t => t.Requester == "a" && t.Target == "b BAR0");
        Assert.Equal("NOT_SUPPORTED", refused.MapType);
        Assert.Equal("KernelRefused", refused.Status);
        Assert.True(refused.IntegrityOk);
    }

    [Fact]
    public void Run_RefusedTransfers_LeaveTargetsUntouchedAndCountAsIntact()
    {
        using Machine.Machine machine = Machine.Machine.Load("two-root-ports", bindDrivers: false);

        TransferReport report = TransferScenario.Run(machine, "two-root-ports", bytesPerTransfer: 4096);

        Assert.True(report.IntegrityOk);
        Assert.Equal(2, report.Transfers.Count(t => t.Status == "KernelRefused" && t.MapType == "NOT_SUPPORTED"));
        Assert.Equal(2, report.Delivered);
    }

    /// <summary>A broken root complex that delivers every request a few bytes off.</summary>
    private sealed class ShiftingTranslator : IRootComplexTranslator
    {
        private readonly ulong _shift;

        public ShiftingTranslator(ulong shift) => _shift = shift;

        public bool TryTranslate(PciFunction requester, Bdf requesterId, DmaAddress address, AccessKind access, out BusAddress translated, out ulong contiguousBytes)
        {
            translated = new BusAddress(address.Value + _shift);
            contiguousBytes = ulong.MaxValue;
            return true;
        }
    }
}
