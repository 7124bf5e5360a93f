using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO.Hashing;
using System.Linq;
using System.Runtime.InteropServices;
using P2pEmu.Dma.Mapping;
using P2pEmu.Dma.P2pDma;
using P2pEmu.Dma.Userspace;
using P2pEmu.Drivers.Rdma;
using P2pEmu.Drivers.Vfio;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Devices.Net;
using P2pEmu.Emulator.Devices.Nic;
using P2pEmu.Emulator.Host;
using P2pEmu.Emulator.Pci;
using P2pEmu.Machine.Reports;

namespace P2pEmu.Machine.Scenarios;

/// <summary>
/// RDMA between every cabled NIC pair, through the RDMA driver: RDMA WRITE, READ and SEND between host buffers; an
/// RDMA WRITE into p2pmem of every published provider (a CMB), mapped for the responder NIC by its map type (refused
/// with EREMOTEIO when NOT_SUPPORTED, and then its memory must be untouched); and, for every accelerator bound to
/// vfio-pci, an RDMA WRITE into its memory through a dma-buf region, then the exporter's revoke and a WRITE that must
/// fail with <c>IB_WC_REM_ACCESS_ERR</c> and leave the memory as it was. Every landing is checked with XxHash3.
/// </summary>
public static class RdmaScenario
{
    public const int DefaultBytesPerTransfer = 1 << 20;

    private const int Mtu = 4096;
    private const ulong HostIova = 0x10_0000_0000;
    private const ulong P2pIova = 0x20_0000_0000;
    private const ulong DmabufIova = 0x30_0000_0000;

    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Runs the scenario on every link of <paramref name="machine"/>; with <paramref name="pcapPath"/>, every frame on
    /// the links goes to that capture file (classic pcap, Ethernet), which tshark reads as RoCEv2.
    /// </summary>
    public static IReadOnlyList<RdmaCheck> Run(Machine machine, string? pcapPath = null, int bytesPerTransfer = DefaultBytesPerTransfer, int seed = 4)
    {
        using PcapWriter? capture = pcapPath is null ? null : PcapWriter.Create(pcapPath);
        return Run(machine, capture, bytesPerTransfer, seed);
    }

    /// <summary>Runs the scenario, capturing each link to <paramref name="capture"/> if given.</summary>
    public static IReadOnlyList<RdmaCheck> Run(Machine machine, PcapWriter? capture, int bytesPerTransfer = DefaultBytesPerTransfer, int seed = 4)
    {
        ArgumentNullException.ThrowIfNull(machine);
        ArgumentOutOfRangeException.ThrowIfLessThan(bytesPerTransfer, 4096);
        var checks = new List<RdmaCheck>();
        var random = new Random(seed);
        IReadOnlyDictionary<string, RdmaDev> devices = machine.RdmaDevices;
        foreach (NicLinkInfo link in machine.NicLinks)
        {
            if (!devices.TryGetValue(link.A, out RdmaDev? a) || !devices.TryGetValue(link.B, out RdmaDev? b))
            {
                continue;
            }

            string name = $"{link.A} -> {link.B}";
            link.Link.Capture = capture;
            try
            {
                Result<RdmaPair> pair = RdmaPair.Connect(a, b, Mtu);
                if (!pair.IsSuccess)
                {
                    checks.Add(new RdmaCheck(name, "connect", "-", "-", $"-{pair.Error}", 0, false, false, "could not create and connect the QPs"));
                    continue;
                }

                using RdmaPair connected = pair.Value;
                var run = new LinkRun(machine, name, connected, (ulong)bytesPerTransfer, random, checks);
                run.HostTransfers();
                run.IntoP2pmem();
                run.IntoAcceleratorDmabufs();
            }
            finally
            {
                link.Link.Capture = null;
            }
        }

        return checks;
    }

    /// <summary>The operations over one link.</summary>
    private sealed class LinkRun
    {
        private readonly Machine _machine;
        private readonly string _link;
        private readonly RdmaPair _pair;
        private readonly ulong _bytes;
        private readonly Random _random;
        private readonly List<RdmaCheck> _checks;

        public LinkRun(Machine machine, string link, RdmaPair pair, ulong bytes, Random random, List<RdmaCheck> checks)
        {
            _machine = machine;
            _link = link;
            _pair = pair;
            _bytes = bytes;
            _random = random;
            _checks = checks;
        }

        private RdmaPair.RdmaEnd A => _pair.Requester;

