using System;
using System.Collections.Generic;
using P2pEmu.Dma.Mapping;
using P2pEmu.Dma.P2pDma;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Host;
using P2pEmu.Emulator.Memory;
using P2pEmu.Emulator.Pci;
using P2pEmu.Machine.Reports;

namespace P2pEmu.Machine.Scenarios;

/// <summary>
/// The default scenario: every endpoint function writes seeded random data to host RAM and to every other
/// function's memory BAR, with the DMA address the kernel would give it: a BUS_ADDR peer's bus address, or
/// for host RAM and THRU_HOST_BRIDGE peers a <c>dma_map_phys</c> mapping (an IOVA when the IOMMU translates);
/// the kernel refuses NOT_SUPPORTED pairs. Each transfer is routed by the fabric and checked end to end with
/// XxHash3: delivered bytes must equal what was sent (else the first bad offset is reported), and a refused
/// transfer must leave its target untouched. A requester's mappings live until its last transfer is done, so every
/// address in the report is the one the device was really given, distinct among the requester's transfers.
/// </summary>
public static class TransferScenario
{
    public const int DefaultBytesPerTransfer = 64 * 1024;

    public static TransferReport Run(Machine machine, string topologyName, int bytesPerTransfer = DefaultBytesPerTransfer, int seed = 1)
    {
        ArgumentNullException.ThrowIfNull(machine);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bytesPerTransfer);
        PcieFabric fabric = machine.Fabric;
        var random = new Random(seed);
        var requesters = new List<PciEndpoint>();
        var targets = new List<PciBar>();
        foreach (PciFunction function in P2pMatrix.EndpointFunctions(machine))
        {
            var endpoint = (PciEndpoint)function;
            requesters.Add(endpoint);
            targets.AddRange(FindMemoryBars(endpoint));
        }

        var checks = new List<TransferCheck>();
        byte[] data = new byte[bytesPerTransfer];
        for (int r = 0; r < requesters.Count; r++)
        {
            PciEndpoint requester = requesters[r];
            var port = new DmaPort(fabric, requester);
            var release = new List<Action>();
            // A host buffer from the kernel's page allocator, as a driver would get one.
            int order = HostPageAllocator.OrderForBytes((ulong)bytesPerTransfer);
            Result<ulong> buffer = machine.Pages.AllocPages(order);
            if (buffer.IsSuccess && fabric.TryFindRam(buffer.Value, out ulong ramOffset, out _))
            {
                random.NextBytes(data);
                checks.Add(Transfer(machine, port, "host RAM", null, fabric.Ram.Region, ramOffset, buffer.Value, data, release));
                release.Add(() => machine.Pages.FreePages(buffer.Value, order));
            }

            foreach (PciBar bar in targets)
            {
                if (ReferenceEquals(bar.Owner, requester))
                {
                    continue;
                }

                int length = (int)Math.Min((ulong)bytesPerTransfer, bar.SizeBytes);
                random.NextBytes(data);
                checks.Add(Transfer(machine, port, $"{bar.Owner.Name} BAR{bar.Index}", bar, bar.Memory!, 0, bar.Address, data.AsSpan(0, length), release));
            }

            release.ForEach(action => action());
        }

        return new TransferReport(topologyName, bytesPerTransfer, fabric.BytesCopied, checks);
    }

    private static IEnumerable<PciBar> FindMemoryBars(PciEndpoint endpoint)
    {
        foreach (PciBar bar in endpoint.Bars)
        {
            if (bar.Memory is not null && bar.Decoding)
            {
                yield return bar;
            }
        }
    }

    private static TransferCheck Transfer(Machine machine, DmaPort port, string targetName, PciBar? bar, BarRegion memory, ulong offset, ulong busAddress, ReadOnlySpan<byte> data, List<Action> release)
    {
        PcieFabric fabric = machine.Fabric;
        DmaDevice dev = machine.Dma.GetDevice(port.Owner);
        PciP2pdmaMapType mapType = bar is null ? PciP2pdmaMapType.None : machine.P2pDma.Explain(bar.Owner, port.Owner).MapType;
        string mapName = P2pMatrix.MapTypeName(mapType);
        if (mapType == PciP2pdmaMapType.NotSupported)
        {
            return new TransferCheck(port.Owner.Name, targetName, mapName, 0, "KernelRefused", "None", "NotSupported", null, null, 0, true, null);
        }

        DmaAddress address = new(busAddress);
        bool mapped = mapType != PciP2pdmaMapType.BusAddr;
        if (mapped)
        {
            DmaAttrs attrs = bar is null ? DmaAttrs.None : DmaAttrs.Mmio;
            address = machine.Dma.DmaMapPhys(dev, new PhysAddress(busAddress), (ulong)data.Length, DmaDirection.FromDevice, attrs);
            if (DmaApi.IsMappingError(address))
            {
                return new TransferCheck(port.Owner.Name, targetName, mapName, 0, "MappingFailed", "None", "None", null, null, 0, true, null);
            }
        }

        byte[] expected = memory.GetSpan(offset, data.Length).ToArray();
        DmaResult result = port.Write(address, data);
        RouteResult route = result.IsSuccess ? fabric.Route(port.Owner, address, AccessKind.Write) : result.Failure;
        if (mapped)
        {
            ulong length = (ulong)data.Length;
            release.Add(() => machine.Dma.DmaUnmapPhys(dev, address, length, DmaDirection.FromDevice));
        }

        // What must be there now: the bytes sent up to where the transfer stopped, the old bytes after it.
        data[..(int)result.BytesTransferred].CopyTo(expected);
        ReadOnlySpan<byte> landed = memory.GetSpan(offset, data.Length);
        string? mismatch = Integrity.FirstMismatch(landed, expected);
        if (mismatch is not null)
        {
            string how = result.IsSuccess ? $"path {route.Path}" : $"{route.Status} ({route.Reason}) after {result.BytesTransferred} bytes";
            mismatch = $"{mismatch} ({how})";
        }

        return new TransferCheck(
            port.Owner.Name,
            targetName,
            mapName,
            address.Value,
            route.Status.ToString(),
            route.Path.ToString(),
            route.Reason.ToString(),
            route.DecidedAt?.Name,
            route.RedirectedAt?.Name,
            result.BytesTransferred,
            mismatch is null,
            mismatch);
    }
}
