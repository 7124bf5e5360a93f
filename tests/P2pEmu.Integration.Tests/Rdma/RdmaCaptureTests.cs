using System;
using System.IO;
using System.Linq;
using P2pEmu.Drivers.Rdma;
using P2pEmu.Emulator.Devices.Net;
using P2pEmu.Testing;
using Xunit;
using static P2pEmu.Integration.Tests.Rdma.RdmaRig;

namespace P2pEmu.Integration.Tests.Rdma;

/// <summary>Captures of the NIC link, read back by the real tshark as RoCEv2.</summary>
public sealed class RdmaCaptureTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("p2pemu-pcap-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [TsharkFact]
    public void RunWithPcap_WritesACaptureTsharkDecodesAsRoce_WithWriteReadAndSendOpcodes()
    {
        string pcap = Path.Combine(_directory, "run.pcap");

        (int exit, string output, string error) = CliRunner.Run("run", "--pcap", pcap);

        Assert.True(exit == 0, output + error);
        Assert.Contains("rdma scenario", output, StringComparison.Ordinal);
        string[][] rows = TsharkTool.Fields(pcap, "frame.protocols", "infiniband.bth.opcode", "infiniband.bth.destqp");
        Assert.NotEmpty(rows);
        Assert.All(rows, row => Assert.Contains("infiniband", row[0], StringComparison.Ordinal));
        int[] opcodes = rows.Select(row => int.Parse(row[1], System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        Assert.Contains((int)IbOpcode.RcRdmaWriteFirst, opcodes);
        Assert.Contains((int)IbOpcode.RcRdmaWriteMiddle, opcodes);
        Assert.Contains((int)IbOpcode.RcRdmaWriteLast, opcodes);
        Assert.Contains((int)IbOpcode.RcRdmaReadRequest, opcodes);
        Assert.Contains((int)IbOpcode.RcRdmaReadResponseFirst, opcodes);
        Assert.Contains((int)IbOpcode.RcRdmaReadResponseLast, opcodes);
        Assert.Contains((int)IbOpcode.RcSendFirst, opcodes);
        Assert.Contains((int)IbOpcode.RcSendLastWithImmediate, opcodes);
        Assert.Contains((int)IbOpcode.RcAcknowledge, opcodes);
    }

    [TsharkFact]
    public void CapturedWrite_IsSegmentedAtThePathMtu_WithPsnsInOrder_AndGoodIcrcs()
    {
        using var rig = new RdmaRig(mtu: 1024);
        string pcap = Path.Combine(_directory, "write.pcap");
        RegisteredBuffer source = rig.HostBuffer(rig.A, MiB);
        RegisteredBuffer target = rig.HostBuffer(rig.B, MiB);
        byte[] data = Pattern(10_000, 30);
        source.Write(0, data);
        using (PcapWriter writer = PcapWriter.Create(pcap))
        {
            rig.Machine.NicLinks[0].Link.Capture = writer;
            Assert.Equal(IbWcStatus.Success, Run(rig.A, new IbSendWr { Opcode = IbWrOpcode.RdmaWrite, SgList = [source.Sge(0, 10_000)], RemoteAddr = target.Mr.Iova, Rkey = target.Mr.Rkey }).Status);
            rig.Machine.NicLinks[0].Link.Capture = null;
        }

        string[][] rows = TsharkTool.Fields(pcap, "infiniband.bth.opcode", "infiniband.bth.psn", "infiniband.reth.dmalen", "infiniband.invariant.crc", "frame.len");
        Assert.Equal(11, rows.Length); // ten WRITE packets (9 x 1024 + 784) and the ACK
        Assert.Equal("6", rows[0][0]);
        Assert.Equal("10000", rows[0][2]);
        Assert.All(rows[1..9], row => Assert.Equal("7", row[0]));
        Assert.Equal("8", rows[9][0]);
        Assert.Equal("17", rows[10][0]);
        for (int i = 0; i < 10; i++)
        {
            Assert.Equal((100 + i).ToString(System.Globalization.CultureInfo.InvariantCulture), rows[i][1]);
        }

        Assert.Equal("109", rows[10][1]); // the ACK names the last PSN
        Assert.All(rows, row => Assert.NotEqual("0x00000000", row[3]));
        Assert.All(ReadFrames(pcap), frame => Assert.True(RoceCodec.VerifyIcrc(new WireFrame(frame))));
        Assert.Equal(Hash(data), Hash(target.Read(0, data.Length)));
    }

    /// <summary>The frames of a classic pcap file (24-byte file header, 16-byte record headers).</summary>
    private static byte[][] ReadFrames(string path)
    {
        byte[] file = File.ReadAllBytes(path);
        var frames = new System.Collections.Generic.List<byte[]>();
        for (int at = 24; at < file.Length;)
        {
            int length = System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(file.AsSpan(at + 8));
            frames.Add(file.AsSpan(at + 16, length).ToArray());
            at += 16 + length;
        }

        return frames.ToArray();
    }
}
