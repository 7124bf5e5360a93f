using System;
using System.Globalization;
using System.Linq;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Pci;
using P2pEmu.Emulator.Topology.Lspci;
using Xunit;

namespace P2pEmu.Emulator.Tests.Topology.Lspci;

/// <summary>The dump's text shape: blocks, header lines, rows and their bytes.</summary>
public sealed class LspciDumpWriterTests : IDisposable
{
    private readonly PcieFabric _fabric = FabricBuilder.Build(DumpSamples.Machine());
    private readonly string[] _lines;

    public LspciDumpWriterTests()
    {
        _lines = LspciDumpWriter.Write(_fabric).Split('\n');
    }

    public void Dispose() => _fabric.Dispose();

    [Fact]
    public void Write_Fabric_OneBlockPerFunctionInAddressOrder()
    {
        string[] headers = Headers().Select(h => h[..h.IndexOf(' ', StringComparison.Ordinal)]).ToArray();

        string[] expected = _fabric.Functions
            .OrderBy(f => f.HostBridge.Segment).ThenBy(f => f.Bdf.Value)
            .Select(f => f.Address).ToArray();
        Assert.Equal(expected, headers);
    }

    [Fact]
    public void Write_EachBlock_Is256RowsThenABlankLine()
    {
        int blockLength = 1 + (ConfigSpace.Size / 16) + 1;

        Assert.Equal((_fabric.Functions.Count * blockLength) + 1, _lines.Length); // the text ends with "\n"
        for (int block = 0; block < _fabric.Functions.Count; block++)
        {
            int start = block * blockLength;
            Assert.Equal("00:", _lines[start + 1][..3]);
            Assert.StartsWith("f0: ", _lines[start + 16], StringComparison.Ordinal);
            Assert.StartsWith("100: ", _lines[start + 17], StringComparison.Ordinal);
            Assert.StartsWith("ff0: ", _lines[start + 256], StringComparison.Ordinal);
            Assert.Equal(string.Empty, _lines[start + 257]);
        }
    }

    [Fact]
    public void Write_Rows_HoldTheConfigSpaceBytes()
    {
        foreach (PciFunction function in _fabric.Functions)
        {
            int header = Array.IndexOf(_lines, _lines.First(l => l.StartsWith(function.Address + " ", StringComparison.Ordinal)));
            byte[] bytes = _lines.Skip(header + 1).Take(256)
                .SelectMany(row => row[(row.IndexOf(':', StringComparison.Ordinal) + 2)..].Split(' '))
                .Select(hex => byte.Parse(hex, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture))
                .ToArray();

            Assert.Equal(function.Config.Bytes.ToArray(), bytes);
        }
    }

    [Fact]
    public void Write_HeaderLine_NamesClassAndIdsAsLspciNn()
    {
        PciFunction nvme = _fabric["nvme0"];

        Assert.Contains($"{nvme.Address} Non-Volatile memory controller [0108]: Device [1b36:0010] (rev 01)", _lines);
        Assert.Contains($"{_fabric["rp1"].Address} PCI bridge [0604]: Device [1b36:000c] (rev 01)", _lines);
        Assert.Contains($"{_fabric["ep2"].Address} Memory controller [0580]: Device [10ee:9038] (rev 01)", _lines);
    }

    [Fact]
    public void Write_VfHeaderLine_NamesPfVendorAndVfDeviceId()
    {
        var pf = (PciEndpoint)_fabric["rciep0"];
        ushort vfDeviceId = pf.Config.Read16(pf.SriovCapabilityOffset + SriovConfig.VfDeviceId);

        PciFunction vf = _fabric["rciep0.vf1"];
        Assert.Equal(0xFFFF, vf.Config.Read16(PciConfig.VendorId));
        Assert.Contains($"{vf.Address} Unclassified device [00ff]: Device [1b36:{vfDeviceId:x4}] (rev 01)", _lines);
    }

    private string[] Headers() => _lines.Where(l => l.Length > 12 && l[4] == ':' && l[7] == ':' && l[10] == '.').ToArray();
}
