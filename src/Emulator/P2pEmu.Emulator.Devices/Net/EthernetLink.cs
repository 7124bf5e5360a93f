using System;
using System.Threading;

namespace P2pEmu.Emulator.Devices.Net;

/// <summary>
/// A point-to-point Ethernet cable between exactly two <see cref="IWireEndpoint"/>s: zero latency, lossless and in
/// order. <see cref="Transmit"/> hands the frame to the other end and returns after that end's
/// <see cref="IWireEndpoint.Receive"/> has returned.
/// </summary>
/// <remarks>
/// <para>The link is hardware: transmitting from something that is not one of its two ends, or on a link
/// not yet connected, is a caller bug and throws.</para>
/// <para>Because delivery is synchronous, the two ends exchange packets re-entrantly on one thread: a
/// receiver answers (an ACK, a READ response) from inside <see cref="IWireEndpoint.Receive"/>, and that answer
/// arrives at the first end while it is still inside its own <see cref="Transmit"/>. Both NICs therefore take
/// <see cref="SyncRoot"/>, one lock for the whole link, around their RoCE processing: the re-entry on the same
/// thread is fine (the lock is recursive), and two threads driving the two ends serialize on it instead of
/// each holding its own NIC's lock while waiting for the other's, which would deadlock.</para>
/// </remarks>
public sealed class EthernetLink
{
    private IWireEndpoint? _a;
    private IWireEndpoint? _b;
    private volatile PcapWriter? _capture;
    private volatile bool _isUp = true;
    private volatile bool _computeIcrc;
    private long _framesDelivered;
    private long _framesDropped;
    private long _bytesDelivered;

    /// <summary>The one lock both NICs on this link take for RoCE processing (see the remarks on <see cref="EthernetLink"/>).</summary>
    public Lock SyncRoot { get; } = new();

    /// <summary>Whether <see cref="Connect"/> has plugged in both ends.</summary>
    public bool IsConnected => Volatile.Read(ref _b) is not null;

    /// <summary>
    /// A capture every transmitted frame is written to before it is delivered; null (the default) for none.
    /// Frames dropped while the link is down are not captured: the cable carries nothing then. The link does not own
    /// the writer; whoever sets it disposes it.
    /// </summary>
    public PcapWriter? Capture
    {
        get => _capture;
        set => _capture = value;
    }

    /// <summary>Whether the ends should compute ICRCs even without a capture (for tests that check them on receive).</summary>
    public bool ComputeIcrc
    {
        get => _computeIcrc;
        set => _computeIcrc = value;
    }

    /// <summary>
    /// Whether a transmitter must compute the ICRC: while capturing or when <see cref="ComputeIcrc"/> is set.
    /// Otherwise it may send zeros, because the link is lossless and receivers do not check it.
    /// </summary>
    public bool NeedsIcrc => _capture is not null || _computeIcrc;

    /// <summary>Whether the link is up (the default). While it is down every frame is dropped and counted in <see cref="FramesDropped"/>.</summary>
    public bool IsUp
    {
        get => _isUp;
        set => _isUp = value;
    }

    /// <summary>Frames handed to the far end.</summary>
    public long FramesDelivered => Interlocked.Read(ref _framesDelivered);

    /// <summary>Frames dropped because the link was down.</summary>
    public long FramesDropped => Interlocked.Read(ref _framesDropped);

    /// <summary>Bytes of the frames handed to the far end.</summary>
    public long BytesDelivered => Interlocked.Read(ref _bytesDelivered);

    /// <summary>Plugs in the link's two ends. Done once, before any <see cref="Transmit"/>.</summary>
    /// <exception cref="ArgumentNullException">An end is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="a"/> and <paramref name="b"/> are the same endpoint.</exception>
    /// <exception cref="InvalidOperationException">The link is already connected.</exception>
    public void Connect(IWireEndpoint a, IWireEndpoint b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        if (ReferenceEquals(a, b))
        {
            throw new ArgumentException("a link connects two different endpoints", nameof(b));
        }

        lock (SyncRoot)
        {
            if (_b is not null)
            {
                throw new InvalidOperationException("the link is already connected");
            }

            _a = a;
            Volatile.Write(ref _b, b);
        }
    }

