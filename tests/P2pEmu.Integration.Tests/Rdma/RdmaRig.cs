using System;
using System.Globalization;
using System.IO.Hashing;
using P2pEmu.Dma.Mapping;
using P2pEmu.Dma.P2pDma;
using P2pEmu.Drivers.Rdma;
using P2pEmu.Emulator.Execution;
using P2pEmu.Emulator.Host;
using P2pEmu.Emulator.Pci;
using P2pEmu.Emulator.Topology.Json;
using P2pEmu.Machine;
using Xunit;

namespace P2pEmu.Integration.Tests.Rdma;

/// <summary>
/// Two cabled NICs on one machine, with their drivers, a PD, a CQ and a connected RC QP each. Under switch sw0: nic0,
/// nvme0 (64 MiB CMB) and accel0; nic1 under rp1 and nvme1 (64 MiB CMB) under rp2, so nic1 reaches nvme1's CMB only
/// through the host bridge (THRU_HOST_BRIDGE, by IOVA when the IOMMU translates). <see cref="A"/> is nic0's side,
/// <see cref="B"/> nic1's.
/// </summary>
internal sealed class RdmaRig : IDisposable
{
    public const ulong MiB = 1UL << 20;

    public const IbAccessFlags AllAccess = IbAccessFlags.LocalWrite | IbAccessFlags.RemoteWrite | IbAccessFlags.RemoteRead;

    public RdmaRig(string iommu = "off", ExecutionMode mode = ExecutionMode.Deterministic, string kernel = "6.19", int mtu = 4096)
    {
        Machine = P2pEmu.Machine.Machine.Build(TopologyJsonReader.Parse(Json(iommu, kernel)), new MachineOptions { ExecutionMode = mode });
        A = new Side(Machine.RdmaDevices["nic0"]);
        B = new Side(Machine.RdmaDevices["nic1"]);
        Connect(A, B, mtu);
        Connect(B, A, mtu);
    }

    public P2pEmu.Machine.Machine Machine { get; }

    public Side A { get; }

    public Side B { get; }

    public static string Json(string iommu, string kernel = "6.19") => string.Create(CultureInfo.InvariantCulture, $$"""
        {
          "platform": { "kernel": "{{kernel}}", "ram": "512MiB" },
          "hostBridges": [ {
            "name": "hb0", "iommu": "{{iommu}}", "rootComplexP2p": true,
            "devices": [
              { "name": "hostdev", "kind": "host-bridge", "vendorId": "0x8086", "deviceId": "0x2020" },
              { "name": "rp0", "kind": "root-port", "children": [
                { "name": "sw0", "kind": "switch", "upstream": { "name": "sw0.up" }, "ports": [
                  { "name": "sw0.dp0", "children": [ { "name": "nic0", "kind": "nic", "memory": "32MiB", "link": "nic1" } ] },
                  { "name": "sw0.dp1", "children": [ { "name": "nvme0", "kind": "nvme", "cmb": { "size": "64MiB" }, "namespaces": [ { "size": "16MiB" } ] } ] },
                  { "name": "sw0.dp2", "children": [ { "name": "accel0", "kind": "accel", "memory": "64MiB" } ] } ] } ] },
              { "name": "rp1", "kind": "root-port", "children": [ { "name": "nic1", "kind": "nic", "memory": "32MiB" } ] },
              { "name": "rp2", "kind": "root-port", "children": [ { "name": "nvme1", "kind": "nvme", "cmb": { "size": "64MiB" }, "namespaces": [ { "size": "16MiB" } ] } ] }
            ] } ]
        }
        """);

    /// <summary>Moves <paramref name="from"/>'s QP through INIT, RTR and RTS towards <paramref name="to"/>'s.</summary>
    public static void Connect(Side from, Side to, int mtu, int retry = 7, int rnrRetry = 7)
    {
        RdmaDev dev = from.Dev;
        Assert.Equal(Errno.None, dev.ModifyQp(from.Qp, new IbQpAttr { QpState = IbQpState.Reset }));
        Assert.Equal(Errno.None, dev.ModifyQp(from.Qp, new IbQpAttr { QpState = IbQpState.Init, QpAccessFlags = AllAccess }));
        Assert.Equal(Errno.None, dev.ModifyQp(from.Qp, new IbQpAttr
        {
            QpState = IbQpState.Rtr, DestQpNum = to.Qp.QpNum, DestMac = to.Dev.Mac, DestIp = to.Dev.Ipv4, RqPsn = 100, PathMtu = mtu,
        }));
        Assert.Equal(Errno.None, dev.ModifyQp(from.Qp, new IbQpAttr { QpState = IbQpState.Rts, SqPsn = 100, RetryCnt = retry, RnrRetry = rnrRetry }));
    }

