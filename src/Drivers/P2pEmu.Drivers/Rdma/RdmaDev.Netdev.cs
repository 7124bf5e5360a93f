using System;
using System.Buffers.Binary;
using System.Numerics;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Host;

namespace P2pEmu.Drivers.Rdma;

/// <summary>
/// The port's Ethernet side, as a netdev driver runs it: a transmit ring whose slots each own a frame buffer
/// (<c>ndo_start_xmit</c> copies the frame in and rings TX_TAIL; slots are reclaimed from TX_HEAD), and a receive ring
/// of posted buffers that <see cref="NapiPoll"/> reaps by their DD bits and posts again. Frames that are RoCE traffic
/// for this port never reach the ring: the RDMA engine takes them.
/// </summary>
/// <remarks>Polled, like NAPI without the interrupt that schedules it; one thread at a time per direction.</remarks>
public sealed partial class RdmaDev
{
    private Ring? _tx;
    private Ring? _rx;

    /// <summary>Frames sent, frames received, and transmit descriptors the device completed in error.</summary>
    public long TxPackets { get; private set; }

    public long RxPackets { get; private set; }

    public long TxErrors { get; private set; }

    /// <summary>Frames the device dropped for want of a posted buffer (RX_DROPPED).</summary>
    public uint RxDropped => Readl(NicHw.RxDropped);

    /// <summary>
    /// <c>ndo_open</c>: allocates both rings and their buffers (<paramref name="bufferBytes"/> each) in coherent memory,
    /// programs them and posts every receive buffer. EINVAL for sizes the device cannot take; EBUSY when already open.
    /// </summary>
    public Errno OpenNetdev(int txEntries = 256, int rxEntries = 256, int bufferBytes = 2048)
    {
        if (txEntries <= 0 || rxEntries <= 0 || (uint)txEntries > MaxQueueEntries || (uint)rxEntries > MaxQueueEntries
            || bufferBytes < 64 || bufferBytes > NicHw.MaxFrameBytes)
        {
            return Errno.EINVAL;
        }

        if (_tx is not null)
        {
            return Errno.EBUSY;
        }

        _tx = new Ring(this, BitOperations.RoundUpToPowerOf2((uint)txEntries), (uint)bufferBytes);
        _rx = new Ring(this, BitOperations.RoundUpToPowerOf2((uint)rxEntries), (uint)bufferBytes);
        _cpu.LoHiWriteq(_bar0 + NicHw.TxBase, _tx.RingDma.Value);
        Writel(NicHw.TxSize, _tx.Entries);
        _cpu.LoHiWriteq(_bar0 + NicHw.RxBase, _rx.RingDma.Value);
        Writel(NicHw.RxSize, _rx.Entries);
        for (uint i = 0; i < _rx.Entries; i++)
        {
            _rx.Post(i);
        }

        _rx.Tail = _rx.Entries;
        Writel(NicHw.RxTail, _rx.Tail);
        return Errno.None;
    }

    /// <summary>
    /// <c>ndo_start_xmit</c>: EINVAL for a frame shorter than an Ethernet header or longer than a buffer; EBUSY
    /// (<c>NETDEV_TX_BUSY</c>) when every slot is in flight; ENETDOWN before <see cref="OpenNetdev"/>.
    /// </summary>
    public Errno StartXmit(ReadOnlySpan<byte> frame)
    {
        if (_tx is not Ring tx)
        {
            return Errno.ENETDOWN;
        }

        if (frame.Length < 14 || frame.Length > tx.BufferBytes)
        {
            return Errno.EINVAL;
        }

        ReclaimTx(tx);
        if (unchecked(tx.Tail - tx.Head) >= tx.Entries)
        {
            return Errno.EBUSY;
        }

        uint slot = tx.Tail & (tx.Entries - 1);
        _cpu.Write(tx.Buffer(slot).Value, frame);
        tx.Describe(slot, (ushort)frame.Length);
        tx.Tail = unchecked(tx.Tail + 1);
        Writel(NicHw.TxTail, tx.Tail);
        ReclaimTx(tx);
        return Errno.None;
    }

