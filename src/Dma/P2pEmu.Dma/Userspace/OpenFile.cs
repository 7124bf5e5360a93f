using System;
using System.Threading;

namespace P2pEmu.Dma.Userspace;

/// <summary>
/// Linux <c>struct file</c>: an open file with its reference count (<c>f_count</c>), flags and private data.
/// File descriptors and kernel users each hold references; the last <see cref="Put"/> (<c>fput</c>) calls the
/// file's <see cref="IFileOperations.Release"/>.
/// </summary>
/// <remarks>
/// Deviation: Linux defers the release of a last <c>fput</c> to task work (run when the task returns to user
/// space), so a kernel path may drop a reference while holding locks the release takes. Here the release runs
/// inside <see cref="Put"/>; kernel code that drops references under such locks drops them after unlocking.
/// </remarks>
public sealed class OpenFile
{
    private long _count = 1;

    /// <summary>Opens a file with one reference, which the creator owns.</summary>
    public OpenFile(IFileOperations ops, object? privateData, int flags = 0)
    {
        ArgumentNullException.ThrowIfNull(ops);
        Ops = ops;
        PrivateData = privateData;
        Flags = flags;
    }

    public IFileOperations Ops { get; }

    /// <summary><c>private_data</c>: what the file stands for (a dma-buf, a device).</summary>
    public object? PrivateData { get; }

    /// <summary><c>f_flags</c> as given at open.</summary>
    public int Flags { get; }

    /// <summary><c>file_count</c>: the references held.</summary>
    public long Count => Interlocked.Read(ref _count);

    /// <summary>True once the last reference was dropped and the file released.</summary>
    public bool IsReleased => Count == 0;

    /// <summary><c>get_file</c>: takes another reference on a file the caller already holds one on.</summary>
    /// <exception cref="InvalidOperationException">The file was already released.</exception>
    public void Get()
    {
        if (Interlocked.Increment(ref _count) <= 1)
        {
            Interlocked.Decrement(ref _count);
            throw new InvalidOperationException("get_file on a released file.");
        }
    }

    /// <summary>
    /// <c>get_file_active</c>: takes a reference unless the count already reached zero (a release in progress).
    /// </summary>
    public bool TryGetActive()
    {
        long count = Interlocked.Read(ref _count);
        while (count > 0)
        {
            long seen = Interlocked.CompareExchange(ref _count, count + 1, count);
            if (seen == count)
            {
                return true;
            }

            count = seen;
        }

        return false;
    }

    /// <summary><c>fput</c>: drops one reference; the last one releases the file.</summary>
    /// <exception cref="InvalidOperationException">More references were dropped than taken.</exception>
    public void Put()
    {
        long count = Interlocked.Decrement(ref _count);
        if (count < 0)
        {
            Interlocked.Increment(ref _count);
            throw new InvalidOperationException("fput on a released file.");
        }

        if (count == 0)
        {
            Ops.Release(this);
        }
    }

    public override string ToString() => $"file {PrivateData} (count {Count})";
}
