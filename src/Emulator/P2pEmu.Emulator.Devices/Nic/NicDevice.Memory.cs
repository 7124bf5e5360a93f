using System;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Memory;
using P2pEmu.Emulator.Pci;

namespace P2pEmu.Emulator.Devices.Nic;

/// <summary>Checking local and remote keys, and placing received payload through a key's MTT.</summary>
public sealed partial class NicDevice
{
    private enum PlaceStatus
    {
        Ok,

        /// <summary>The data runs past the end of the buffers.</summary>
        Overflow,

        /// <summary>An MTT entry was not present (zapped after the message was checked).</summary>
        NotPresent,

        /// <summary>An MTT entry is in error.</summary>
        Error,

        /// <summary>The fabric refused a write.</summary>
        DmaFault,
    }

    /// <summary>
    /// The key <paramref name="key"/> if it exists, belongs to <paramref name="pd"/>, allows <paramref name="access"/>
    /// and holds [va, va+length); null otherwise (a protection or access error).
    /// </summary>
    private NicMkey? CheckKey(uint key, uint pd, NicAccess access, ulong va, ulong length)
    {
        if (!_mkeys.TryGetValue(key, out NicMkey? mkey) || mkey.Pd != pd || (mkey.Access & access) != access || !mkey.Contains(va, length))
        {
            return null;
        }

        return mkey;
    }

    /// <summary>
    /// Whether every page of the segments is mapped. A page that is not raises a page fault event for the driver
    /// (once per <paramref name="raise"/>) and gives <see cref="NicMkeyLookup.NotPresent"/>.
    /// </summary>
    private NicMkeyLookup CheckPresent(ReadOnlySpan<NicSegment> segments, uint qpn, bool raise)
    {
        foreach (NicSegment segment in segments)
        {
            NicMkeyLookup found = segment.Mkey.Check(segment.Va, segment.Length, out ulong faultVa);
            if (found == NicMkeyLookup.NotPresent && raise)
            {
                System.Threading.Interlocked.Increment(ref _pageFaults);
                ulong length = segment.Va + segment.Length - faultVa;
                PostEvent(NicEventType.PageFault, segment.Mkey.Key, faultVa, (uint)Math.Min(length, uint.MaxValue), qpn);
            }

            if (found != NicMkeyLookup.Ok)
            {
                return found;
            }
        }

        return NicMkeyLookup.Ok;
    }

    /// <summary>
    /// Whether [address, +length) lies in the NIC's own memory BAR (BAR2) while it decodes: the device reaches its own
    /// memory internally, as hardware does (PCIe does not route a request back into the window of the port it came
    /// in on). Such bytes do not cross the fabric and are not in its counters.
    /// </summary>
    private bool TryOwnMemory(DmaAddress address, ulong length, out Span<byte> bytes)
    {
        bytes = default;
        if (Function?.GetBar(2) is not PciBar bar || bar.Memory is not BarRegion memory || !bar.Contains(address.Value) || length > int.MaxValue)
        {
            return false;
        }

        ulong into = address.Value - bar.Address;
        if (length > bar.SizeBytes - into)
        {
            return false;
        }

        bytes = memory.GetSpan(into, (int)length);
        return true;
    }

    /// <summary>Writes <paramref name="data"/> at message offset <paramref name="offset"/> of the segments.</summary>
    private PlaceStatus Place(ReadOnlySpan<NicSegment> segments, ulong offset, ReadOnlySpan<byte> data)
    {
        ulong capacity = 0;
        foreach (NicSegment segment in segments)
        {
            capacity += segment.Length;
        }

        if (offset > capacity || (ulong)data.Length > capacity - offset)
        {
            return PlaceStatus.Overflow;
        }

        int i = 0;
        ulong skip = offset;
        while (i < segments.Length && skip >= segments[i].Length && segments[i].Length != 0)
        {
            skip -= segments[i].Length;
            i++;
        }

        while (!data.IsEmpty)
        {
            NicSegment segment = segments[i];
            int n = (int)Math.Min(segment.Length - skip, (ulong)data.Length);
            int done = 0;
            while (done < n)
            {
                NicMkeyLookup found = segment.Mkey.Translate(segment.Va + skip + (ulong)done, (ulong)(n - done), out DmaAddress address, out ulong contiguous);
                if (found != NicMkeyLookup.Ok)
                {
                    return found == NicMkeyLookup.NotPresent ? PlaceStatus.NotPresent : PlaceStatus.Error;
                }

                int piece = (int)Math.Min(contiguous, (ulong)(n - done));
                if (TryOwnMemory(address, (ulong)piece, out Span<byte> own))
                {
                    data.Slice(done, piece).CopyTo(own);
                }
                else if (!Dma.Write(address, data.Slice(done, piece)).IsSuccess)
                {
                    return PlaceStatus.DmaFault;
                }

                done += piece;
            }

            System.Threading.Interlocked.Add(ref _payloadBytesReceived, n);
            data = data[n..];
            i++;
            skip = 0;
        }

        return PlaceStatus.Ok;
    }
}
