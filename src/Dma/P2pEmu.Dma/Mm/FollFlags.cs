using System;

namespace P2pEmu.Dma.Mm;

/// <summary>
/// Linux <c>FOLL_*</c> flags of get_user_pages/pin_user_pages, with their values (include/linux/mm_types.h for
/// the ones a caller passes, mm/internal.h for the internal ones, which a caller must not pass).
/// </summary>
[Flags]
#pragma warning disable CA1711 // Linux's name.
public enum FollFlags : uint
#pragma warning restore CA1711
{
    None = 0,

    /// <summary><c>FOLL_WRITE</c>: the pages will be written (the VMA must be writable).</summary>
    Write = 1 << 0,

    /// <summary><c>FOLL_GET</c>: take a plain reference (get_user_pages); never together with a pin.</summary>
    Get = 1 << 1,

    /// <summary><c>FOLL_DUMP</c>.</summary>
    Dump = 1 << 2,

    /// <summary><c>FOLL_FORCE</c>.</summary>
    Force = 1 << 3,

    /// <summary><c>FOLL_NOWAIT</c>.</summary>
    NoWait = 1 << 4,

    /// <summary><c>FOLL_NOFAULT</c>: do not fault pages in; a missing page fails the call (EFAULT).</summary>
    NoFault = 1 << 5,

    /// <summary><c>FOLL_HWPOISON</c>.</summary>
    HwPoison = 1 << 6,

    /// <summary><c>FOLL_ANON</c>: only anonymous memory (a file mapping fails with EFAULT).</summary>
    Anon = 1 << 7,

    /// <summary><c>FOLL_LONGTERM</c>: the pin is held for an indefinite time, often under userspace control.</summary>
    Longterm = 1 << 8,

    /// <summary><c>FOLL_SPLIT_PMD</c>.</summary>
    SplitPmd = 1 << 9,

    /// <summary><c>FOLL_PCI_P2PDMA</c>: the caller can handle PCI P2PDMA pages (spec §4.1).</summary>
    PciP2pdma = 1 << 10,

    /// <summary><c>FOLL_INTERRUPTIBLE</c>.</summary>
    Interruptible = 1 << 11,

    /// <summary><c>FOLL_HONOR_NUMA_FAULT</c>.</summary>
    HonorNumaFault = 1 << 12,

    /// <summary><c>FOLL_TOUCH</c> (internal).</summary>
    Touch = 1 << 16,

    /// <summary><c>FOLL_TRIED</c> (internal).</summary>
    Tried = 1 << 17,

    /// <summary><c>FOLL_REMOTE</c> (internal).</summary>
    Remote = 1 << 18,

    /// <summary><c>FOLL_PIN</c> (internal): set by the pin_user_pages family; pages are released with unpin_user_page.</summary>
    Pin = 1 << 19,

    /// <summary><c>FOLL_FAST_ONLY</c> (internal).</summary>
    FastOnly = 1 << 20,

    /// <summary><c>FOLL_UNLOCKABLE</c> (internal).</summary>
    Unlockable = 1 << 21,

    /// <summary><c>FOLL_MADV_POPULATE</c> (internal).</summary>
    MadvPopulate = 1 << 22,
}
