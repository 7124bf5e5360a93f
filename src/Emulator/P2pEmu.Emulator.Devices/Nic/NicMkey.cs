using System;
using P2pEmu.Emulator.Addressing;

namespace P2pEmu.Emulator.Devices.Nic;

/// <summary>
/// A memory key as the device holds it: the region [<see cref="Iova"/>, +<see cref="Length"/>) of the QP's address
/// space, its rights, and the translation table (MTT) from region pages to DMA addresses, which the driver writes with
/// CREATE_MKEY and UPDATE_MTT. A physical key has no table: its addresses are DMA addresses (a local DMA key).
/// </summary>
internal sealed class NicMkey
{
    /// <summary>MTT entry bit: the page is mapped at the entry's address (bits 63:12).</summary>
    public const ulong EntryPresent = 1;

    /// <summary>MTT entry bit: the page cannot be mapped; accesses fail instead of faulting.</summary>
    public const ulong EntryError = 2;

    public const ulong EntryAddressMask = ~0xFFFUL;

    public NicMkey(uint key, uint pd, NicAccess access, ulong iova, ulong length, int pageShift, ulong[]? mtt)
    {
        Key = key;
        Pd = pd;
        Access = access;
        Iova = iova;
        Length = length;
        PageShift = pageShift;
        Mtt = mtt;
    }

    public uint Key { get; }

    public uint Pd { get; }

    public NicAccess Access { get; }

    public ulong Iova { get; }

    public ulong Length { get; }

    public int PageShift { get; }

    /// <summary>The translation table; null for a physical key.</summary>
    public ulong[]? Mtt { get; }

    private ulong PageBytes => 1UL << PageShift;

    private ulong TableBase => Iova & ~(PageBytes - 1);

    /// <summary>Whether [va, va+length) lies inside the region (a zero-length access anywhere inside or at its end).</summary>
    public bool Contains(ulong va, ulong length) =>
        va >= Iova && length <= Length && va - Iova <= Length - length;

    /// <summary>
    /// Translates <paramref name="va"/> (inside the region): its DMA address and how many bytes from it are contiguous on
    /// the fabric, merging adjacent entries, at most <paramref name="maxLength"/>.
    /// </summary>
    public NicMkeyLookup Translate(ulong va, ulong maxLength, out DmaAddress address, out ulong contiguous)
    {
        if (Mtt is null)
        {
            address = new DmaAddress(va);
            contiguous = maxLength;
            return NicMkeyLookup.Ok;
        }

        ulong pageBytes = PageBytes;
        ulong relative = va - TableBase;
        long index = (long)(relative >> PageShift);
        ulong offset = relative & (pageBytes - 1);
        ulong entry = Mtt[index];
        if ((entry & EntryPresent) == 0)
        {
            address = default;
            contiguous = 0;
            return (entry & EntryError) != 0 ? NicMkeyLookup.Error : NicMkeyLookup.NotPresent;
        }

        ulong start = entry & EntryAddressMask;
        address = new DmaAddress(start + offset);
        contiguous = pageBytes - offset;
        ulong next = start + pageBytes;
        while (contiguous < maxLength && ++index < Mtt.Length)
        {
            ulong e = Mtt[index];
            if ((e & EntryPresent) == 0 || (e & EntryAddressMask) != next)
            {
                break;
            }

            contiguous += pageBytes;
            next += pageBytes;
        }

        contiguous = Math.Min(contiguous, maxLength);
        return NicMkeyLookup.Ok;
    }

    /// <summary>Whether every page of [va, va+length) is present; otherwise the first page that is not, and why.</summary>
    public NicMkeyLookup Check(ulong va, ulong length, out ulong faultVa)
    {
        faultVa = 0;
        if (Mtt is null || length == 0)
        {
            return NicMkeyLookup.Ok;
        }

        ulong pageMask = PageBytes - 1;
        long first = (long)((va - TableBase) >> PageShift);
        long last = (long)((va + length - 1 - TableBase) >> PageShift);
        for (long i = first; i <= last; i++)
        {
            ulong entry = Mtt[i];
            if ((entry & EntryPresent) == 0)
            {
                faultVa = Math.Max(va, TableBase + ((ulong)i << PageShift)) & ~pageMask;
                faultVa = Math.Max(faultVa, va);
                return (entry & EntryError) != 0 ? NicMkeyLookup.Error : NicMkeyLookup.NotPresent;
            }
        }

        return NicMkeyLookup.Ok;
    }
}
