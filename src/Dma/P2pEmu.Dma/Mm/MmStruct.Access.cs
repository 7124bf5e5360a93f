using System;
using P2pEmu.Emulator.Host;

namespace P2pEmu.Dma.Mm;

/// <content>CPU loads and stores by the task that owns the address space.</content>
public sealed partial class MmStruct
{
    /// <summary>
    /// A load by the task: copies <paramref name="destination"/>.Length bytes from user address
    /// <paramref name="address"/>, page by page through the page table, faulting anonymous pages in. The CPU
    /// reaches a page through the root complex: host RAM, or a P2P page's BAR as MMIO (what a user mapping of
    /// p2pmem is).
    /// </summary>
    /// <returns>None; EFAULT where the task would get a signal: no VMA or no read permission (SIGSEGV), a file
    /// page that is not mapped, such as an <c>allocate</c> mapping after its provider went away (SIGBUS). Bytes
    /// before the failing page were copied.</returns>
    /// <exception cref="ObjectDisposedException">The address space was torn down.</exception>
    public Errno ReadUser(ulong address, Span<byte> destination) => CopyUser(address, VmFlags.Read, destination, default);

    /// <summary>
    /// A store by the task: copies <paramref name="source"/> to user address <paramref name="address"/>, as
    /// <see cref="ReadUser"/> reads.
    /// </summary>
    /// <returns>None; EFAULT as for <see cref="ReadUser"/>, or for a mapping without write permission.</returns>
    /// <exception cref="ObjectDisposedException">The address space was torn down.</exception>
    public Errno WriteUser(ulong address, ReadOnlySpan<byte> source) => CopyUser(address, VmFlags.Write, default, source);

    /// <summary>A load into <paramref name="readInto"/> or a store from <paramref name="writeFrom"/>, split at page boundaries.</summary>
    private Errno CopyUser(ulong address, VmFlags access, Span<byte> readInto, ReadOnlySpan<byte> writeFrom)
    {
        bool write = access == VmFlags.Write;
        int length = write ? writeFrom.Length : readInto.Length;
        int done = 0;
        while (done < length)
        {
            ulong at = address + (ulong)done;
            int n = (int)Math.Min((ulong)(length - done), Page.PageSize - (at & PageMask));
            Errno error = write
                ? AccessPage(at, access, default, writeFrom.Slice(done, n))
                : AccessPage(at, access, readInto.Slice(done, n), default);
            if (error != Errno.None)
            {
                return error;
            }

            done += n;
        }

        return Errno.None;
    }

    /// <summary>One access within one page, done under the page-table lock so that a zap cannot overtake it.</summary>
    private Errno AccessPage(ulong address, VmFlags access, Span<byte> readInto, ReadOnlySpan<byte> writeFrom)
    {
        ulong pageAddress = address & ~PageMask;
        lock (_mmapLock)
        {
            ThrowIfDisposed();
            VmAreaStruct? vma = FindVmaLocked(address);
            if (vma is null || (vma.Flags & access) == 0)
            {
                return Errno.EFAULT;
            }

            if (vma.PfnMap is { } pfn)
            {
                // Special entries: no struct page, the owner's map resolves them (and faults them in).
                ulong offset = vma.PfnMapOffset + (address - vma.Start);
                return access == VmFlags.Read ? pfn.Read(offset, readInto) : pfn.Write(offset, writeFrom);
            }

            lock (_pageTableLock)
            {
                Errno error = FaultInLocked(vma, pageAddress, out Page? page);
                if (error != Errno.None)
                {
                    return error;
                }

                // A CPU access that nothing claims completes as the hardware completes it (all-ones, write dropped).
                ulong target = page!.Phys.Value + (address & PageMask);
                if (access == VmFlags.Read)
                {
                    Fabric.TryHostRead(target, readInto);
                }
                else
                {
                    Fabric.TryHostWrite(target, writeFrom);
                }

                return Errno.None;
            }
        }
    }
}
