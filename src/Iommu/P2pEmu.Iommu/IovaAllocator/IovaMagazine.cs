namespace P2pEmu.Iommu.IovaAllocator;

/// <summary>
/// A magazine of cached pfns of one size class (Linux <c>struct iova_magazine</c>): a stack whose pop may take an
/// entry below the top when the top does not fit the caller's limit. Guarded by the lock of whoever holds it (a
/// CPU's rcache lock, or the depot lock while it sits in the depot).
/// </summary>
internal sealed class IovaMagazine
{
    /// <summary>Slots in <see cref="IovaMagazineBuffer"/>: the older model's 128.</summary>
    public const int MaxCapacity = 128;

    private IovaMagazineBuffer _pfns;

    public IovaMagazine(int capacity) => Capacity = capacity;

    public int Capacity { get; }

    public int Size { get; private set; }

    public bool IsEmpty => Size == 0;

    public bool IsFull => Size == Capacity;

    /// <summary>Depot link (Linux keeps it in a union with the size; here it is separate).</summary>
    public IovaMagazine? Next { get; set; }

    public void Push(ulong pfn) => _pfns[Size++] = pfn;

    /// <summary>
    /// Takes the newest pfn not above <paramref name="maxPfn"/>, scanning down from the top, and fills its slot with
    /// the last entry (Linux <c>iova_magazine_pop</c>); 0 when none fits. The magazine must not be empty.
    /// </summary>
    public ulong Pop(ulong maxPfn)
    {
        int i = Size - 1;
        while (_pfns[i] > maxPfn)
        {
            if (i == 0)
            {
                return 0;
            }

            i--;
        }

        ulong pfn = _pfns[i];
        _pfns[i] = _pfns[--Size];
        return pfn;
    }

    public ulong this[int index] => _pfns[index];

    /// <summary>Forgets the contents (after they were freed to the tree).</summary>
    public void Clear() => Size = 0;
}