    /// <summary>
    /// Sends <paramref name="frame"/> from <paramref name="from"/> to the other end: written to <see cref="Capture"/>,
    /// then delivered with <see cref="IWireEndpoint.Receive"/> before this returns; or, while the link is down, dropped.
    /// </summary>
    /// <param name="from">The transmitting end.</param>
    /// <param name="frame">The frame; the link neither copies nor keeps it.</param>
    /// <exception cref="InvalidOperationException">The link is not connected.</exception>
    /// <exception cref="ArgumentException"><paramref name="from"/> is not an end of this link.</exception>
    public void Transmit(IWireEndpoint from, in WireFrame frame)
    {
        IWireEndpoint to = OtherEnd(from);
        if (!_isUp)
        {
            Interlocked.Increment(ref _framesDropped);
            return;
        }

        _capture?.Write(frame);
        Interlocked.Increment(ref _framesDelivered);
        Interlocked.Add(ref _bytesDelivered, frame.Length);
        to.Receive(frame);
    }

    /// <summary>
    /// Sends the packets of <paramref name="run"/> from <paramref name="from"/>. While a capture is attached, ICRCs are
    /// wanted, <see cref="SegmentRuns"/> is set or the far end takes only frames, the link cuts the run into its real
    /// frames (headers, the payload slice, pad and ICRC) and sends each with <see cref="Transmit"/>; otherwise it hands
    /// the run to the far end whole, counting the frames it stands for. Either way the far end sees the same packets.
    /// </summary>
    /// <param name="from">The transmitting end.</param>
    /// <param name="run">The packets.</param>
    /// <param name="payload">Their payloads back to back (empty for a run of one packet without payload).</param>
    /// <exception cref="InvalidOperationException">The link is not connected.</exception>
    /// <exception cref="ArgumentException"><paramref name="from"/> is not an end of this link.</exception>
    public void TransmitRun(IWireEndpoint from, in RoceRun run, ReadOnlySpan<byte> payload)
    {
        IWireEndpoint to = OtherEnd(from);
        if (!_isUp)
        {
            Interlocked.Add(ref _framesDropped, run.Count);
            return;
        }

        if (_capture is null && !_computeIcrc && !_segmentRuns && to is IRoceEndpoint roce)
        {
            Interlocked.Add(ref _framesDelivered, run.Count);
            Interlocked.Add(ref _bytesDelivered, RunWireBytes(run, payload.Length));
            roce.ReceiveRun(run, payload);
            return;
        }

        Span<byte> headers = stackalloc byte[RoceCodec.MaxHeaderBytes];
        Span<byte> trailer = stackalloc byte[RoceCodec.TrailerMaxBytes];
        bool icrc = NeedsIcrc;
        int offset = 0;
        for (int i = 0; i < run.Count; i++)
        {
            RocePacket packet = run.PacketAt(i);
            int n = run.PayloadBytesAt(i, payload.Length);
            ReadOnlySpan<byte> slice = payload.Slice(offset, n);
            int headerBytes = RoceCodec.WriteHeaders(headers, ref packet, n);
            int trailerBytes = RoceCodec.WriteTrailer(trailer, headers[..headerBytes], slice, packet.PadCount, icrc);
            Transmit(from, new WireFrame(headers[..headerBytes], slice, trailer[..trailerBytes]));
            offset += n;
        }
    }

    /// <summary>Cut every run into frames even with nobody watching (tests compare both ways).</summary>
    public bool SegmentRuns
    {
        get => _segmentRuns;
        set => _segmentRuns = value;
    }

    private volatile bool _segmentRuns;

    private IWireEndpoint OtherEnd(IWireEndpoint from)
    {
        IWireEndpoint b = Volatile.Read(ref _b) ?? throw new InvalidOperationException("the link is not connected");
        IWireEndpoint a = _a!;
        return ReferenceEquals(from, a) ? b
            : ReferenceEquals(from, b) ? a
            : throw new ArgumentException("the transmitter is not an end of this link", nameof(from));
    }

    /// <summary>The bytes the run's frames would take on the wire (headers, payload, pad and ICRC, no FCS).</summary>
    private static long RunWireBytes(in RoceRun run, int payloadBytes)
    {
        const int Fixed = RoceCodec.EthernetHeaderBytes + RoceCodec.Ipv4HeaderBytes + RoceCodec.UdpHeaderBytes + RoceCodec.IcrcBytes;
        long bytes = 0;
        for (int i = 0; i < run.Count; i++)
        {
            int n = run.PayloadBytesAt(i, payloadBytes);
            IbOpcode opcode = i == 0 ? run.First.Opcode : i == run.Count - 1 ? run.LastOpcode : RoceRun.MiddleOf(run.First.Opcode);
            bytes += Fixed + RocePacket.TransportHeaderBytes(opcode) + n + ((4 - (n & 3)) & 3);
        }

        return bytes;
    }
}
