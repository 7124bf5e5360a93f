using System;
using System.Buffers.Binary;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Devices.Net;
using P2pEmu.Emulator.Registers;

namespace P2pEmu.Emulator.Devices.Nic;

/// <summary>
/// The Ethernet rings: 16-byte descriptors {buffer address (64), length (16), status (8), flags (8), reserved (32)}.
/// The host writes TX descriptors and bumps TX_TAIL; the device sends each frame and sets DD (bit 0) in its status, or
/// DD and ERR (bit 1) when the frame could not be read or is too long. The host posts receive buffers with RX_TAIL;
/// each frame that is not RoCE traffic for the RDMA engine fills the next one (length and DD written back), or is
/// dropped and counted in RX_DROPPED when none is posted or it does not fit.
/// </summary>
public sealed partial class NicDevice
{
    /// <summary>Size of an Ethernet ring descriptor.</summary>
    public const int EthernetDescriptorBytes = 16;

    /// <summary>Largest frame the rings carry (a jumbo frame without FCS).</summary>
    public const int MaxFrameBytes = 9216;

    /// <summary>Descriptor status: done.</summary>
    public const byte DescriptorDone = 1;

    /// <summary>Descriptor status: the frame could not be sent or placed.</summary>
    public const byte DescriptorError = 2;

    private Register64 _txBase = null!;
    private Register _txSize = null!;
    private Register _txHead = null!;
    private Register64 _rxBase = null!;
    private Register _rxSize = null!;
    private Register _rxHead = null!;
    private Register _rxDropped = null!;
    private uint _txTail;
    private uint _rxTail;
    private byte[]? _frameBuffer;

    /// <summary>Frames sent from the transmit ring.</summary>
    public long FramesSent { get; private set; }

    /// <summary>Frames placed in the receive ring.</summary>
    public long FramesReceived { get; private set; }

    private void DefineEthernetRegisters()
    {
        _txBase = _regs.Define64(NicRegister.TxBase).WithReservedBits(0, 4).WithField(4, 60, FieldMode.ReadWrite);
        _txSize = _regs.Define(NicRegister.TxSize).WithField(0, 32, FieldMode.ReadWrite).OnWrite((_, _) => { _txTail = 0; _txHead.Value = 0; });
        _regs.Define(NicRegister.TxTail).WithField(0, 32, FieldMode.Write).OnWrite((_, now) => { _txTail = now; _kick = true; });
        _txHead = _regs.Define(NicRegister.TxHead).WithField(0, 32, FieldMode.Read);
        _rxBase = _regs.Define64(NicRegister.RxBase).WithReservedBits(0, 4).WithField(4, 60, FieldMode.ReadWrite);
        _rxSize = _regs.Define(NicRegister.RxSize).WithField(0, 32, FieldMode.ReadWrite).OnWrite((_, _) => { _rxTail = 0; _rxHead.Value = 0; });
        _regs.Define(NicRegister.RxTail).WithField(0, 32, FieldMode.Write).OnWrite((_, now) => _rxTail = now);
        _rxHead = _regs.Define(NicRegister.RxHead).WithField(0, 32, FieldMode.Read);
        _rxDropped = _regs.Define(NicRegister.RxDropped).WithField(0, 32, FieldMode.Read);
    }

    private void ResetEthernet()
    {
        _txBase.Value = _rxBase.Value = 0;
        _txSize.Value = _rxSize.Value = 0;
        _txHead.Value = _rxHead.Value = _rxDropped.Value = 0;
        _txTail = _rxTail = 0;
    }

    /// <summary>Sends every frame the host made ready on the transmit ring.</summary>
    private void ProcessTransmitRing()
    {
        unchecked
        {
            uint size = _txSize.Value;
            if (!_ready.IsSet || !IsRingSize(size))
            {
                return;
            }

            Span<byte> descriptor = stackalloc byte[EthernetDescriptorBytes];
            bool any = false;
            while (_txHead.Value != _txTail && _txTail - _txHead.Value <= size)
            {
                DmaAddress slot = Slot(_txBase.Value, _txHead.Value, size, EthernetDescriptorBytes);
                if (!Dma.Read(slot, descriptor).IsSuccess)
                {
                    SetFatal();
                    return;
                }

                int length = BinaryPrimitives.ReadUInt16LittleEndian(descriptor[8..]);
                byte status = DescriptorDone;
                byte[] frame = _frameBuffer ??= new byte[MaxFrameBytes];
                if (length < 14 || length > MaxFrameBytes
                    || !Dma.Read(new DmaAddress(BinaryPrimitives.ReadUInt64LittleEndian(descriptor)), frame.AsSpan(0, length)).IsSuccess)
                {
                    status |= DescriptorError;
                }
                else
                {
                    FramesSent++;
                    Transmit(new WireFrame(frame.AsSpan(0, length), default, default));
                }

                if (!Dma.Write(Offset(slot, 10), new ReadOnlySpan<byte>(in status)).IsSuccess)
                {
                    SetFatal();
                    return;
                }

                _txHead.Value++;
                any = true;
            }

            if (any)
            {
                MarkPending(EthernetVector);
            }
        }
    }

    /// <summary>Places a received frame that is not for the RDMA engine in the next posted receive buffer.</summary>
    private void ReceiveEthernet(in WireFrame frame)
    {
        unchecked
        {
            uint size = _rxSize.Value;
            if (!_ready.IsSet || !IsRingSize(size) || _rxHead.Value == _rxTail || frame.Length > MaxFrameBytes)
            {
                _rxDropped.Value++;
                return;
            }

            Span<byte> descriptor = stackalloc byte[EthernetDescriptorBytes];
            DmaAddress slot = Slot(_rxBase.Value, _rxHead.Value, size, EthernetDescriptorBytes);
            if (!Dma.Read(slot, descriptor).IsSuccess)
            {
                SetFatal();
                return;
            }

            int capacity = BinaryPrimitives.ReadUInt16LittleEndian(descriptor[8..]);
            var buffer = new DmaAddress(BinaryPrimitives.ReadUInt64LittleEndian(descriptor));
            byte status = DescriptorDone;
            int length = frame.Length;
            if (length > capacity || !WriteFrame(buffer, frame))
            {
                status |= DescriptorError;
                _rxDropped.Value++;
            }
            else
            {
                FramesReceived++;
            }

            Span<byte> writeBack = stackalloc byte[3];
            BinaryPrimitives.WriteUInt16LittleEndian(writeBack, (ushort)length);
            writeBack[2] = status;
            if (!Dma.Write(Offset(slot, 8), writeBack).IsSuccess)
            {
                SetFatal();
                return;
            }

            _rxHead.Value++;
            MarkPending(EthernetVector);
        }
    }

    private bool WriteFrame(DmaAddress buffer, in WireFrame frame)
    {
        ulong payloadAt = (ulong)frame.Headers.Length;
        ulong trailerAt = payloadAt + (ulong)frame.Payload.Length;
        return WritePart(buffer, frame.Headers) && WritePart(Offset(buffer, payloadAt), frame.Payload) && WritePart(Offset(buffer, trailerAt), frame.Trailer);
    }

    private bool WritePart(DmaAddress at, ReadOnlySpan<byte> part) => part.IsEmpty || Dma.Write(at, part).IsSuccess;
}
