using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Threading;
using P2pEmu.Dma.Mapping;
using P2pEmu.Dma.P2pDma;
using P2pEmu.Emulator.Topology;

namespace P2pEmu.Dma.DmaBuf;

/// <summary>
/// The dma-buf framework of one machine (drivers/dma-buf/dma-buf.c and dma-buf-mapping.c): export, file
/// descriptors, static and dynamic attachments, pin, map and unmap, the notify that invalidates importers'
/// mappings, CPU mappings, and the phys-based mapping helper for MMIO exporters. Method names are Linux's in
/// PascalCase; errors are Linux errno values.
/// </summary>
/// <remarks>
/// <para>
/// The locking convention of spec §5.6 is enforced exactly: a call that needs the buffer's reservation lock and is
/// made without it returns ENOLCK and does nothing; a call that must not be made with the lock held (it takes the
/// lock, or calls into the exporter unlocked) returns EDEADLK and does nothing. Linux WARNs (or, for the second
/// kind, deadlocks); here each broken rule is also recorded in <see cref="Violations"/> and <see cref="KernelLog"/>.
/// Functions that return void in Linux return an <c>Errno</c> here so the caller can see the refusal.
/// </para>
/// <para>
/// <see cref="Profile"/> picks the kernel: v6.19 (<c>move_notify</c>, importer ops must have the callback) or
/// revoke-2026 (<c>invalidate_mappings</c>, optional for pinned importers; <see cref="DmaBufAttachRevocable"/>).
/// </para>
/// </remarks>
public sealed partial class DmaBufHost
{
    private readonly Lock _logLock = new();
    private readonly List<string> _log = new();
    private readonly List<DmaBufViolation> _violations = new();
    private readonly ConcurrentDictionary<DmaBuf, bool> _buffers = new();
    private readonly ConcurrentDictionary<SgTable, PhysVecMapping> _physVecTables = new();

    /// <summary>The framework over a machine's DMA API, following the kernel profile of its topology unless told otherwise.</summary>
    public DmaBufHost(DmaApi dma, KernelProfile? profile = null)
    {
        ArgumentNullException.ThrowIfNull(dma);
        Dma = dma;
        Profile = profile ?? dma.Fabric.Platform.Kernel;
    }

    /// <summary>The DMA API the phys-based helper maps through.</summary>
    public DmaApi Dma { get; }

    /// <summary>The P2PDMA core that decides map types.</summary>
    public P2pDmaHost P2p => Dma.P2p;

    public KernelProfile Profile { get; }

    /// <summary>
    /// How long a lock or fence wait may block before it is reported as a deadlock (Linux's hung-task warning) and
    /// fails with EDEADLK or ETIMEDOUT instead of hanging. Infinite waits forever, as Linux does.
    /// </summary>
    public TimeSpan LockTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Linux's name for the notify at this profile: <c>dma_buf_move_notify</c> or <c>dma_buf_invalidate_mappings</c>.</summary>
    public string NotifyName => Profile == KernelProfile.Linux619 ? "dma_buf_move_notify" : "dma_buf_invalidate_mappings";

    /// <summary>Buffers exported and not yet released (<c>dmabuf_list</c>).</summary>
    public int LiveBuffers => _buffers.Count;

    /// <summary>Attachments of the live buffers.</summary>
    public int LiveAttachments
    {
        get
        {
            int total = 0;
            foreach (DmaBuf dmabuf in _buffers.Keys)
            {
                total += dmabuf.AttachmentArray.Length;
            }

            return total;
        }
    }

    /// <summary>What the framework printed: warnings, each broken rule.</summary>
    public IReadOnlyList<string> KernelLog
    {
        get
        {
            lock (_logLock)
            {
                return _log.ToArray();
            }
        }
    }

    /// <summary>Every broken rule, in order.</summary>
    public IReadOnlyList<DmaBufViolation> Violations
    {
        get
        {
            lock (_logLock)
            {
                return _violations.ToArray();
            }
        }
    }

    /// <summary>Records a broken rule, as Linux's WARN or lockdep report would show it.</summary>
    public void Violate(DmaBufViolationKind kind, string function, string message)
    {
        ArgumentException.ThrowIfNullOrEmpty(function);
        var violation = new DmaBufViolation(kind, function, message);
        lock (_logLock)
        {
            _violations.Add(violation);
            _log.Add($"WARNING: {function}: {message}");
        }
    }

    /// <summary>Misuse check: the buffer was exported by this framework.</summary>
    /// <exception cref="ArgumentException">It belongs to another machine's framework.</exception>
    private void Own(DmaBuf dmabuf)
    {
        ArgumentNullException.ThrowIfNull(dmabuf);
        if (!ReferenceEquals(dmabuf.Host, this))
        {
            throw new ArgumentException($"{dmabuf} was exported by another dma-buf framework.", nameof(dmabuf));
        }
    }

    /// <summary>Misuse check: a live attachment of a buffer of this framework.</summary>
    /// <exception cref="InvalidOperationException">The attachment was detached (a use after free in Linux).</exception>
    private void Own(DmaBufAttachment attach)
    {
        ArgumentNullException.ThrowIfNull(attach);
        Own(attach.DmaBuf);
        attach.ThrowIfDetached();
    }

    /// <summary>Appends one line to <see cref="KernelLog"/>.</summary>
    public void Log(string line)
    {
        ArgumentNullException.ThrowIfNull(line);
        lock (_logLock)
        {
            _log.Add(line);
        }
    }
}
