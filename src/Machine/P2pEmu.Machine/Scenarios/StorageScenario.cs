using System;
using System.Collections.Generic;
using System.Linq;
using P2pEmu.Dma.Block;
using P2pEmu.Dma.P2pDma;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Host;
using P2pEmu.Emulator.Pci;
using P2pEmu.Machine.Reports;

namespace P2pEmu.Machine.Scenarios;

/// <summary>
/// Storage through the NVMe driver: on every disk, an O_DIRECT write of seeded random data from host pages, a read
/// back into other host pages, and a read into p2pmem of every published provider (a peer's CMB, the controller's
/// own), as a P2P user of the block layer would do it. Reads are checked with XxHash3 — p2pmem through MMIO reads, as
/// the CPU must touch it. A NOT_SUPPORTED provider must be refused with EINVAL and its memory left untouched.
/// </summary>
public static class StorageScenario
{
    public const int DefaultBytesPerTransfer = 256 * 1024;

    public static IReadOnlyList<StorageCheck> Run(Machine machine, int bytesPerTransfer = DefaultBytesPerTransfer, int seed = 2)
    {
        ArgumentNullException.ThrowIfNull(machine);
        ArgumentOutOfRangeException.ThrowIfLessThan(bytesPerTransfer, 4096);
        if (bytesPerTransfer % 4096 != 0)
        {
            throw new ArgumentException("The transfer size must be whole 4 KiB pages.", nameof(bytesPerTransfer));
        }

        var random = new Random(seed);
        var checks = new List<StorageCheck>();
        List<PciFunction> providers = machine.Fabric.Functions.Where(machine.P2pDma.PciHasP2pmem).ToList();
        foreach (BlockDevice disk in machine.BlockDevices.Values.OrderBy(d => d.Name, StringComparer.Ordinal))
        {
            ulong length = Math.Min((ulong)bytesPerTransfer, disk.SizeBytes);
            byte[] data = new byte[length];
            random.NextBytes(data);
            if (!WriteAndReadBack(machine, disk, data, checks))
            {
                continue;
            }

            foreach (PciFunction provider in providers)
            {
                checks.Add(ReadIntoP2pmem(machine, disk, provider, data));
            }
        }

        return checks;
    }

    /// <summary>Writes <paramref name="data"/> from host pages at the start of the disk and reads it back into others.</summary>
    /// <returns>False when the write failed (or no host pages were free), so there is nothing to read back.</returns>
    private static bool WriteAndReadBack(Machine machine, BlockDevice disk, byte[] data, List<StorageCheck> checks)
    {
        ulong length = (ulong)data.Length;
        using HostBuffer? source = HostBuffer.Allocate(machine, length);
        using HostBuffer? target = HostBuffer.Allocate(machine, length);
        if (source is null || target is null)
        {
            return false;
        }

        source.Fill(data);
        Result<long> written = disk.WriteDirect(0, source.Pages, 0, length);
        checks.Add(Outcome(disk, "write", "host pages", "NONE", written, length, integrityOk: true, expectError: false, mismatch: null));
        if (!written.IsSuccess)
        {
            return false;
        }

        Result<long> read = disk.ReadDirect(0, target.Pages, 0, length);
        string? mismatch = read.IsSuccess ? Integrity.FirstMismatch(target.Bytes, data) : null;
        checks.Add(Outcome(disk, "read", "host pages", "NONE", read, length, mismatch is null, expectError: false, mismatch));
        return true;
    }

    private static StorageCheck ReadIntoP2pmem(Machine machine, BlockDevice disk, PciFunction provider, byte[] data)
    {
        ulong length = (ulong)data.Length;
        string buffer = $"p2pmem of {provider.Name}";
        P2pMemory? memory = machine.P2pDma.PciAllocP2pmem(provider, length);
        if (memory is null)
        {
            return new StorageCheck(disk.Name, "read", buffer, "-", "ENOMEM", 0, true, true, null);
        }

        try
        {
            // The map type the block layer meets: for the disk's DMA device, its controller's PCI function.
            PciFunction? controller = disk.Device.FindParentPciDev();
            PciP2pdmaMapType mapType = controller is null
                ? PciP2pdmaMapType.NotSupported
                : machine.P2pDma.PciP2pdmaMapTypeOf(memory.Provider, Device.ForPci(controller));
            byte[] before = MmioRead(machine.Fabric, memory.BusAddress, data.Length);
            var pages = new List<PhysAddress>();
            for (ulong at = 0; at < length; at += HostPageAllocator.PageSize)
            {
                pages.Add(new PhysAddress(memory.BusAddress + at));
            }

            Result<long> read = disk.ReadDirect(0, pages, 0, length);
            byte[] after = MmioRead(machine.Fabric, memory.BusAddress, data.Length);
            bool mustFail = mapType == PciP2pdmaMapType.NotSupported;
            string? mismatch = read.IsSuccess ? Integrity.FirstMismatch(after, data) : Integrity.FirstMismatch(after, before);
            return Outcome(disk, "read", buffer, P2pMatrix.MapTypeName(mapType), read, length, mismatch is null, mustFail, mismatch, mustFail ? Errno.EINVAL : Errno.None);
        }
        finally
        {
            machine.P2pDma.PciFreeP2pmem(provider, memory);
        }
    }

    private static StorageCheck Outcome(BlockDevice disk, string operation, string buffer, string mapType, Result<long> result, ulong length, bool integrityOk, bool expectError, string? mismatch, Errno expectedErrno = Errno.None)
    {
        bool expected = expectError
            ? !result.IsSuccess && result.Error == expectedErrno
            : result.IsSuccess && (ulong)result.Value == length;
        return new StorageCheck(
            disk.Name,
            operation,
            buffer,
            mapType,
            result.IsSuccess ? "ok" : result.Error.ToString(),
            result.IsSuccess ? result.Value : 0,
            integrityOk,
            expected,
            mismatch);
    }

    /// <summary>The CPU's view of P2P memory: MMIO reads through the root complex (memcpy_fromio), never a raw span.</summary>
    private static byte[] MmioRead(PcieFabric fabric, ulong busAddress, int length)
    {
        byte[] bytes = new byte[length];
        if (!fabric.TryHostRead(busAddress, bytes))
        {
            Array.Fill(bytes, (byte)0xFF);
        }

        return bytes;
    }
}
