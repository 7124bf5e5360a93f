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
    public void Run_SwitchWithRedirect_ReportsTheRedirectingPortAndVerifiedBytes()
    {
        using Machine.Machine machine = Machine.Machine.Load("switch-acs");

        TransferReport report = TransferScenario.Run(machine, "switch-acs", bytesPerTransfer: 4096);

        Assert.True(report.IntegrityOk);
        TransferCheck peer = Assert.Single(report.Transfers, t => t.Requester == "nvme0" && t.Target == "nic0 BAR2");
        Assert.Equal("RootComplexPeer", peer.Path);
        Assert.Equal("sw0.dp0", peer.RedirectedAt);
        Assert.Equal(4096UL, peer.BytesTransferred);
        Assert.Equal(4 * 4096L, report.BytesCopied);
    }

    [Fact]
    public void Run_MisroutingRootComplex_IsReportedAsIntegrityFailureWithTheFirstBadOffset()
    {
        using Machine.Machine machine = Machine.Machine.Build(Topo.Machine(Topo.HostBridge("hb0", 0, 0, true,
            Topo.RootPort("rp0", Topo.Endpoint("a")), Topo.RootPort("rp1", Topo.Endpoint("b")))));
        machine.Fabric.HostBridges[0].Translator = new ShiftingTranslator(64);

        TransferReport report = TransferScenario.Run(machine, "shifted", bytesPerTransfer: 4096);

        Assert.False(report.IntegrityOk);
        TransferCheck bad = Assert.Single(report.Transfers, t => t.Requester == "a" && t.Target == "b BAR0");
        Assert.False(bad.IntegrityOk);
        Assert.StartsWith("first bad byte at offset 0:", bad.Mismatch, System.StringComparison.Ordinal);
        Assert.Contains("RootComplexPeer", bad.Mismatch, System.StringComparison.Ordinal);
    }

    [Fact]
    public void Run_RefusedTransfers_LeaveTargetsUntouchedAndCountAsIntact()
    {
        using Machine.Machine machine = Machine.Machine.Load("two-root-ports");

        TransferReport report = TransferScenario.Run(machine, "two-root-ports", bytesPerTransfer: 4096);

        Assert.True(report.IntegrityOk);
        Assert.Equal(2, report.Transfers.Count(t => t.Status == "UnsupportedRequest"));
        Assert.Equal(2, report.Delivered);
    }

    /// <summary>A broken root complex that delivers every request a few bytes off.</summary>
    private sealed class ShiftingTranslator : IRootComplexTranslator
    {
        private readonly ulong _shift;

        public ShiftingTranslator(ulong shift) => _shift = shift;

        public bool TryTranslate(PciFunction requester, DmaAddress address, AccessKind access, out BusAddress translated, out ulong contiguousBytes)
        {
            translated = new BusAddress(address.Value + _shift);
            contiguousBytes = ulong.MaxValue;
            return true;
        }
    }
}