    /// <summary>
    /// A NAPI poll of one frame: the next filled receive buffer is copied to <paramref name="destination"/> and posted
    /// again. False when no frame is waiting (or the netdev is not open).
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is shorter than the frame waiting.</exception>
    public bool NapiPoll(Span<byte> destination, out int length)
    {
        length = 0;
        if (_rx is not Ring rx)
        {
            return false;
        }

        uint slot = rx.Head & (rx.Entries - 1);
        Span<byte> descriptor = stackalloc byte[NicHw.EthernetDescriptorBytes];
        _cpu.Read(rx.Descriptor(slot), descriptor);
        if ((descriptor[10] & NicHw.DescriptorDone) == 0)
        {
            return false;
        }

        length = BinaryPrimitives.ReadUInt16LittleEndian(descriptor[8..]);
        if ((descriptor[10] & NicHw.DescriptorError) == 0)
        {
            if (destination.Length < length)
            {
                throw new ArgumentException($"The frame waiting is {length} bytes; the buffer holds {destination.Length}.", nameof(destination));
            }

            _cpu.Read(rx.Buffer(slot).Value, destination[..length]);
            RxPackets++;
        }

        rx.Post(slot);
        rx.Head = unchecked(rx.Head + 1);
        rx.Tail = unchecked(rx.Tail + 1);
        Writel(NicHw.RxTail, rx.Tail);
        return true;
    }

    /// <summary>Frees the transmit slots the device finished (TX_HEAD), counting the ones it completed in error.</summary>
    private void ReclaimTx(Ring tx)
    {
        uint head = Readl(NicHw.TxHead);
        Span<byte> status = stackalloc byte[1];
        while (tx.Head != head)
        {
            _cpu.Read(tx.Descriptor(tx.Head & (tx.Entries - 1)) + 10, status);
            if ((status[0] & NicHw.DescriptorError) != 0)
            {
                TxErrors++;
            }
            else
            {
                TxPackets++;
            }

            tx.Head = unchecked(tx.Head + 1);
        }
    }

    /// <summary>A descriptor ring and its frame buffers in coherent memory.</summary>
    private sealed class Ring
    {
        private readonly RdmaDev _dev;
        private readonly PhysAddress _ring;
        private readonly PhysAddress _buffers;
        private readonly DmaAddress _buffersDma;

        public Ring(RdmaDev dev, uint entries, uint bufferBytes)
        {
            _dev = dev;
            Entries = entries;
            BufferBytes = bufferBytes;
            _ring = dev._dma.DmaAllocCoherent(dev.DmaDev, entries * NicHw.EthernetDescriptorBytes, out DmaAddress ringDma);
            RingDma = ringDma;
            _buffers = dev._dma.DmaAllocCoherent(dev.DmaDev, entries * bufferBytes, out _buffersDma);
            dev.ZeroHost(_ring, entries * NicHw.EthernetDescriptorBytes);
        }

        public uint Entries { get; }

        public uint BufferBytes { get; }

        public DmaAddress RingDma { get; }

        /// <summary>Free-running producer (posted or made ready) and consumer (reaped) counts.</summary>
        public uint Tail { get; set; }

        public uint Head { get; set; }

        public ulong Descriptor(uint slot) => _ring.Value + ((ulong)slot * NicHw.EthernetDescriptorBytes);

        public PhysAddress Buffer(uint slot) => new(_buffers.Value + ((ulong)slot * BufferBytes));

        /// <summary>Makes slot <paramref name="slot"/> a transmit descriptor of <paramref name="length"/> bytes.</summary>
        public void Describe(uint slot, ushort length) => Write(slot, length);

        /// <summary>Posts slot <paramref name="slot"/> as an empty receive buffer.</summary>
        public void Post(uint slot) => Write(slot, (ushort)BufferBytes);

        private void Write(uint slot, ushort length)
        {
            Span<byte> descriptor = stackalloc byte[NicHw.EthernetDescriptorBytes];
            descriptor.Clear();
            BinaryPrimitives.WriteUInt64LittleEndian(descriptor, _buffersDma.Value + ((ulong)slot * BufferBytes));
            BinaryPrimitives.WriteUInt16LittleEndian(descriptor[8..], length);
            _dev._cpu.Write(Descriptor(slot), descriptor);
        }
    }
}
