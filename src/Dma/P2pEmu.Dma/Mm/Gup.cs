using System;

namespace P2pEmu.Dma.Mm;

/// <summary>
/// The parts of mm/gup.c that do not belong to one address space: the argument checks of the exported GUP
/// calls, and unpinning. Pinning itself is <see cref="MmStruct.PinUserPages"/>.
/// </summary>
public static class Gup
{
    /// <summary>Linux <c>INTERNAL_GUP_FLAGS</c>: flags a caller may not pass.</summary>
    public const FollFlags InternalGupFlags = FollFlags.Touch | FollFlags.Tried | FollFlags.Remote | FollFlags.Pin
        | FollFlags.FastOnly | FollFlags.Unlockable | FollFlags.MadvPopulate;

    /// <summary>
    /// Linux <c>is_valid_gup_args</c> (each failure is a WARN there, and the call fails with EINVAL): no internal
    /// flag from the caller; <paramref name="toSet"/> added; FOLL_GET and FOLL_PIN not both; FOLL_LONGTERM only
    /// when pinning; and FOLL_LONGTERM never with FOLL_PCI_P2PDMA, so that a page map stays hot-unpluggable
    /// (spec §4.1).
    /// </summary>
    /// <returns>False when the arguments are invalid; otherwise true, with <paramref name="gupFlags"/> updated.</returns>
    public static bool IsValidGupArgs(ref FollFlags gupFlags, FollFlags toSet)
    {
        FollFlags flags = gupFlags;
        if ((flags & InternalGupFlags) != 0)
        {
            return false;
        }

        flags |= toSet;
        if ((flags & (FollFlags.Pin | FollFlags.Get)) == (FollFlags.Pin | FollFlags.Get))
        {
            return false;
        }

        if ((flags & FollFlags.Pin) == 0 && (flags & FollFlags.Longterm) != 0)
        {
            return false;
        }

        if ((flags & FollFlags.Longterm) != 0 && (flags & FollFlags.PciP2pdma) != 0)
        {
            return false;
        }

        gupFlags = flags;
        return true;
    }

    /// <summary>
    /// Linux <c>unpin_user_page</c>: releases one pin. The last reference frees the page (a P2P page goes back to
    /// its pool and drops its page-map reference, which may complete a provider teardown that waits for it).
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="page"/> is null.</exception>
    /// <exception cref="InvalidOperationException">The page is not pinned.</exception>
    public static void UnpinUserPage(Page page)
    {
        ArgumentNullException.ThrowIfNull(page);
        page.Unpin();
    }

    /// <summary>Linux <c>unpin_user_pages</c>: <see cref="UnpinUserPage"/> for each page.</summary>
    /// <exception cref="ArgumentNullException">An element is null.</exception>
    /// <exception cref="InvalidOperationException">A page is not pinned (the pages before it were unpinned).</exception>
    public static void UnpinUserPages(ReadOnlySpan<Page> pages)
    {
        foreach (Page page in pages)
        {
            UnpinUserPage(page);
        }
    }
}
