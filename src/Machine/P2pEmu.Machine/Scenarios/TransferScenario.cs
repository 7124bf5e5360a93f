using System;
using System.Collections.Generic;
using System.IO.Hashing;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Memory;
using P2pEmu.Emulator.Pci;
using P2pEmu.Emulator.Topology;

namespace P2pEmu.Machine.Scenarios;

/// <summary>
/// The default scenario: every endpoint function writes seeded random data to host RAM and to every other
/// function's memory BAR, by bus address, as a device would. Each transfer is routed by the fabric and
/// checked end to end with XxHash3: delivered bytes must equal what was sent (else the first bad offset
/// is reported), and a refused transaction must leave its target untouched.
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
        foreach (PciFunction function in fabric.Functions)
        {
            if (function is PciEndpoint endpoint && endpoint.Kind != DeviceKind.HostBridge)
            {
                requesters.Add(endpoint);
                targets.AddRange(FindMemoryBars(endpoint));
            }
        }

        var checks = new List<TransferCheck>();
        byte[] data = new byte[bytesPerTransfer];
        for (int r = 0; r < requesters.Count; r++)
        {
            PciEndpoint requester = requesters[r];
            var port = new DmaPort(fabric, requester);
            ulong ramOffset = (ulong)r * (ulong)bytesPerTransfer;
            if (ramOffset + (ulong)bytesPerTransfer <= fabric.Ram.SizeBytes)
            {
                random.NextBytes(data);
                checks.Add(Transfer(fabric, port, "host RAM", fabric.Ram.Region, ramOffset, fabric.RamBusAddress(ramOffset), data));
            }

            foreach (PciBar bar in targets)
            {
                if (ReferenceEquals(bar.Owner, requester))
                {
                    continue;
                }

                int length = (int)Math.Min((ulong)bytesPerTransfer, bar.SizeBytes);
                random.NextBytes(data);
                checks.Add(Transfer(fabric, port, $"{bar.Owner.Name} BAR{bar.Index}", bar.Memory!, 0, bar.Address, data.AsSpan(0, length)));
            }
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

    private static TransferCheck Transfer(PcieFabric fabric, DmaPort port, string targetName, BarRegion memory, ulong offset, ulong address, ReadOnlySpan<byte> data)
    {
        ulong before = XxHash3.HashToUInt64(memory.GetSpan(offset, data.Length));
        DmaResult result = port.Write(new DmaAddress(address), data);
        RouteResult route = result.IsSuccess ? fabric.Route(port.Owner, new DmaAddress(address), AccessKind.Write) : result.Failure;
        ReadOnlySpan<byte> landed = memory.GetSpan(offset, data.Length);
        string? mismatch = null;
        if (result.IsSuccess && XxHash3.HashToUInt64(landed) != XxHash3.HashToUInt64(data))
        {
            int bad = landed.CommonPrefixLength(data);
            mismatch = $"first bad byte at offset {bad}: expected 0x{data[bad]:x2}, found 0x{landed[bad]:x2} (path {route.Path})";
        }
        else if (!result.IsSuccess && result.BytesTransferred == 0 && XxHash3.HashToUInt64(landed) != before)
        {
            mismatch = $"the transaction was refused ({route.Status}, {route.Reason}) but the target changed";
        }

        return new TransferCheck(
            port.Owner.Name,
            targetName,
            address,
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
