using System;
using System.Buffers.Binary;
using System.IO;
using P2pEmu.Emulator.Devices.Net;
using Xunit;

namespace P2pEmu.Emulator.Tests.Net;

public sealed class PcapWriterTests
{
    [Fact]
    public void Write_ProducesClassicPcapWithGatheredRecords()
    {
        using var stream = new MemoryStream();
        using (var writer = new PcapWriter(stream, leaveOpen: true))
        {
            writer.Write(new WireFrame("head"u8, "payload"u8, "tail"u8));
            writer.Write(new WireFrame("only-headers"u8));
            Assert.Equal(2, writer.FramesWritten);
        }

        byte[] file = stream.ToArray();
        Assert.Equal(0xA1B2C3D4u, BinaryPrimitives.ReadUInt32LittleEndian(file));
        Assert.Equal(2, BinaryPrimitives.ReadUInt16LittleEndian(file.AsSpan(4)));
        Assert.Equal(4, BinaryPrimitives.ReadUInt16LittleEndian(file.AsSpan(6)));
        Assert.Equal(65535, BinaryPrimitives.ReadInt32LittleEndian(file.AsSpan(16)));
        Assert.Equal(1, BinaryPrimitives.ReadInt32LittleEndian(file.AsSpan(20)));

        int offset = 24;
        long previousUs = 0;
        foreach (string expected in new[] { "headpayloadtail", "only-headers" })
        {
            long us = (BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(offset)) * 1_000_000L)
                + BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(offset + 4));
            int captured = BinaryPrimitives.ReadInt32LittleEndian(file.AsSpan(offset + 8));
            int original = BinaryPrimitives.ReadInt32LittleEndian(file.AsSpan(offset + 12));
            Assert.InRange(BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(offset + 4)), 0u, 999_999u);
            Assert.True(us >= previousUs);
            Assert.Equal(expected.Length, captured);
            Assert.Equal(expected.Length, original);
            Assert.Equal(expected, System.Text.Encoding.ASCII.GetString(file, offset + 16, captured));
            previousUs = us;
            offset += 16 + captured;
        }

        Assert.Equal(file.Length, offset);
    }

    [Fact]
    public void Write_FromTwoThreads_KeepsEveryRecordWholeAndInTimeOrder()
    {
        const int PerThread = 2000;
        using var stream = new MemoryStream();
        using (var writer = new PcapWriter(stream, leaveOpen: true))
        {
            System.Threading.Tasks.Parallel.For(0, 2, t =>
            {
                byte[] frame = RoceTestFrames.Payload(60 + (t * 40));
                for (int i = 0; i < PerThread; i++)
                {
                    writer.Write(new WireFrame(frame.AsSpan(0, 10), frame.AsSpan(10), default));
                }
            });
            Assert.Equal(2 * PerThread, writer.FramesWritten);
        }

        byte[] file = stream.ToArray();
        int offset = 24;
        int records = 0;
        long previousUs = 0;
        while (offset < file.Length)
        {
            long us = (BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(offset)) * 1_000_000L)
                + BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(offset + 4));
            int captured = BinaryPrimitives.ReadInt32LittleEndian(file.AsSpan(offset + 8));
            Assert.True(captured is 60 or 100);
            Assert.True(file.AsSpan(offset + 16, captured).SequenceEqual(RoceTestFrames.Payload(captured)));
            Assert.True(us >= previousUs);
            previousUs = us;
            offset += 16 + captured;
            records++;
        }

        Assert.Equal(2 * PerThread, records);
    }

    [Fact]
    public void Write_FrameOverSnapLength_IsTruncatedWithOriginalLength()
    {
        using var stream = new MemoryStream();
        using var writer = new PcapWriter(stream, leaveOpen: true);
        writer.Write(new WireFrame(new byte[100], new byte[70_000], new byte[4]));
        writer.Flush();

        Assert.Equal(65535, BinaryPrimitives.ReadInt32LittleEndian(stream.GetBuffer().AsSpan(24 + 8)));
        Assert.Equal(70_104, BinaryPrimitives.ReadInt32LittleEndian(stream.GetBuffer().AsSpan(24 + 12)));
        Assert.Equal(24 + 16 + 65535, stream.Length);
    }

    [Fact]
    public void Dispose_ClosesTheStreamUnlessLeftOpen()
    {
        var kept = new MemoryStream();
        new PcapWriter(kept, leaveOpen: true).Dispose();
        var closed = new MemoryStream();
        var writer = new PcapWriter(closed);
        writer.Dispose();
        writer.Dispose();

        Assert.True(kept.CanWrite);
        Assert.False(closed.CanWrite);
        Assert.Throws<ObjectDisposedException>(() => writer.Write(new WireFrame("x"u8)));
    }

    [Fact]
    public void Create_WritesAFile()
    {
        string path = Path.Combine(Path.GetTempPath(), $"p2pemu-pcap-{Guid.NewGuid():N}.pcap");
        try
        {
            using (PcapWriter writer = PcapWriter.Create(path))
            {
                writer.Write(new WireFrame("frame"u8));
            }

            Assert.Equal(24 + 16 + 5, new FileInfo(path).Length);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