        private RdmaPair.RdmaEnd B => _pair.Responder;

        public void HostTransfers()
        {
            using HostBuffer? source = HostBuffer.Allocate(_machine, _bytes);
            using HostBuffer? target = HostBuffer.Allocate(_machine, _bytes);
            if (source is null || target is null)
            {
                _checks.Add(new RdmaCheck(_link, "setup", "host RAM", "-", "-ENOMEM", 0, false, false, "no host pages for the buffers"));
                return;
            }

            IbMr? local = Register(A, source, HostIova, "host RAM");
            IbMr? remote = Register(B, target, HostIova, "host RAM");
            try
            {
                if (local is not null && remote is not null)
                {
                    RunHostTransfers(source, target, local, remote);
                }
            }
            finally
            {
                A.Deregister(local);
                B.Deregister(remote);
            }
        }

        private void RunHostTransfers(HostBuffer source, HostBuffer target, IbMr local, IbMr remote)
        {
            byte[] data = Pattern((int)_bytes);
            data.CopyTo(source.Writable);
            IbWc? wc = A.Run(Write(local, remote.Iova, remote.Rkey, (uint)_bytes), s_timeout, out Errno posted);
            Report("RDMA WRITE", "host RAM", "-", wc, posted, data, target.Writable);

            int readBytes = (int)(_bytes / 4);
            byte[] readData = Pattern(readBytes);
            readData.CopyTo(target.Writable);
            wc = A.Run(new IbSendWr { Opcode = IbWrOpcode.RdmaRead, SgList = [new IbSge(local.Iova, (uint)readBytes, local.Lkey)], RemoteAddr = remote.Iova, Rkey = remote.Rkey }, s_timeout, out posted);
            Report("RDMA READ", "host RAM", "-", wc, posted, readData, source.Writable[..readBytes]);

            int sendBytes = 64 << 10;
            byte[] message = Pattern(sendBytes);
            message.CopyTo(source.Writable);
            Errno recv = B.Dev.PostRecv(B.Qp, new IbRecvWr { WrId = 1, SgList = [new IbSge(remote.Iova, (uint)sendBytes, remote.Lkey)] });
            wc = A.Run(new IbSendWr { Opcode = IbWrOpcode.SendWithImm, ImmData = 0x2A, SgList = [new IbSge(local.Iova, (uint)sendBytes, local.Lkey)] }, s_timeout, out posted);
            IbWc? received = recv == Errno.None ? B.Wait(s_timeout) : null;
            bool receivedOk = received is { Status: IbWcStatus.Success, Opcode: IbWcOpcode.Recv, WithImm: true, ImmData: 0x2A } && received.Value.ByteLen == (uint)sendBytes;
            Report("SEND+RECV", "host RAM", "-", receivedOk ? wc : received ?? wc, posted, message, target.Writable[..sendBytes]);
        }

        public void IntoP2pmem()
        {
            foreach (PciFunction provider in _machine.Fabric.Functions.Where(_machine.P2pDma.PciHasP2pmem))
            {
                P2pMemory? memory = _machine.P2pDma.PciAllocP2pmem(provider, _bytes);
                if (memory is null)
                {
                    continue;
                }

                string what = $"p2pmem of {provider.Name}";
                string mapType = P2pMatrix.MapTypeName(_machine.P2pDma.PciP2pdmaMapTypeOf(memory.Provider, B.Dev.DmaDev.Device));
                try
                {
                    byte[] before = CpuRead(memory.BusAddress, (int)_bytes);
                    var sgt = new SgTable([new Scatterlist(new PhysAddress(memory.BusAddress), (uint)_bytes)]);
                    Errno mapped = B.Dev.IbDmaMapSgtable(sgt, DmaDirection.Bidirectional);
                    if (mapped != Errno.None)
                    {
                        byte[] after = CpuRead(memory.BusAddress, (int)_bytes);
                        bool untouched = Hash(before) == Hash(after);
                        _checks.Add(new RdmaCheck(_link, "map", what, mapType, $"-{mapped}", 0, untouched, mapped == Errno.EREMOTEIO && mapType == "NOT_SUPPORTED", untouched ? null : "a refused mapping changed the memory"));
                        continue;
                    }

                    Result<IbMr> remote = B.Dev.RegMrSg(B.Pd, sgt, P2pIova, RdmaPair.AllAccess);
                    if (remote.IsSuccess)
                    {
                        B.Adopt(remote.Value, sgt);
                    }
                    else
                    {
                        B.Dev.IbDmaUnmapSgtable(sgt, DmaDirection.Bidirectional);
                    }

                    using HostBuffer? source = HostBuffer.Allocate(_machine, _bytes);
                    IbMr? local = source is null ? null : Register(A, source, HostIova + (4 * _bytes), "host RAM");
                    try
                    {
                        if (source is null || local is null || !remote.IsSuccess)
                        {
                            _checks.Add(new RdmaCheck(_link, "register", what, mapType, $"-{remote.Error}", 0, false, false, "could not register the buffers"));
                            continue;
                        }

                        byte[] data = Pattern((int)_bytes);
                        data.CopyTo(source.Writable);
                        IbWc? wc = A.Run(Write(local, remote.Value.Iova, remote.Value.Rkey, (uint)_bytes), s_timeout, out Errno posted);
                        Report("RDMA WRITE", what, mapType, wc, posted, data, CpuRead(memory.BusAddress, (int)_bytes));
                    }
                    finally
                    {
                        A.Deregister(local);
                        B.Deregister(remote.IsSuccess ? remote.Value : null);
                    }
                }
                finally
                {
                    _machine.P2pDma.PciFreeP2pmem(provider, memory);
                }
            }
        }