    /// <summary>A kernel buffer of physically contiguous host pages, registered on <paramref name="side"/>.</summary>
    public RegisteredBuffer HostBuffer(Side side, ulong bytes, IbAccessFlags access = AllAccess, ulong iova = 0x4000_0000)
    {
        int order = P2pEmu.Emulator.Host.HostPageAllocator.OrderForBytes(bytes);
        ulong phys = Machine.Pages.AllocPages(order).Value;
        var sgt = new SgTable([new Scatterlist(new P2pEmu.Emulator.Addressing.PhysAddress(phys), (uint)bytes)]);
        Assert.Equal(Errno.None, side.Dev.IbDmaMapSgtable(sgt, DmaDirection.Bidirectional));
        IbMr mr = side.Dev.RegMrSg(side.Pd, sgt, iova, access).Value;
        return new RegisteredBuffer(this, phys, bytes, mr, sgt);
    }

    /// <summary>p2pmem from <paramref name="nvme"/>'s CMB, mapped for <paramref name="side"/>'s NIC and registered.</summary>
    public RegisteredBuffer CmbBuffer(Side side, string nvme, ulong bytes, IbAccessFlags access = AllAccess, ulong iova = 0x8000_0000)
    {
        PciFunction provider = Machine.Fabric[nvme];
        P2pMemory memory = Machine.P2pDma.PciAllocP2pmem(provider, bytes) ?? throw new InvalidOperationException($"no p2pmem on {nvme}");
        var sgt = new SgTable([new Scatterlist(new P2pEmu.Emulator.Addressing.PhysAddress(memory.BusAddress), (uint)bytes)]);
        Assert.Equal(Errno.None, side.Dev.IbDmaMapSgtable(sgt, DmaDirection.Bidirectional));
        IbMr mr = side.Dev.RegMrSg(side.Pd, sgt, iova, access).Value;
        return new RegisteredBuffer(this, memory.BusAddress, bytes, mr, sgt);
    }

    public static byte[] Pattern(int bytes, int seed)
    {
        byte[] data = new byte[bytes];
        new Random(seed).NextBytes(data);
        return data;
    }

    public static ulong Hash(ReadOnlySpan<byte> data) => XxHash3.HashToUInt64(data);

    /// <summary>Posts <paramref name="wr"/> on <paramref name="side"/>'s QP and returns its completion.</summary>
    public static IbWc Run(Side side, IbSendWr wr)
    {
        Assert.Equal(Errno.None, side.Dev.PostSend(side.Qp, wr));
        return side.Next();
    }

    public void Dispose() => Machine.Dispose();

    /// <summary>One NIC's driver objects.</summary>
    internal sealed class Side
    {
        public Side(RdmaDev dev)
        {
            Dev = dev;
            Pd = dev.AllocPd().Value;
            Cq = dev.CreateCq(255).Value;
            Qp = dev.CreateQp(Pd, Cq, Cq, 128, 128).Value;
        }

        public RdmaDev Dev { get; }

        public IbPd Pd { get; }

        public IbCq Cq { get; }

        public IbQp Qp { get; }

        /// <summary>The next completion, which must be there (the machine is deterministic: the doorbell did the work).</summary>
        public IbWc Next()
        {
            Span<IbWc> wc = stackalloc IbWc[1];
            Assert.Equal(1, Dev.PollCq(Cq, wc));
            return wc[0];
        }

        /// <summary>Polls everything pending.</summary>
        public IbWc[] Drain()
        {
            IbWc[] wc = new IbWc[64];
            int n = Dev.PollCq(Cq, wc);
            return wc[..n];
        }
    }

    /// <summary>Registered memory: where it is (a CPU/bus address), and its region.</summary>
    internal sealed class RegisteredBuffer
    {
        private readonly RdmaRig _rig;

        public RegisteredBuffer(RdmaRig rig, ulong address, ulong bytes, IbMr mr, SgTable? sgt)
        {
            _rig = rig;
            Address = address;
            Bytes = bytes;
            Mr = mr;
            Sgt = sgt;
        }

        public ulong Address { get; }

        public ulong Bytes { get; }

        public IbMr Mr { get; }

        public SgTable? Sgt { get; }

        public IbSge Sge(ulong offset, uint length) => new(Mr.Iova + offset, length, Mr.Lkey);

        public void Write(ulong offset, ReadOnlySpan<byte> data) => Assert.True(_rig.Machine.Fabric.TryHostWrite(Address + offset, data));

        public byte[] Read(ulong offset, int length)
        {
            byte[] data = new byte[length];
            Assert.True(_rig.Machine.Fabric.TryHostRead(Address + offset, data));
            return data;
        }
    }
}
