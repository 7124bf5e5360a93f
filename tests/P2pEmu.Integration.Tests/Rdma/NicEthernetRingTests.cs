using System;
using System.Buffers.Binary;
using P2pEmu.Emulator.Devices.Net;
using P2pEmu.Emulator.Devices.Nic;
using P2pEmu.Emulator.Topology.Json;
using P2pEmu.Machine;
using Xunit;

namespace P2pEmu.Integration.Tests.Rdma;

/// <summary>
/// The Ethernet descriptor rings (docs/nic.md "Ethernet descriptor"), programmed through BAR0 by CPU stores on a machine
/// without drivers: a raw frame from nic0's transmit ring lands in nic1's posted receive buffer; without a buffer it is
/// dropped and counted; a bad transmit descriptor is completed with DD|ERR and sends nothing.
/// </summary>
public sealed class NicEthernetRingTests : IDisposable
{
    private const int RingEntries = 8;
    private const ushort RxBufferBytes = 2048;
    private const byte Done = NicDevice.DescriptorDone;
    private const byte DoneError = NicDevice.DescriptorDone | NicDevice.DescriptorError;

    private readonly P2pEmu.Machine.Machine _machine;
    private readonly RawNic _tx;
    private readonly RawNic _rx;
    private readonly EthernetLink _link;
    private readonly ulong _txRing;
    private readonly ulong _rxRing;
    private readonly ulong _rxBuffers;

    public NicEthernetRingTests()
    {
        _machine = P2pEmu.Machine.Machine.Build(TopologyJsonReader.Parse(RdmaRig.Json("off")), new MachineOptions { BindDrivers = false });
        _tx = new RawNic(_machine, "nic0");
        _rx = new RawNic(_machine, "nic1");
        _link = _machine.NicLinks[0].Link;
        _tx.Enable();
        _rx.Enable();
        _txRing = _tx.Alloc(4096);
        _rxRing = _rx.Alloc(4096);
        _rxBuffers = _rx.Alloc(RingEntries * (ulong)RxBufferBytes);
        _tx.Write64(NicRegister.TxBase, _txRing);
        _tx.Write(NicRegister.TxSize, RingEntries);
        _rx.Write64(NicRegister.RxBase, _rxRing);
        _rx.Write(NicRegister.RxSize, RingEntries);
        for (int i = 0; i < RingEntries; i++)
        {
            _rx.Descriptor(_rxRing, i, RxBuffer(i), RxBufferBytes);
        }
    }

    public void Dispose() => _machine.Dispose();

    private ulong RxBuffer(int i) => _rxBuffers + ((ulong)i * RxBufferBytes);

    /// <summary>
    /// An Ethernet II frame from nic0 to nic1 with the local experimental EtherType 0x88B5 and a random payload;
    /// shorter than a header, just random bytes.
    /// </summary>
    private byte[] Frame(int length, int seed)
    {
        byte[] frame = RdmaRig.Pattern(length, seed);
        if (length >= 14)
        {
            _machine.Nics["nic1"].Mac.Write(frame.AsSpan(0));
            _machine.Nics["nic0"].Mac.Write(frame.AsSpan(6));
            BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(12), 0x88B5);
        }

