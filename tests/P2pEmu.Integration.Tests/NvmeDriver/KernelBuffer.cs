using System;
using System.Collections.Generic;
using System.IO.Hashing;
using P2pEmu.Dma.Block;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Host;

namespace P2pEmu.Integration.Tests.NvmeDriver;

/// <summary>
/// A kernel buffer for O_DIRECT tests: host pages from the page allocator (one contiguous block, or single pages that
/// are not contiguous) or P2P pages of a provider's p2pmem, read and written by the CPU through the root complex.
/// </summary>
internal sealed class KernelBuffer
{
    private readonly PcieFabric _fabric;
    private readonly ulong[] _pages;

    private KernelBuffer(PcieFabric fabric, ulong[] pages)
    {
        _fabric = fabric;
        _pages = pages;
    }

    public IReadOnlyList<ulong> Pages => _pages;

    public int SizeBytes => _pages.Length * 4096;

    /// <summary>2^order contiguous host pages.</summary>
    public static KernelBuffer Contiguous(Machine.Machine machine, int order)
    {
        ulong first = machine.Pages.AllocPages(order).Value;
        var pages = new ulong[1 << order];
        for (int i = 0; i < pages.Length; i++)
        {
            pages[i] = first + ((ulong)i * 4096);
        }

        return new KernelBuffer(machine.Fabric, pages);
    }

    /// <summary><paramref name="count"/> single host pages, each allocated on its own (the allocator hands them out top down, so none follows the previous one).</summary>
    public static KernelBuffer Scattered(Machine.Machine machine, int count)
    {
        var pages = new ulong[count];
        for (int i = 0; i < count; i++)
        {
            pages[i] = machine.Pages.AllocPage().Value;
        }

        return new KernelBuffer(machine.Fabric, pages);
    }

    /// <summary>P2P pages: <paramref name="bytes"/> of <paramref name="provider"/>'s p2pmem (one allocation, contiguous).</summary>
    public static KernelBuffer P2pmem(Machine.Machine machine, string provider, int bytes)
    {
        Dma.P2pDma.P2pMemory memory = machine.P2pDma.PciAllocP2pmem(machine.Fabric[provider], (ulong)bytes)
            ?? throw new InvalidOperationException($"no p2pmem from {provider}");
        var pages = new ulong[(bytes + 4095) / 4096];
        for (int i = 0; i < pages.Length; i++)
        {
            pages[i] = memory.BusAddress + ((ulong)i * 4096);
        }

        return new KernelBuffer(machine.Fabric, pages);
    }

    /// <summary>Seeded random bytes.</summary>
    public static byte[] Random(int length, int seed)
    {
        byte[] bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    public static ulong Hash(ReadOnlySpan<byte> bytes) => XxHash3.HashToUInt64(bytes);

    /// <summary>bio_vecs over [<paramref name="offset"/>, <paramref name="offset"/> + <paramref name="length"/>) of the buffer, one per page.</summary>
    public List<BioVec> Vecs(int offset, int length)
    {
        var vecs = new List<BioVec>();
        int at = offset;
        int end = offset + length;
        while (at < end)
        {
            int page = at / 4096;
            int inPage = at % 4096;
            int n = Math.Min(4096 - inPage, end - at);
            vecs.Add(new BioVec(new PhysAddress(_pages[page]), (uint)inPage, (uint)n));
            at += n;
        }

        return vecs;
    }

    /// <summary>The CPU stores <paramref name="data"/> at <paramref name="offset"/>.</summary>
    public void Write(int offset, ReadOnlySpan<byte> data)
    {
        int done = 0;
        while (done < data.Length)
        {
            int at = offset + done;
            int n = Math.Min(4096 - (at % 4096), data.Length - done);
            if (!_fabric.TryHostWrite(_pages[at / 4096] + (ulong)(at % 4096), data.Slice(done, n)))
            {
                throw new InvalidOperationException("CPU store not claimed");
            }

            done += n;
        }
    }

    /// <summary>The CPU loads <paramref name="length"/> bytes at <paramref name="offset"/>.</summary>
    public byte[] Read(int offset, int length)
    {
        byte[] data = new byte[length];
        int done = 0;
        while (done < length)
        {
            int at = offset + done;
            int n = Math.Min(4096 - (at % 4096), length - done);
            _fabric.TryHostRead(_pages[at / 4096] + (ulong)(at % 4096), data.AsSpan(done, n));
            done += n;
        }

        return data;
    }

    /// <summary>Fills the whole buffer with one byte value.</summary>
    public void Fill(byte value)
    {
        byte[] bytes = new byte[SizeBytes];
        bytes.AsSpan().Fill(value);
        Write(0, bytes);
    }

    public static long Ok(Result<long> result) =>
        result.IsSuccess ? result.Value : throw new InvalidOperationException($"I/O failed: {result.Error}");
}
