using System;
using System.Collections.Generic;
using System.Linq;
using P2pEmu.Dma.Mapping;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Pci;
using P2pEmu.Emulator.Topology;
using P2pEmu.Iommu.Hardware;
using P2pEmu.Testing;
using Xunit;

namespace P2pEmu.Integration.Tests.Integrity;

/// <summary>
/// With the IOMMU translating, random DMA from every device to random addresses (random IOVAs and the other
/// devices' BAR addresses) changes only the bytes that device was granted by dma_map_phys, and every refused
/// transaction is one fault record with the address the device put on the wire.
/// </summary>
public sealed class IsolationFaultLogTests
{
    private const int DeviceCount = 3;
    private const int TransactionsPerDevice = 60;

    public static IEnumerable<object[]> Seeds() => new[] { 1, 7, 31337 }.Select(s => new object[] { s });

    [Theory]
    [MemberData(nameof(Seeds))]
    public void RandomDma_FromEveryDevice_ChangesOnlyGrantedBytes_AndEveryRefusalIsAFault(int seed)
    {
        string[] names = Enumerable.Range(0, DeviceCount).Select(i => $"dev{i}").ToArray();
        HostBridgeDescription hb = Topo.HostBridge("hb0", names.Select(n => Topo.RootPort("rp" + n, Topo.Endpoint(n))).Prepend(Topo.HostDevice()).ToArray())
            with { Iommu = IommuMode.Translate };
        using var machine = P2pEmu.Machine.Machine.Build(Topo.Machine(hb));
        var random = new Random(seed);
        var devices = names.Select(n => new Grantee(machine, (PciEndpoint)machine.Fabric[n], random)).ToArray();
        PciBar[] bars = devices.Select(d => d.Device.GetBar(0)!).ToArray();
        foreach (PciBar bar in bars)
        {
            random.NextBytes(bar.Memory!.GetSpan(0, (int)bar.SizeBytes));
        }

        byte[] expectedRam = machine.Fabric.Ram.Region.GetSpan(0, (int)machine.Fabric.Ram.Region.SizeBytes).ToArray();
        byte[][] expectedBars = bars.Select(b => b.Memory!.GetSpan(0, (int)b.SizeBytes).ToArray()).ToArray();
        IommuFaultLog faults = machine.Iommus[0].Faults;
        faults.Clear();
        var refused = new List<(Bdf Requester, ulong Address, AccessKind Access)>();

        for (int round = 0; round < TransactionsPerDevice; round++)
        {
            foreach (Grantee d in devices)
            {
                int length = random.Next(1, 300);
                bool write = random.Next(2) == 0;
                switch (random.Next(3))
                {
                    case 0:
                        ulong at = d.GrantedIova + (ulong)random.Next(0, d.GrantedBytes - length + 1);
                        DmaResult allowed = d.Access(at, length, write, random, out byte[] data);
                        Assert.True(allowed.IsSuccess, $"{d.Device.Name} inside its grant at 0x{at:x}: {allowed}");
                        if (write)
                        {
                            data.CopyTo(expectedRam.AsSpan((int)(d.GrantedRamOffset + (at - d.GrantedIova))));
                        }

                        break;
                    default:
                        ulong wild = random.Next(2) == 0
                            ? (ulong)random.NextInt64(0, 1L << 39)
                            : bars[random.Next(bars.Length)].Address + (ulong)random.Next(0, 4096);
                        if (wild + (ulong)length > d.GrantedIova && wild < d.GrantedIova + (ulong)d.GrantedBytes)
                        {
                            continue;
                        }

                        DmaResult denied = d.Access(wild, length, write, random, out _);
                        Assert.Equal(RouteStatus.IommuFault, denied.Status);
                        Assert.Equal(0UL, denied.BytesTransferred);
                        refused.Add((d.Device.Bdf, wild, write ? AccessKind.Write : AccessKind.Read));
                        break;
                }
            }
        }

        IntegrityAssert.Equal($"host RAM after random DMA (seed {seed})", expectedRam, machine.Fabric.Ram.Region.GetSpan(0, expectedRam.Length));
        for (int i = 0; i < bars.Length; i++)
        {
            IntegrityAssert.Equal($"{bars[i]} after random DMA (seed {seed})", expectedBars[i], bars[i].Memory!.GetSpan(0, expectedBars[i].Length));
        }

        Assert.Equal(refused.Count, faults.TotalCount);
        Assert.Equal(refused, faults.Snapshot().Select(f => (f.Requester, f.Address.Value, f.Access)).ToList());
    }

    /// <summary>A device with one granted host RAM window, mapped bidirectionally by the DMA API at an odd offset.</summary>
    private sealed class Grantee
    {
        private readonly DmaPort _port;

        public Grantee(P2pEmu.Machine.Machine machine, PciEndpoint device, Random random)
        {
            Device = device;
            _port = new DmaPort(machine.Fabric, device);
            ulong phys = machine.Pages.AllocPages(2).Value + (ulong)random.Next(0, 4096);
            GrantedBytes = random.Next(4097, 12345);
            DmaAddress dma = machine.Dma.DmaMapPhys(machine.Dma.GetDevice(device), new PhysAddress(phys), (ulong)GrantedBytes, DmaDirection.Bidirectional);
            Assert.False(DmaApi.IsMappingError(dma));
            GrantedIova = dma.Value;
            Assert.True(machine.Fabric.TryFindRam(phys, out ulong offset, out _));
            GrantedRamOffset = offset;
        }

        public PciEndpoint Device { get; }

        public ulong GrantedIova { get; }

        public int GrantedBytes { get; }

        public ulong GrantedRamOffset { get; }

        public DmaResult Access(ulong address, int length, bool write, Random random, out byte[] data)
        {
            data = new byte[length];
            if (write)
            {
                random.NextBytes(data);
                return _port.Write(new DmaAddress(address), data);
            }

            return _port.Read(new DmaAddress(address), data);
        }
    }
}
