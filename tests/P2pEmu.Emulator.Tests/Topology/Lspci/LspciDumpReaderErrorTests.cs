using System;
using System.IO;
using P2pEmu.Emulator.Pci;
using P2pEmu.Emulator.Topology;
using P2pEmu.Emulator.Topology.Lspci;
using Xunit;

namespace P2pEmu.Emulator.Tests.Topology.Lspci;

/// <summary>One test per kind of bad dump: the exact location ("source:line N"), and a problem that names what is wrong.</summary>
public sealed class LspciDumpReaderErrorTests
{
    private static readonly byte[] s_nic = DumpText.Endpoint(0x8086, 0x15BC, 0x020000, PciExpressPortType.RootComplexIntegratedEndpoint);

    [Fact]
    public void Parse_TruncatedFunction_ReportsItsHeaderLine()
    {
        string dump = DumpText.Join(DumpText.Block("00:1f.6", s_nic, 64), DumpText.Block("00:02.0", s_nic, 48));

        TopologyException ex = Fails(dump);

        Assert.Equal("dump:line 7", ex.Path);
        Assert.Equal("dump:line 7: function 0000:00:02.0 is truncated: 48 bytes of config space, at least 64 (lspci -x) are needed", ex.Message);
    }

    [Fact]
    public void Parse_PartialRow_ReportsTheRowLine()
    {
        string dump = DumpText.Block("00:1f.6", s_nic, 64).Replace("\n20: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00\n", "\n20: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00\n", StringComparison.Ordinal);

        TopologyException ex = Fails(dump);

        Assert.Equal("dump:line 4", ex.Path);
        Assert.Contains("partial row at offset 20 of 0000:00:1f.6: 15 bytes, a row holds 16", ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_BadHexByte_ReportsLineAndOffset()
    {
        string dump = DumpText.Block("00:1f.6", s_nic, 64).Replace("\n10: 00 00 00", "\n10: 00 00 zz", StringComparison.Ordinal);

        TopologyException ex = Fails(dump, "desktop.txt");

        Assert.Equal("desktop.txt:line 3", ex.Path);
        Assert.Contains("bad hex byte 'zz' at offset 12 of 0000:00:1f.6", ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_DuplicateAddress_ReportsTheSecondHeaderAndTheFirst()
    {
        string dump = DumpText.Join(DumpText.Block("0000:00:1f.6", s_nic, 64), DumpText.Block("00:1f.6", s_nic, 64));

        TopologyException ex = Fails(dump);

        Assert.Equal("dump:line 7", ex.Path);
        Assert.Contains("duplicate function 0000:00:1f.6: it already appeared at dump:line 1", ex.Problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Ethernet controller: Intel Corporation I219-V", "'Ethernet' is not a function address")]
    [InlineData("00:20.0 Ethernet controller", "'00:20.0' is not a function address")]
    [InlineData("00:1f.8 Ethernet controller", "'00:1f.8' is not a function address")]
    [InlineData("0:1f.6 Ethernet controller", "'0:1f.6' is not a function address")]
    public void Parse_HeaderThatIsNotAnAddress_ReportsItsLine(string header, string problem)
    {
        string dump = DumpText.Join(DumpText.Block("00:1f.6", s_nic, 64), header + "\n00: 86 80 bc 15 00 00 00 00 00 00 00 02 00 00 00 00\n");

        TopologyException ex = Fails(dump);

        Assert.Equal("dump:line 7", ex.Path);
        Assert.StartsWith(problem, ex.Problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("\n\n  \n")]
    [InlineData("\tSubsystem: only decoded text\n")]
    public void Parse_NoFunctions_ReportsTheSource(string text)
    {
        TopologyException ex = Fails(text, "empty.txt");

        Assert.Equal("empty.txt", ex.Path);
        Assert.StartsWith("no functions", ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_RowWithoutHeader_ReportsTheRowLine()
    {
        string dump = DumpText.Block("00:1f.6", s_nic, 64) + "\n40: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00\n";

        TopologyException ex = Fails(dump);

        Assert.Equal("dump:line 7", ex.Path);
        Assert.Contains("has no function header line above it", ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_RowOutOfOrder_ReportsTheRowLine()
    {
        string dump = DumpText.Block("00:1f.6", s_nic, 64).Replace("\n20: ", "\n30: ", StringComparison.Ordinal);

        TopologyException ex = Fails(dump);

        Assert.Equal("dump:line 4", ex.Path);
        Assert.Contains("row offset 30 is out of order: function 0000:00:1f.6 continues at 20", ex.Problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0, 0, "secondary bus 00, which is not above its own bus 00")]
    [InlineData(3, 2, "subordinate bus 02 below its secondary bus 03")]
    public void Parse_BridgeWithBadBusNumbers_ReportsTheBridge(int secondary, int subordinate, string problem)
    {
        string dump = DumpText.Join(
            DumpText.Block("00:1f.6", s_nic, 64),
            DumpText.Block("00:01.0", DumpText.Bridge(0, secondary, subordinate, PciExpressPortType.RootPort), 64));

        TopologyException ex = Fails(dump);

        Assert.Equal("dump:line 7", ex.Path);
        Assert.Contains($"bridge 0000:00:01.0 has {problem}", ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_BridgeBelowItsOwnBus_ReportsTheBridge()
    {
        string dump = DumpText.Join(
            DumpText.Block("00:01.0", DumpText.Bridge(0, 5, 6, PciExpressPortType.RootPort)),
            DumpText.Block("05:00.0", DumpText.Bridge(5, 4, 4, PciExpressPortType.UpstreamPort)));

        TopologyException ex = Fails(dump);

        Assert.Equal("dump:line 19", ex.Path);
        Assert.Contains("bridge 0000:05:00.0 has secondary bus 04, which is not above its own bus 05", ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_PciBridgeBelowARootPort_IsUnsupported()
    {
        string dump = DumpText.Join(
            DumpText.Block("00:01.0", DumpText.Bridge(0, 1, 2, PciExpressPortType.RootPort)),
            DumpText.Block("01:00.0", DumpText.Bridge(1, 2, 2, portType: null), 64));

        TopologyException ex = Fails(dump);

        Assert.Equal("dump:line 19", ex.Path);
        Assert.Equal("function 0000:01:00.0 is a PCI bridge without a PCI Express capability below bus 01: not supported by the emulator", ex.Problem);
    }

    [Fact]
    public void Parse_DownstreamPortOnRootBus_IsUnsupported()
    {
        string dump = DumpText.Block("00:03.0", DumpText.Bridge(0, 1, 1, PciExpressPortType.DownstreamPort));

        TopologyException ex = Fails(dump);

        Assert.Equal("dump:line 1", ex.Path);
        Assert.StartsWith("function 0000:00:03.0 is a PCI Express switch downstream port on root bus 00", ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_BusInsideABridgeRangeWithoutItsBridge_ReportsTheFunction()
    {
        string dump = DumpText.Join(
            DumpText.Block("00:01.0", DumpText.Bridge(0, 1, 3, PciExpressPortType.RootPort)),
            DumpText.Block("02:00.0", s_nic));

        TopologyException ex = Fails(dump);

        Assert.Equal("dump:line 19", ex.Path);
        Assert.Contains("function 0000:02:00.0 is on bus 02, inside the bus range 01-03 of bridge 0000:00:01.0, but no bridge", ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_VendorFfffThatIsNoVf_ReportsTheFunction()
    {
        string dump = DumpText.Join(
            DumpText.Block("00:1f.6", s_nic, 64),
            DumpText.Block("00:1f.7", DumpText.Endpoint(0xFFFF, 0xFFFF, 0x020000), 64));

        TopologyException ex = Fails(dump);

        Assert.Equal("dump:line 7", ex.Path);
        Assert.Contains("function 0000:00:1f.7 reads Vendor ID ffff", ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_MissingFile_ReportsThePath()
    {
        string path = Path.Combine(Path.GetTempPath(), $"p2pemu-missing-{Guid.NewGuid():N}.txt");

        TopologyException ex = Assert.Throws<TopologyException>(() => LspciDumpReader.Load(path));

        Assert.Equal(path, ex.Path);
        Assert.Contains("not found", ex.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_BadFile_ReportsLinesOfThatFile()
    {
        string path = Path.Combine(Path.GetTempPath(), $"p2pemu-bad-{Guid.NewGuid():N}.txt");
        File.WriteAllText(path, DumpText.Block("00:1f.6", s_nic, 32));
        try
        {
            TopologyException ex = Assert.Throws<TopologyException>(() => LspciDumpReader.Load(path));

            Assert.Equal(path + ":line 1", ex.Path);
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static TopologyException Fails(string text, string sourceName = "dump") =>
        Assert.Throws<TopologyException>(() => LspciDumpReader.Parse(text, sourceName));
}