        public void IntoAcceleratorDmabufs()
        {
            foreach (VfioPciCoreDevice vdev in _machine.Vfio.Devices)
            {
                if (!_machine.Accelerators.ContainsKey(vdev.Pdev.Name) || vdev.Pdev.GetBar(1) is not PciBar bar1 || bar1.SizeBytes < _bytes)
                {
                    continue;
                }

                string what = $"{vdev.Pdev.Name} memory (vfio dma-buf)";
                var user = new Process("rdma-dmabuf");
                Result<int> deviceFd = vdev.Open(user);
                if (!deviceFd.IsSuccess)
                {
                    continue;
                }

                Result<int> fd = vdev.IoctlDeviceFeature(user, deviceFd.Value, DmaBufFeature(region: 1, _bytes));
                Result<IbMr> remote = fd.IsSuccess ? B.Dev.RegUserMrDmabuf(B.Pd, 0, _bytes, DmabufIova, user, fd.Value, RdmaPair.AllAccess) : fd.Error;
                using HostBuffer? source = HostBuffer.Allocate(_machine, _bytes);
                IbMr? local = source is null ? null : Register(A, source, HostIova + (8 * _bytes), "host RAM");
                if (remote.IsSuccess)
                {
                    B.Adopt(remote.Value);
                }

                if (!remote.IsSuccess || source is null || local is null)
                {
                    _checks.Add(new RdmaCheck(_link, "register", what, "-", $"-{remote.Error}", 0, false, false, "could not import the dma-buf"));
                    A.Deregister(local);
                    B.Deregister(remote.IsSuccess ? remote.Value : null);
                    user.Exit();
                    continue;
                }

                string mapType = remote.Value.UmemDmabuf!.DmaSegments.Count > 0 ? MapTypeOf(vdev.Pdev) : "-";
                byte[] data = Pattern((int)_bytes);
                data.CopyTo(source.Writable);
                IbWc? wc = A.Run(Write(local, remote.Value.Iova, remote.Value.Rkey, (uint)_bytes), s_timeout, out Errno posted);
                Report("RDMA WRITE", what, mapType, wc, posted, data, CpuRead(bar1.Address, (int)_bytes));

                // The exporter revokes (the device file closes): the next WRITE must fail and write nothing. With the
                // device closed its memory decoding is off, so the check looks at the memory itself, not a CPU read.
                user.Close(deviceFd.Value);
                byte[] before = bar1.Memory!.GetSpan(0, (int)_bytes).ToArray();
                Pattern((int)_bytes).CopyTo(source.Writable);
                wc = A.Run(Write(local, remote.Value.Iova, remote.Value.Rkey, (uint)_bytes), s_timeout, out posted);
                byte[] after = bar1.Memory.GetSpan(0, (int)_bytes).ToArray();
                bool untouched = Hash(before) == Hash(after);
                bool refused = wc is { Status: IbWcStatus.RemAccessErr };
                _checks.Add(new RdmaCheck(_link, "RDMA WRITE after revoke", what, mapType, IbWcText.Of(wc, posted), 0, untouched, refused,
                    untouched ? (refused ? null : "the WRITE after the revoke did not fail with IB_WC_REM_ACCESS_ERR") : "bytes reached revoked memory"));
                A.Deregister(local);
                B.Deregister(remote.Value);
                user.Exit();
                Reconnect();
            }
        }

