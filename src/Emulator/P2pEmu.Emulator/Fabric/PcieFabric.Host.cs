using System;
using System.Buffers.Binary;
using System.Threading;
using P2pEmu.Emulator.Memory;
using P2pEmu.Emulator.Pci;

namespace P2pEmu.Emulator.Fabric;

/// <content>
/// Accesses that start at the root complex rather than at a device: the CPU's loads and stores
/// (<c>readX</c>/<c>writeX</c>, <c>memcpy_toio</c>) and the IOMMU's page-table walks. They decode host RAM and
/// the host bridges' windows down to a BAR; they are never translated and no ACS applies.
/// </content>
public sealed partial class PcieFabric
{
    /// <summary>Reads <paramref name="destination"/>.Length bytes at a bus address from the root complex.</summary>
    /// <returns>False when part of the range is unclaimed (that part reads all-ones, as an Unsupported Request completes).</returns>
    public bool TryHostRead(ulong busAddress, Span<byte> destination)
    {
        if (TryFindRam(busAddress, out ulong ramOffset, out ulong ramRemaining) && ramRemaining >= (ulong)destination.Length)
        {
            _ram.Region.GetSpan(ramOffset, destination.Length).CopyTo(destination); // all in RAM: one copy
            return true;
        }

        int done = 0;
        while (done < destination.Length)
        {
            ulong at = unchecked(busAddress + (ulong)done);
            if (!TryHostTarget(at, out BarRegion? memory, out PciBar? bar, out ulong offset, out ulong remaining))
            {
                destination[done..].Fill(0xFF);
                return false;
            }

            if (bar is not null && !bar.TryBeginAccess(at))
            {
                continue;
            }

            int n = (int)Math.Min((ulong)(destination.Length - done), remaining);
            try
            {
                if (memory is not null)
                {
                    memory.GetSpan(offset, n).CopyTo(destination.Slice(done, n));
                }
                else
                {
                    DmaPort.ReadMmio(bar!, offset, destination.Slice(done, n));
                }
            }
            finally
            {
                bar?.EndAccess();
            }

            done += n;
        }

        return true;
    }

    /// <summary>Writes <paramref name="source"/> at a bus address from the root complex.</summary>
    /// <returns>False when part of the range is unclaimed; nothing is written from there on.</returns>
    public bool TryHostWrite(ulong busAddress, ReadOnlySpan<byte> source)
    {
        int done = 0;
        while (done < source.Length)
        {
            ulong at = unchecked(busAddress + (ulong)done);
            if (!TryHostTarget(at, out BarRegion? memory, out PciBar? bar, out ulong offset, out ulong remaining))
            {
                return false;
            }

            if (bar is not null && !bar.TryBeginAccess(at))
            {
                continue;
            }

            int n = (int)Math.Min((ulong)(source.Length - done), remaining);
            try
            {
                if (memory is not null)
                {
                    source.Slice(done, n).CopyTo(memory.GetSpan(offset, n));
                }
                else
                {
                    DmaPort.WriteMmio(bar!, offset, source.Slice(done, n));
                }
            }
            finally
            {
                bar?.EndAccess();
            }

            done += n;
        }

        return true;
    }

    /// <summary>
    /// An 8-byte little-endian load from the root complex (<c>readq</c>, a page-table entry read): one access when the
    /// address is aligned host RAM, as <see cref="TryHostRead"/> otherwise.
    /// </summary>
    /// <returns>False when part of the range is unclaimed (<paramref name="value"/> is then all-ones there).</returns>
    public bool TryHostRead64(ulong busAddress, out ulong value)
    {
        if (TryFindRamQuad(busAddress, out ulong offset))
        {
            ulong raw = Volatile.Read(ref _ram.Region.GetRef<ulong>(offset));
            value = BitConverter.IsLittleEndian ? raw : BinaryPrimitives.ReverseEndianness(raw);
            return true;
        }

        Span<byte> bytes = stackalloc byte[sizeof(ulong)];
        bool claimed = TryHostRead(busAddress, bytes);
        value = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        return claimed;
    }

    /// <summary>
    /// An 8-byte little-endian store from the root complex (<c>writeq</c>, a page-table entry write): one access when
    /// the address is aligned host RAM, as <see cref="TryHostWrite"/> otherwise.
    /// </summary>
    /// <returns>False when part of the range is unclaimed; nothing is written from there on.</returns>
    public bool TryHostWrite64(ulong busAddress, ulong value)
    {
        if (TryFindRamQuad(busAddress, out ulong offset))
        {
            Volatile.Write(ref _ram.Region.GetRef<ulong>(offset), BitConverter.IsLittleEndian ? value : BinaryPrimitives.ReverseEndianness(value));
            return true;
        }

        Span<byte> bytes = stackalloc byte[sizeof(ulong)];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, value);
        return TryHostWrite(busAddress, bytes);
    }

    /// <summary>
    /// A locked 8-byte compare-and-exchange by the CPU on host RAM (<c>cmpxchg64</c>, which Intel's IOMMU driver uses to
    /// install a new page table): <paramref name="value"/> is stored at <paramref name="busAddress"/> only if the
    /// quadword there equals <paramref name="expected"/>.
    /// </summary>
    /// <param name="found">The quadword that was there: <paramref name="expected"/> exactly when the store happened.</param>
    /// <returns>False, with nothing stored, when the address is not 8-byte aligned or not host RAM.</returns>
    public bool TryHostCompareExchange64(ulong busAddress, ulong expected, ulong value, out ulong found)
    {
        found = 0;
        if (!TryFindRamQuad(busAddress, out ulong offset))
        {
            return false;
        }

        found = Interlocked.CompareExchange(ref _ram.Region.GetRef<ulong>(offset), value, expected);
        return true;
    }

    /// <summary>The offset in host RAM of an 8-byte aligned quadword at <paramref name="busAddress"/>, if it is RAM.</summary>
    private bool TryFindRamQuad(ulong busAddress, out ulong offset)
    {
        offset = 0;
        return (busAddress & (sizeof(ulong) - 1)) == 0 && TryFindRam(busAddress, out offset, out _);
    }

    /// <summary>What a root-complex access to <paramref name="address"/> reaches: host RAM, a memory BAR, or registers.</summary>
    private bool TryHostTarget(ulong address, out BarRegion? memory, out PciBar? bar, out ulong offset, out ulong remaining)
    {
        if (TryFindRam(address, out offset, out remaining))
        {
            memory = _ram.Region;
            bar = null;
            return true;
        }

        foreach (HostBridge hb in _hostBridges)
        {
            if (hb.WindowContains(address) && FindRootComplexEgress(hb, address) is PciFunction egress)
            {
                bar = Descend(egress is PciBridge bridge ? bridge.SecondaryBus : egress.Bus, address, null, out _);
                if (bar is not null)
                {
                    memory = bar.Memory;
                    offset = address - bar.Address;
                    remaining = bar.SizeBytes - offset;
                    return true;
                }
            }
        }

        memory = null;
        bar = null;
        offset = 0;
        remaining = 0;
        return false;
    }
}
