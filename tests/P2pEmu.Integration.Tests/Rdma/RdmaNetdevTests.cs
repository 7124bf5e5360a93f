using System;
using System.Buffers.Binary;
using P2pEmu.Drivers.Rdma;
using P2pEmu.Emulator.Host;
using Xunit;
using static P2pEmu.Integration.Tests.Rdma.RdmaRig;

namespace P2pEmu.Integration.Tests.Rdma;

/// <summary>The driver's Ethernet side: frames through the transmit ring, across the link, out of the peer's receive ring.</summary>
public sealed class RdmaNetdevTests
{
    private static byte[] Frame(int length, int seed, ushort etherType = 0x88B5)
    {
        byte[] frame = Pattern(length, seed);
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(12), etherType);
        return frame;
    }

    [Fact]
    public void Frames_GoOutOfOneNetdevAndIntoTheOther_InOrder_AcrossRingWraps()
    {
        using var rig = new RdmaRig();
        RdmaDev a = rig.A.Dev;
        RdmaDev b = rig.B.Dev;
        Assert.Equal(Errno.None, a.OpenNetdev(txEntries: 4, rxEntries: 4, bufferBytes: 1600));
        Assert.Equal(Errno.None, b.OpenNetdev(txEntries: 4, rxEntries: 4, bufferBytes: 1600));
        byte[] received = new byte[1600];

        for (int i = 0; i < 10; i++)
        {
            byte[] frame = Frame(60 + (i * 150), i);
            Assert.Equal(Errno.None, a.StartXmit(frame));
            Assert.True(b.NapiPoll(received, out int length));
            Assert.Equal(frame.Length, length);
            Assert.Equal(frame, received[..length]);
        }

        Assert.False(b.NapiPoll(received, out _));
        Assert.Equal(10, a.TxPackets);
        Assert.Equal(10, b.RxPackets);
        Assert.Equal(0u, b.RxDropped);
    }

    [Fact]
    public void AFullReceiveRing_DropsFrames_UntilTheDriverPollsItEmpty()
    {
        using var rig = new RdmaRig();
        RdmaDev a = rig.A.Dev;
        RdmaDev b = rig.B.Dev;
        a.OpenNetdev(txEntries: 8, rxEntries: 2, bufferBytes: 256);
        b.OpenNetdev(txEntries: 8, rxEntries: 2, bufferBytes: 256);
        byte[] received = new byte[256];

        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(Errno.None, a.StartXmit(Frame(100, i)));
        }

        Assert.Equal(1u, b.RxDropped);
        Assert.True(b.NapiPoll(received, out _));
        Assert.Equal(Frame(100, 0), received[..100]);
        Assert.True(b.NapiPoll(received, out _));
        Assert.Equal(Frame(100, 1), received[..100]);
        Assert.False(b.NapiPoll(received, out _));
        Assert.Equal(Errno.None, a.StartXmit(Frame(100, 3)));
        Assert.True(b.NapiPoll(received, out _));
        Assert.Equal(Frame(100, 3), received[..100]);
    }

    [Fact]
    public void StartXmit_RefusesWhatNoEthernetFrameIs_AndWorksOnlyWhenOpen()
    {
        using var rig = new RdmaRig();
        RdmaDev a = rig.A.Dev;

        Assert.Equal(Errno.ENETDOWN, a.StartXmit(Frame(64, 1)));
        Assert.Equal(Errno.EINVAL, a.OpenNetdev(bufferBytes: 10_000));
        Assert.Equal(Errno.None, a.OpenNetdev(bufferBytes: 1518));
        Assert.Equal(Errno.EBUSY, a.OpenNetdev());
        Assert.Equal(Errno.EINVAL, a.StartXmit(new byte[13]));
        Assert.Equal(Errno.EINVAL, a.StartXmit(new byte[1519]));
        Assert.Equal(0, rig.Machine.NicLinks[0].Link.FramesDelivered);
    }

    [Fact]
    public void RoceTrafficForThePort_NeverReachesTheReceiveRing()
    {
        using var rig = new RdmaRig();
        rig.B.Dev.OpenNetdev();
        RegisteredBuffer local = rig.HostBuffer(rig.A, MiB);
        RegisteredBuffer remote = rig.HostBuffer(rig.B, MiB);

        IbWc wc = Run(rig.A, new IbSendWr { Opcode = IbWrOpcode.RdmaWrite, SgList = [local.Sge(0, 4096)], RemoteAddr = remote.Mr.Iova, Rkey = remote.Mr.Rkey });

        Assert.Equal(IbWcStatus.Success, wc.Status);
        Assert.False(rig.B.Dev.NapiPoll(new byte[4096], out _));
        Assert.Equal(0, rig.B.Dev.RxPackets);
    }
}
