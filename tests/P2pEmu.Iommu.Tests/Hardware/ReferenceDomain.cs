using System.Collections.Generic;
using P2pEmu.Emulator.Host;
using P2pEmu.Iommu.Hardware;

namespace P2pEmu.Iommu.Tests.Hardware;

/// <summary>
/// A reference model of a domain for differential tests: leaves in a dictionary keyed by (start, level), page sizes
/// chosen as Linux <c>iommu_pgsize</c> does, unmap as <c>iommu_unmap</c> with whole large leaves (Intel).
/// </summary>
internal sealed class ReferenceDomain
{
    private readonly Dictionary<(ulong Start, int Level), (ulong Target, IommuProt Prot)> _leaves = new();

    public ulong MappedBytes { get; private set; }

    public Errno Map(ulong iova, ulong target, ulong size, IommuProt prot)
    {
        for (ulong page = 0; page < size; page += 4096)
        {
            if (TryFind(iova + page, out _, out _))
            {
                return Errno.EEXIST;
            }
        }

        for (ulong done = 0; done < size;)
        {
            int level = 1;
            for (int candidate = 3; candidate > 1 && level == 1; candidate--)
            {
                ulong bytes = 1UL << (12 + (9 * (candidate - 1)));
                if (bytes <= size - done && ((iova + done) & (bytes - 1)) == 0 && ((target + done) & (bytes - 1)) == 0)
                {
                    level = candidate;
                }
            }

            _leaves.Add((iova + done, level), (target + done, prot));
            done += 1UL << (12 + (9 * (level - 1)));
        }

        MappedBytes += size;
        return Errno.None;
    }

    public ulong Unmap(ulong iova, ulong size)
    {
        ulong unmapped = 0;
        ulong cursor = iova;
        ulong remaining = size;
        while (remaining > 0 && TryFind(cursor, out (ulong Start, int Level) key, out _))
        {
            _leaves.Remove(key);
            ulong bytes = 1UL << (12 + (9 * (key.Level - 1)));
            unmapped += bytes;
            ulong consumed = key.Start + bytes - cursor;
            if (consumed >= remaining)
            {
                break;
            }

            remaining -= consumed;
            cursor = key.Start + bytes;
        }

        MappedBytes -= unmapped;
        return unmapped;
    }

    public bool TryTranslate(ulong iova, out ulong target, out IommuProt prot)
    {
        if (TryFind(iova, out (ulong Start, int Level) key, out (ulong Target, IommuProt Prot) leaf))
        {
            target = leaf.Target + (iova - key.Start);
            prot = leaf.Prot;
            return true;
        }

        target = 0;
        prot = IommuProt.None;
        return false;
    }

    private bool TryFind(ulong iova, out (ulong Start, int Level) key, out (ulong Target, IommuProt Prot) leaf)
    {
        for (int level = 1; level <= 3; level++)
        {
            ulong bytes = 1UL << (12 + (9 * (level - 1)));
            key = (iova & ~(bytes - 1), level);
            if (_leaves.TryGetValue(key, out leaf))
            {
                return true;
            }
        }

        key = default;
        leaf = default;
        return false;
    }
}
