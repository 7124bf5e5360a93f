using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Threading;
using P2pEmu.Dma.Diagnostics;
using P2pEmu.Emulator.Host;
using P2pEmu.Emulator.Pci;

namespace P2pEmu.Dma.P2pDma;

/// <content>
/// Provider removal (spec §1.3 step 5, §1.5): what the kernel's devres runs for the P2PDMA state when the provider's
/// driver unbinds, ending with the device disabled.
/// </content>
public sealed partial class P2pDmaHost
{
    /// <summary>
    /// The P2PDMA part of a provider's remove(), blocking until it is complete: see
    /// <see cref="RemoveProvider(PciFunction, TimeSpan)"/>.
    /// </summary>
    /// <returns>None; ENODEV when the device has no P2PDMA state.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="pdev"/> is null.</exception>
    public Errno RemoveProvider(PciFunction pdev) => RemoveProvider(pdev, Timeout.InfiniteTimeSpan);

    /// <summary>
    /// The P2PDMA part of a provider's remove(): the devres actions <c>pci_p2pdma_add_resource</c> and
    /// <c>pcim_p2pdma_init</c> registered, in reverse order, then the device disabled. For each page map, newest
    /// first: (a) the sysfs <c>allocate</c> file is removed, which zaps every user mapping of it and fails later
    /// mmaps (only the first page map's turn does anything); (b) <c>memunmap_pages</c>: the map is killed, so
    /// allocations from its range fail, then the call waits until every reference is dropped — allocations freed,
    /// pages unmapped and unpinned (an O_DIRECT in flight holds a pin and keeps it waiting) — and removes the
    /// range. Then (c) <c>pci_p2pdma_release</c>: the state is detached from the device (<see cref="GetP2pdma"/>
    /// returns null; the old state reads <see cref="P2pProviderState.Gone"/>), its map-type cache and pool are
    /// dropped and the sysfs group is removed. Finally (d) the device is disabled: Memory Space Enable and Bus
    /// Master Enable are cleared in its Command register.
    /// </summary>
    /// <remarks>
    /// <para>
    /// When this returns None: no user mapping of the provider's memory remains, no page, pin or allocation of it
    /// is alive, and the BARs no longer decode, so a DMA that still targets the old range — a client that kept a
    /// bus address — ends as an Unsupported Request, or an IOMMU fault when it used an IOVA that was unmapped, and
    /// changes no byte. A DMA into pinned pages is never cut short: its pin holds the removal until the client is
    /// done and unpins.
    /// </para>
    /// <para>
    /// Step (d) is this model's end of the unbind (deviation: Linux's <c>pci_disable_device</c> clears only bus
    /// mastering, the BAR resources are released by the PCI core, and a hot-removed device stops answering). Call
    /// this after the driver's own remove work, as devres runs after <c>remove()</c> returns; a driver that binds
    /// again enables the device, as <c>pci_enable_device</c> does.
    /// </para>
    /// <para>
    /// With more than one range, the older ranges are still live while the newest drains (as in Linux, where each
    /// range is its own devres entry): allocations from them succeed until their own turn; mmaps of
    /// <c>allocate</c> fail from step (a) on.
    /// </para>
    /// <para>
    /// A <paramref name="timeout"/> other than <see cref="Timeout.InfiniteTimeSpan"/> bounds the wait (Linux
    /// waits for ever): on ETIMEDOUT the removal stays in progress where it stopped — state
    /// <see cref="P2pProviderState.Teardown"/>, mappings zapped, the map killed and still draining — and the next
    /// call continues from there.
    /// </para>
    /// </remarks>
    /// <returns>None when the removal completed; ETIMEDOUT when a page map still had references when the timeout
    /// passed; ENODEV when the device has no P2PDMA state (never initialised, or already removed).</returns>
    /// <exception cref="ArgumentNullException"><paramref name="pdev"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is negative and not infinite.</exception>
    public Errno RemoveProvider(PciFunction pdev, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(pdev);
        if (timeout != Timeout.InfiniteTimeSpan)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(timeout, TimeSpan.Zero);
        }

        long started = Stopwatch.GetTimestamp();
        PciP2pdma? p2pdma = GetP2pdma(pdev);
        if (p2pdma is null)
        {
            return Errno.ENODEV;
        }

        if (!p2pdma.TeardownLock.TryEnter(Remaining(timeout, started)))
        {
            return Errno.ETIMEDOUT;
        }

        try
        {
            if (p2pdma.Released)
            {
                return Errno.ENODEV;
            }

            lock (_lock)
            {
                p2pdma.TeardownStarted = true;
            }

            IReadOnlyList<P2pPagemap> pagemaps = p2pdma.Pagemaps;
            for (int i = pagemaps.Count - 1; i >= 0; i--)
            {
                P2pPagemap pagemap = pagemaps[i];
                if (pagemap.IsReleased)
                {
                    continue;
                }

                p2pdma.Sysfs!.Allocate.Remove();
                pagemap.Kill();
                if (!pagemap.WaitForDrain(Remaining(timeout, started)))
                {
                    return Errno.ETIMEDOUT;
                }

                lock (_lock)
                {
                    Volatile.Write(ref _pagemaps, Array.FindAll(_pagemaps, existing => !ReferenceEquals(existing, pagemap)));
                    pagemap.MarkReleased();
                }
            }

            // The group goes with its allocate file, also when no range was ever added.
            p2pdma.Sysfs?.Allocate.Remove();
            lock (_lock)
            {
                _p2pdma.TryRemove(pdev, out _);
                p2pdma.MapTypes.Clear();
                p2pdma.Sysfs?.MarkRemoved();
                p2pdma.Released = true;
            }

            DisableDevice(pdev);
            DmaEventSource log = DmaEventSource.Log;
            if (log.IsEnabled())
            {
                log.ProviderTeardown(DmaEventSource.RequesterId(pdev), (long)(p2pdma.Pool?.SizeBytes ?? 0), (long)Stopwatch.GetElapsedTime(started).TotalNanoseconds);
            }

            return Errno.None;
        }
        finally
        {
            p2pdma.TeardownLock.Exit();
        }
    }

    /// <summary>Clears Memory Space Enable and Bus Master Enable: the BARs stop decoding and the function stops mastering.</summary>
    private static void DisableDevice(PciFunction pdev)
    {
        ushort command = pdev.Config.Read16(PciConfig.Command);
        pdev.Config.Write16(PciConfig.Command, (ushort)(command & ~(PciConfig.CommandMemory | PciConfig.CommandMaster)));
    }

    private static TimeSpan Remaining(TimeSpan timeout, long started)
    {
        if (timeout == Timeout.InfiniteTimeSpan)
        {
            return timeout;
        }

        TimeSpan left = timeout - Stopwatch.GetElapsedTime(started);
        return left > TimeSpan.Zero ? left : TimeSpan.Zero;
    }
}