        return frame;
    }

    /// <summary>Puts <paramref name="frame"/> in a fresh buffer behind TX descriptor <paramref name="index"/>.</summary>
    private void Stage(int index, byte[] frame)
    {
        ulong buffer = _tx.Alloc((ulong)frame.Length);
        _tx.Poke(buffer, frame);
        _tx.Descriptor(_txRing, index, buffer, (ushort)frame.Length);
    }

    private void RingTx(uint tail)
    {
        _tx.Write(NicRegister.TxTail, tail);
        Assert.True(_tx.Device.WaitIdle(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public void RawFrame_FromTheTransmitRing_LandsByteForByteInThePostedReceiveBuffer()
    {
        byte[] frame = Frame(1514, 71);
        Stage(0, frame);
        _rx.Write(NicRegister.RxTail, 2);
        long delivered = _link.FramesDelivered;

        RingTx(1);

        Assert.Equal(1u, _tx.Read(NicRegister.TxHead));
        Assert.Equal(Done, _tx.DescriptorState(_txRing, 0).Status);
        Assert.Equal(((ushort)frame.Length, Done), _rx.DescriptorState(_rxRing, 0));
        Assert.Equal(RdmaRig.Hash(frame), RdmaRig.Hash(_rx.Peek(RxBuffer(0), frame.Length)));
        Assert.Equal(new byte[RxBufferBytes - frame.Length], _rx.Peek(RxBuffer(0) + (ulong)frame.Length, RxBufferBytes - frame.Length));
        Assert.Equal(1u, _rx.Read(NicRegister.RxHead));
        Assert.Equal(0u, _rx.Read(NicRegister.RxDropped));
        Assert.Equal((RxBufferBytes, (byte)0), _rx.DescriptorState(_rxRing, 1)); // the second posted buffer is untouched
        Assert.Equal(delivered + 1, _link.FramesDelivered);
    }

    [Fact]
    public void SeveralFrames_FillConsecutiveBuffers_InOrder_AcrossTheRingsWrap()
    {
        _rx.Write(NicRegister.RxTail, RingEntries);
        byte[][] frames = new byte[RingEntries + 2][];
        for (int i = 0; i < RingEntries - 2; i++)
        {
            frames[i] = Frame(60 + (i * 100), 80 + i);
            Stage(i, frames[i]);
        }

        RingTx(RingEntries - 2);
        for (int i = 0; i < 2; i++)
        {
            _rx.Descriptor(_rxRing, i, RxBuffer(i), RxBufferBytes); // the driver reposts the first two buffers
        }

        _rx.Write(NicRegister.RxTail, RingEntries + 2);
        for (int i = RingEntries - 2; i < RingEntries + 2; i++)
        {
            frames[i] = Frame(14 + i, 80 + i);
            Stage(i % RingEntries, frames[i]);
        }

        RingTx(RingEntries + 2);

        Assert.Equal((uint)RingEntries + 2, _tx.Read(NicRegister.TxHead));
        Assert.Equal((uint)RingEntries + 2, _rx.Read(NicRegister.RxHead));
        for (int i = 2; i < RingEntries + 2; i++)
        {
            int slot = i % RingEntries;
            Assert.Equal(((ushort)frames[i].Length, Done), _rx.DescriptorState(_rxRing, slot));
            Assert.Equal(frames[i], _rx.Peek(RxBuffer(slot), frames[i].Length));
        }
    }

    [Fact]
    public void WithNoReceiveBufferPosted_TheFrameIsDropped_AndRxDroppedCountsIt()
    {
        Stage(0, Frame(200, 72));

        RingTx(1);

        Assert.Equal(Done, _tx.DescriptorState(_txRing, 0).Status); // sent: the loss is the receiver's
        Assert.Equal(1u, _rx.Read(NicRegister.RxDropped));
        Assert.Equal(0u, _rx.Read(NicRegister.RxHead));
        Assert.Equal((RxBufferBytes, (byte)0), _rx.DescriptorState(_rxRing, 0));
        Assert.Equal(new byte[200], _rx.Peek(RxBuffer(0), 200));
    }

    [Fact]
    public void FrameLongerThanThePostedBuffer_IsDropped_WithTheBufferCompletedInError()
    {
        _rx.Descriptor(_rxRing, 0, RxBuffer(0), 100);
        _rx.Write(NicRegister.RxTail, 1);
        Stage(0, Frame(101, 73));

        RingTx(1);

        Assert.Equal(1u, _rx.Read(NicRegister.RxDropped));
        Assert.Equal(DoneError, _rx.DescriptorState(_rxRing, 0).Status);
        Assert.Equal(new byte[RxBufferBytes], _rx.Peek(RxBuffer(0), RxBufferBytes));
    }

    [Theory]
    [InlineData(13, false)] // shorter than an Ethernet header
    [InlineData(NicDevice.MaxFrameBytes + 1, false)] // longer than a jumbo frame
    [InlineData(64, true)] // a buffer address nothing claims
    public void BadTransmitDescriptor_GetsDoneAndError_AndSendsNothing(int length, bool unreadable)
    {
        _rx.Write(NicRegister.RxTail, 2);
        ulong buffer = unreadable ? RawNic.Unclaimed : _tx.Alloc((ulong)length);
        if (!unreadable)
        {
            _tx.Poke(buffer, Frame(length, 74));
        }

        _tx.Descriptor(_txRing, 0, buffer, (ushort)length);
        byte[] good = Frame(64, 75);
        Stage(1, good);
        long delivered = _link.FramesDelivered;

        RingTx(1);
        (ushort, byte) bad = _tx.DescriptorState(_txRing, 0);
        long deliveredAfterBad = _link.FramesDelivered;
        uint rxHeadAfterBad = _rx.Read(NicRegister.RxHead);
        RingTx(2);

        Assert.Equal(DoneError, bad.Item2);
        Assert.Equal(delivered, deliveredAfterBad);
        Assert.Equal(0u, rxHeadAfterBad);
        Assert.Equal(2u, _tx.Read(NicRegister.TxHead));
        Assert.Equal(0u, _tx.Read(NicRegister.Status) & NicRegister.StatusFatal);
        // The ring goes on: the next descriptor is sent and is the first frame nic1 receives.
        Assert.Equal(Done, _tx.DescriptorState(_txRing, 1).Status);
        Assert.Equal(delivered + 1, _link.FramesDelivered);
        Assert.Equal(1u, _rx.Read(NicRegister.RxHead));
        Assert.Equal(good, _rx.Peek(RxBuffer(0), good.Length));
    }

    [Fact]
    public void FramesOfTheSmallestAndLargestLength_AreSent()
    {
        ulong jumbo = _rx.Alloc(NicDevice.MaxFrameBytes);
        _rx.Descriptor(_rxRing, 1, jumbo, NicDevice.MaxFrameBytes);
        _rx.Write(NicRegister.RxTail, 2);
        byte[] smallest = Frame(14, 76);
        byte[] largest = Frame(NicDevice.MaxFrameBytes, 77);
        Stage(0, smallest);
        Stage(1, largest);

        RingTx(2);

        Assert.Equal(Done, _tx.DescriptorState(_txRing, 0).Status);
        Assert.Equal(Done, _tx.DescriptorState(_txRing, 1).Status);
        Assert.Equal(((ushort)14, Done), _rx.DescriptorState(_rxRing, 0));
        Assert.Equal(((ushort)NicDevice.MaxFrameBytes, Done), _rx.DescriptorState(_rxRing, 1));
        Assert.Equal(smallest, _rx.Peek(RxBuffer(0), 14));
        Assert.Equal(RdmaRig.Hash(largest), RdmaRig.Hash(_rx.Peek(jumbo, NicDevice.MaxFrameBytes)));
        Assert.Equal(2u, _rx.Read(NicRegister.RxHead));
    }
}