        private string MapTypeOf(PciEndpoint exporter)
        {
            P2pProvider? provider = _machine.P2pDma.PcimP2pdmaProvider(exporter, 1);
            return provider is null ? "-" : P2pMatrix.MapTypeName(_machine.P2pDma.PciP2pdmaMapTypeOf(provider, B.Dev.DmaDev.Device));
        }

        /// <summary>An error completion left both QPs in Error: bring them back through RESET for the next link user.</summary>
        private void Reconnect()
        {
            foreach ((RdmaPair.RdmaEnd end, RdmaPair.RdmaEnd peer) in new[] { (A, B), (B, A) })
            {
                end.Dev.ModifyQp(end.Qp, new IbQpAttr { QpState = IbQpState.Reset });
                end.ConnectTo(peer, Mtu);
            }
        }

        private IbMr? Register(RdmaPair.RdmaEnd end, HostBuffer buffer, ulong iova, string what)
        {
            Result<IbMr> mr = end.RegisterContiguous(buffer.Address, buffer.Length, iova);
            if (!mr.IsSuccess)
            {
                _checks.Add(new RdmaCheck(_link, "register", what, "-", $"-{mr.Error}", 0, false, false, $"{end.Dev.Name}: could not register {what}"));
                return null;
            }

            return mr.Value;
        }

        private static IbSendWr Write(IbMr local, ulong remote, uint rkey, uint length) =>
            new() { Opcode = IbWrOpcode.RdmaWrite, SgList = [new IbSge(local.Iova, length, local.Lkey)], RemoteAddr = remote, Rkey = rkey };

        private void Report(string operation, string memory, string mapType, IbWc? wc, Errno posted, ReadOnlySpan<byte> expected, ReadOnlySpan<byte> actual)
        {
            bool success = wc is { Status: IbWcStatus.Success };
            string? mismatch = success ? Integrity.FirstMismatch(actual, expected) : null;
            _checks.Add(new RdmaCheck(_link, operation, memory, mapType, IbWcText.Of(wc, posted), success ? expected.Length : 0, mismatch is null && success, success, mismatch));
        }

        private byte[] CpuRead(ulong address, int length)
        {
            byte[] bytes = new byte[length];
            _machine.Fabric.TryHostRead(address, bytes);
            return bytes;
        }

        private byte[] Pattern(int length)
        {
            byte[] data = new byte[length];
            _random.NextBytes(data);
            return data;
        }

        private static ulong Hash(ReadOnlySpan<byte> data) => XxHash3.HashToUInt64(data);
    }

    /// <summary>The user memory of <c>VFIO_DEVICE_FEATURE_DMA_BUF</c> exporting [0, length) of one region.</summary>
    internal static byte[] DmaBufFeature(uint region, ulong length)
    {
        int header = Marshal.SizeOf<VfioDeviceFeature>();
        int request = Marshal.SizeOf<VfioDeviceFeatureDmaBuf>();
        byte[] memory = new byte[header + request + Marshal.SizeOf<VfioRegionDmaRange>()];
        var feature = new VfioDeviceFeature { Argsz = (uint)memory.Length, Flags = VfioUapi.DeviceFeatureGet | VfioUapi.DeviceFeatureDmaBuf };
        var dmabuf = new VfioDeviceFeatureDmaBuf { RegionIndex = region, OpenFlags = Process.OCloexec, NrRanges = 1 };
        var range = new VfioRegionDmaRange { Offset = 0, Length = length };
        MemoryMarshal.Write(memory, in feature);
        MemoryMarshal.Write(memory.AsSpan(header), in dmabuf);
        MemoryMarshal.Write(memory.AsSpan(header + request), in range);
        return memory;
    }

    /// <summary>How a check reads in the text report.</summary>
    internal static string Verdict(RdmaCheck check) =>
        !check.IntegrityOk ? "INTEGRITY FAILURE: " + check.Mismatch : check.Expected ? "ok" : "UNEXPECTED: " + (check.Mismatch ?? check.Status);

    internal static string Format(RdmaCheck c) => string.Create(CultureInfo.InvariantCulture,
        $"  {c.Link,-14} {c.Operation,-24} {c.Memory,-32} {c.MapType,-16} {c.Status,-20} {c.Bytes,8} B  {Verdict(c)}");
}
