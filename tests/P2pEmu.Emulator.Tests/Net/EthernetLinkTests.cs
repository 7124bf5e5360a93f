using System;
using System.Collections.Generic;
using System.IO;
using P2pEmu.Emulator.Devices.Net;
using Xunit;

namespace P2pEmu.Emulator.Tests.Net;

public sealed class EthernetLinkTests
{
    private readonly EthernetLink _link = new();
    private readonly RecordingEndpoint _a = new("a");
    private readonly RecordingEndpoint _b = new("b");

    public EthernetLinkTests()
    {
        _link.Connect(_a, _b);
    }

    [Fact]
    public void Transmit_DeliversToTheOtherEndOnly()
    {
        _link.Transmit(_a, new WireFrame("to-b"u8));
        _link.Transmit(_b, new WireFrame("to"u8, "-"u8, "a"u8));

        Assert.Equal(new[] { "to-b" }, _b.Received);
        Assert.Equal(new[] { "to-a" }, _a.Received);
        Assert.Equal(2, _link.FramesDelivered);
        Assert.Equal(8, _link.BytesDelivered);
        Assert.Equal(0, _link.FramesDropped);
    }

    [Fact]
    public void Transmit_WhileDown_DropsAndCounts()
    {
        using var stream = new MemoryStream();
        using var capture = new PcapWriter(stream, leaveOpen: true);
        _link.Capture = capture;
        _link.IsUp = false;
        _link.Transmit(_a, new WireFrame("lost"u8));
        _link.Transmit(_b, new WireFrame("lost"u8));
        _link.IsUp = true;
        _link.Transmit(_a, new WireFrame("kept"u8));

        Assert.Equal(new[] { "kept" }, _b.Received);
        Assert.Empty(_a.Received);
        Assert.Equal(2, _link.FramesDropped);
        Assert.Equal(1, _link.FramesDelivered);
        Assert.Equal(1, capture.FramesWritten);
    }

    [Fact]
    public void Transmit_WritesTheCaptureBeforeDelivering()
    {
        using var stream = new MemoryStream();
        using var capture = new PcapWriter(stream, leaveOpen: true);
        _link.Capture = capture;
        long seenAtReceive = -1;
        _b.OnReceive = _ => seenAtReceive = capture.FramesWritten;

        _link.Transmit(_a, new WireFrame("x"u8));

        Assert.Equal(1, seenAtReceive);
    }

    [Fact]
    public void Transmit_AnswerFromInsideReceive_ArrivesBeforeTransmitReturns()
    {
        _b.OnReceive = frame =>
        {
            lock (_link.SyncRoot)
            {
                _link.Transmit(_b, new WireFrame("ack"u8));
            }
        };

        lock (_link.SyncRoot)
        {
            _link.Transmit(_a, new WireFrame("req"u8));
            Assert.Equal(new[] { "ack" }, _a.Received);
        }
    }

    [Fact]
    public void NeedsIcrc_WhileCapturingOrAsked()
    {
        Assert.False(_link.NeedsIcrc);
        _link.ComputeIcrc = true;
        Assert.True(_link.NeedsIcrc);
        _link.ComputeIcrc = false;
        using var capture = new PcapWriter(new MemoryStream());
        _link.Capture = capture;
        Assert.True(_link.NeedsIcrc);
        _link.Capture = null;
        Assert.False(_link.NeedsIcrc);
    }

    [Fact]
    public void Misuse_Throws()
    {
        var stranger = new RecordingEndpoint("c");
        var unconnected = new EthernetLink();

        Assert.Throws<ArgumentException>(() => _link.Transmit(stranger, new WireFrame("x"u8)));
        Assert.Throws<InvalidOperationException>(() => _link.Connect(stranger, _a));
        Assert.Throws<InvalidOperationException>(() => unconnected.Transmit(_a, new WireFrame("x"u8)));
        Assert.Throws<ArgumentException>(() => unconnected.Connect(_a, _a));
        Assert.False(unconnected.IsConnected);
        Assert.True(_link.IsConnected);
        Assert.Empty(_a.Received);
        Assert.Empty(_b.Received);
    }

    private sealed class RecordingEndpoint(string name) : IWireEndpoint
    {
        public List<string> Received { get; } = new();

        public Action<string>? OnReceive { get; set; }

        public void Receive(in WireFrame frame)
        {
            var bytes = new byte[frame.Length];
            frame.CopyTo(bytes);
            string text = System.Text.Encoding.ASCII.GetString(bytes);
            Received.Add(text);
            OnReceive?.Invoke(text);
        }

        public override string ToString() => name;
    }
}
