using System;
using BenchmarkDotNet.Attributes;
using P2pEmu.Dma.Mapping;
using P2pEmu.Dma.P2pDma;
using P2pEmu.Drivers.Rdma;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Host;
using P2pEmu.Emulator.Memory;
using P2pEmu.Emulator.Topology.Json;

namespace P2pEmu.Benchmarks;

/// <summary>
/// RDMA between two cabled NICs through the RDMA driver, against a memcpy of the same bytes. nic0 (under rp1) writes
/// from a host buffer; nic1 (behind switch sw0 with nvme0) places the data in nvme0's CMB, mapped for nic1 as bus
/// addresses (BUS_ADDR, P2P in the switch). Each operation is one signaled work request: post, the two NICs'
/// packets over the link (segmented at the 4096-byte path MTU, handed over as runs since nobody captures), the
/// responder's DMA into the CMB, the ACK, and the poll of the completion. Target: the 1 MiB WRITE into the peer CMB
/// at ≥ 80% of memcpy, 0 B per operation.
/// </summary>
/// <remarks>Not sealed: BenchmarkDotNet derives from benchmark classes and rejects sealed ones.</remarks>
[MemoryDiagnoser]
public class RdmaBenchmarks
{
    private Machine.Machine _machine = null!;
    private RdmaDev _a = null!;
    private RdmaDev _b = null!;
    private IbQp _qpA = null!;
    private IbQp _qpB = null!;
    private IbCq _cqA = null!;
    private IbCq _cqB = null!;
    private IbSendWr _writeToCmb = null!;
    private IbSendWr _writeToHost = null!;
    private IbSendWr _send = null!;
    private IbRecvWr _recv = null!;
    private readonly IbWc[] _wc = new IbWc[4];
    private BarRegion _ram = null!;
    private BarRegion _cmb = null!;
    private ulong _sourceOffset;
    private ulong _cmbOffset;

    [Params(65536, 1048576)]
    public int Bytes { get; set; }

    /// <summary>The IOMMU mode of the host bridge: off, or translating (the host buffer then goes by 4 KiB IOVA pages).</summary>
    [Params("off", "translate")]
    public string Iommu { get; set; } = "off";

    [GlobalSetup]
    public void Setup()
    {
        _machine = Machine.Machine.Build(TopologyJsonReader.Parse(Topology(Iommu)));
        _a = _machine.RdmaDevices["nic0"];
        _b = _machine.RdmaDevices["nic1"];
        (IbPd pdA, _cqA, _qpA) = Create(_a);
        (IbPd pdB, _cqB, _qpB) = Create(_b);
        Connect(_a, _qpA, _b, _qpB);
        Connect(_b, _qpB, _a, _qpA);

        ulong bytes = (ulong)Bytes;
        ulong source = _machine.Pages.AllocPages(HostPageAllocator.OrderForBytes(bytes)).Value;
        ulong hostTarget = _machine.Pages.AllocPages(HostPageAllocator.OrderForBytes(bytes)).Value;
        P2pMemory cmb = _machine.P2pDma.PciAllocP2pmem(_machine.Fabric["nvme0"], bytes) ?? throw new InvalidOperationException("no p2pmem on nvme0");
        IbMr local = Register(_a, pdA, source, bytes, 0x10_0000_0000, out _);
        IbMr remoteCmb = Register(_b, pdB, cmb.BusAddress, bytes, 0x20_0000_0000, out SgTable cmbTable);
        IbMr remoteHost = Register(_b, pdB, hostTarget, bytes, 0x30_0000_0000, out _);
        if (!cmbTable.Entries[0].IsBusAddress)
        {
            throw new InvalidOperationException("nvme0's CMB is not mapped as a bus address for nic1: the WRITE would not be switch P2P.");
        }

        _writeToCmb = new IbSendWr { Opcode = IbWrOpcode.RdmaWrite, SgList = [new IbSge(local.Iova, (uint)bytes, local.Lkey)], RemoteAddr = remoteCmb.Iova, Rkey = remoteCmb.Rkey };
        _writeToHost = _writeToCmb with { RemoteAddr = remoteHost.Iova, Rkey = remoteHost.Rkey };
        _send = new IbSendWr { Opcode = IbWrOpcode.Send, SgList = [new IbSge(local.Iova, 64, local.Lkey)] };
        _recv = new IbRecvWr { SgList = [new IbSge(remoteHost.Iova, 64, remoteHost.Lkey)] };

        _ram = _machine.Fabric.Ram.Region;
        _machine.Fabric.TryFindRam(source, out _sourceOffset, out _);
        var nvme = (P2pEmu.Emulator.Pci.PciEndpoint)_machine.Fabric["nvme0"];
        _cmb = nvme.GetBar(2)!.Memory!;
        _cmbOffset = cmb.BusAddress - nvme.GetBar(2)!.Address;
        _ram.Prefault(_sourceOffset, bytes);
        _cmb.Prefault(_cmbOffset, bytes);
        new Random(42).NextBytes(_ram.GetSpan(_sourceOffset, Bytes));

        long switchBefore = _machine.Fabric.BytesOnPath(RoutePath.SwitchPeer);
        RdmaWriteIntoPeerCmb();
        if (!_ram.GetSpan(_sourceOffset, Bytes).SequenceEqual(_cmb.GetSpan(_cmbOffset, Bytes)))
        {
            throw new InvalidOperationException("The RDMA WRITE did not land in the CMB.");
        }

        if (_machine.Fabric.BytesOnPath(RoutePath.SwitchPeer) - switchBefore < Bytes)
        {
            throw new InvalidOperationException("The RDMA WRITE into the CMB did not go peer to peer in the switch.");
        }

        Send64Bytes();
    }

