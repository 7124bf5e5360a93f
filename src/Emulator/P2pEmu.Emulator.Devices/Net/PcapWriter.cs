using System;
using System.Buffers.Binary;
using System.Diagnostics;
using System.IO;
using System.Threading;

namespace P2pEmu.Emulator.Devices.Net;

/// <summary>
/// Writes frames to a classic libpcap capture (magic 0xa1b2c3d4, version 2.4, microsecond timestamps,
/// snap length 65535, LINKTYPE_ETHERNET) that tshark and Wireshark read.
/// </summary>
/// <remarks>
/// Thread-safe: one lock orders the records, so each record is whole and timestamps never decrease.
/// A record's time is the wall clock when the writer was created plus a <see cref="Stopwatch"/> started then.
/// Frames longer than the snap length are truncated in the capture, with their original length recorded.
/// </remarks>
public sealed class PcapWriter : IDisposable
{
    /// <summary>The snap length in the file header: the most bytes of a frame a record holds.</summary>
    public const int SnapLengthBytes = 65535;

    private const uint Magic = 0xA1B2C3D4;
    private const int LinkTypeEthernet = 1;
    private const int FileHeaderBytes = 24;
    private const int RecordHeaderBytes = 16;

    private readonly Lock _lock = new();
    private readonly Stream _stream;
    private readonly bool _leaveOpen;
    private readonly Stopwatch _clock;
    private readonly long _originUs;
    private long _lastUs;
    private long _framesWritten;
    private bool _disposed;

    /// <summary>Starts a capture on <paramref name="stream"/>, writing the file header at once.</summary>
    /// <param name="stream">A writable stream.</param>
    /// <param name="leaveOpen">Whether <see cref="Dispose"/> leaves <paramref name="stream"/> open.</param>
    /// <exception cref="ArgumentException"><paramref name="stream"/> is not writable.</exception>
    public PcapWriter(Stream stream, bool leaveOpen = false)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (!stream.CanWrite)
        {
            throw new ArgumentException("the capture stream is not writable", nameof(stream));
        }

        _stream = stream;
        _leaveOpen = leaveOpen;
        _originUs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1000;
        _clock = Stopwatch.StartNew();

        Span<byte> header = stackalloc byte[FileHeaderBytes];
        BinaryPrimitives.WriteUInt32LittleEndian(header, Magic);
        BinaryPrimitives.WriteUInt16LittleEndian(header[4..], 2);
        BinaryPrimitives.WriteUInt16LittleEndian(header[6..], 4);
        BinaryPrimitives.WriteInt32LittleEndian(header[8..], 0);      // thiszone: UTC
        BinaryPrimitives.WriteUInt32LittleEndian(header[12..], 0);    // sigfigs
        BinaryPrimitives.WriteInt32LittleEndian(header[16..], SnapLengthBytes);
        BinaryPrimitives.WriteInt32LittleEndian(header[20..], LinkTypeEthernet);
        _stream.Write(header);
    }

    /// <summary>The number of frames written so far.</summary>
    public long FramesWritten => Volatile.Read(ref _framesWritten);

    /// <summary>Creates (or truncates) the file at <paramref name="path"/> and starts a capture in it.</summary>
    /// <param name="path">The capture file, conventionally *.pcap.</param>
    public static PcapWriter Create(string path)
    {
        var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read);
        try
        {
            return new PcapWriter(file);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>Appends one record: the frame's three pieces, one after the other, without copying them together.</summary>
    /// <exception cref="ObjectDisposedException">The writer was disposed.</exception>
    public void Write(in WireFrame frame)
    {
        int length = frame.Length;
        int captured = Math.Min(length, SnapLengthBytes);
        Span<byte> record = stackalloc byte[RecordHeaderBytes];
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            long us = Math.Max(_lastUs, _originUs + (long)_clock.Elapsed.TotalMicroseconds);
            _lastUs = us;
            BinaryPrimitives.WriteUInt32LittleEndian(record, (uint)(us / 1_000_000));
            BinaryPrimitives.WriteUInt32LittleEndian(record[4..], (uint)(us % 1_000_000));
            BinaryPrimitives.WriteInt32LittleEndian(record[8..], captured);
            BinaryPrimitives.WriteInt32LittleEndian(record[12..], length);
            _stream.Write(record);
            int left = captured;
            left = WritePiece(frame.Headers, left);
            left = WritePiece(frame.Payload, left);
            WritePiece(frame.Trailer, left);
            Volatile.Write(ref _framesWritten, _framesWritten + 1);
        }
    }

    /// <summary>Flushes buffered records to the stream and the stream to its store.</summary>
    /// <exception cref="ObjectDisposedException">The writer was disposed.</exception>
    public void Flush()
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _stream.Flush();
        }
    }

    /// <summary>Flushes and, unless the writer was made with leaveOpen, closes the stream. Idempotent.</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _stream.Flush();
            if (!_leaveOpen)
            {
                _stream.Dispose();
            }
        }
    }

    private int WritePiece(ReadOnlySpan<byte> piece, int left)
    {
        int n = Math.Min(piece.Length, left);
        _stream.Write(piece[..n]);
        return left - n;
    }
}