    [GlobalCleanup]
    public void Cleanup() => _machine.Dispose();

    /// <summary>memcpy of the same bytes: the host buffer → the CMB's memory.</summary>
    [Benchmark(Baseline = true)]
    public void MemcpyHostToCmb() => _ram.GetSpan(_sourceOffset, Bytes).CopyTo(_cmb.GetSpan(_cmbOffset, Bytes));

    /// <summary>One RDMA WRITE from nic0's host buffer into nvme0's CMB through nic1 (switch P2P on the responder).</summary>
    [Benchmark]
    public IbWcStatus RdmaWriteIntoPeerCmb() => Complete(_a, _qpA, _cqA, _writeToCmb);

    /// <summary>The same WRITE into a host RAM buffer on nic1's side.</summary>
    [Benchmark]
    public IbWcStatus RdmaWriteIntoHostRam() => Complete(_a, _qpA, _cqA, _writeToHost);

    /// <summary>
    /// A 64-byte SEND into a posted receive: post the receive, post the send, poll both completions (the message
    /// rate is 1 / Mean).
    /// </summary>
    [Benchmark]
    public IbWcStatus Send64Bytes()
    {
        Expect(_b.PostRecv(_qpB, _recv));
        IbWcStatus sent = Complete(_a, _qpA, _cqA, _send);
        if (_b.PollCq(_cqB, _wc) != 1 || _wc[0].Status != IbWcStatus.Success)
        {
            throw new InvalidOperationException("The receive did not complete.");
        }

        return sent;
    }

    private IbWcStatus Complete(RdmaDev dev, IbQp qp, IbCq cq, IbSendWr wr)
    {
        Expect(dev.PostSend(qp, wr));
        if (dev.PollCq(cq, _wc) != 1 || _wc[0].Status != IbWcStatus.Success)
        {
            throw new InvalidOperationException($"The work request did not complete: {_wc[0].Status}.");
        }

        return _wc[0].Status;
    }

    private static void Expect(Errno error)
    {
        if (error != Errno.None)
        {
            throw new InvalidOperationException($"The post failed: {error}.");
        }
    }

    private static (IbPd, IbCq, IbQp) Create(RdmaDev dev)
    {
        IbPd pd = dev.AllocPd().Value;
        IbCq cq = dev.CreateCq(1023).Value;
        return (pd, cq, dev.CreateQp(pd, cq, cq, 256, 256).Value);
    }

    private static void Connect(RdmaDev dev, IbQp qp, RdmaDev peer, IbQp peerQp)
    {
        const IbAccessFlags All = IbAccessFlags.LocalWrite | IbAccessFlags.RemoteWrite | IbAccessFlags.RemoteRead;
        Expect(dev.ModifyQp(qp, new IbQpAttr { QpState = IbQpState.Init, QpAccessFlags = All }));
        Expect(dev.ModifyQp(qp, new IbQpAttr { QpState = IbQpState.Rtr, DestQpNum = peerQp.QpNum, DestMac = peer.Mac, DestIp = peer.Ipv4, PathMtu = 4096 }));
        Expect(dev.ModifyQp(qp, new IbQpAttr { QpState = IbQpState.Rts }));
    }

    private static IbMr Register(RdmaDev dev, IbPd pd, ulong address, ulong bytes, ulong iova, out SgTable sgt)
    {
        sgt = new SgTable([new Scatterlist(new PhysAddress(address), (uint)bytes)]);
        Expect(dev.IbDmaMapSgtable(sgt, DmaDirection.Bidirectional));
        return dev.RegMrSg(pd, sgt, iova, IbAccessFlags.LocalWrite | IbAccessFlags.RemoteWrite | IbAccessFlags.RemoteRead).Value;
    }

    private static string Topology(string iommu) => $$"""
        {
          "platform": { "ram": "256MiB" },
          "hostBridges": [ {
            "name": "hb0", "iommu": "{{iommu}}", "rootComplexP2p": true,
            "devices": [
              { "name": "hostdev", "kind": "host-bridge", "vendorId": "0x8086", "deviceId": "0x2020" },
              { "name": "rp0", "kind": "root-port", "children": [
                { "name": "sw0", "kind": "switch", "upstream": { "name": "sw0.up" }, "ports": [
                  { "name": "sw0.dp0", "children": [ { "name": "nic1", "kind": "nic" } ] },
                  { "name": "sw0.dp1", "children": [ { "name": "nvme0", "kind": "nvme", "cmb": { "size": "64MiB" }, "namespaces": [ { "size": "16MiB" } ] } ] } ] } ] },
              { "name": "rp1", "kind": "root-port", "children": [ { "name": "nic0", "kind": "nic", "link": "nic1" } ] }
            ] } ]
        }
        """;
}
