using System;
using System.Diagnostics;
using System.IO;
using System.IO.MemoryMappedFiles;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Threading;

namespace P2pEmu.Emulator.Memory;

/// <summary>
/// A contiguous range of emulated memory (a memory BAR, a CMB, host RAM) backed by a
/// <see cref="MemoryMappedFile"/>: anonymous (memfd-backed on Linux) or a file, e.g. under <c>/dev/shm</c>,
/// that another process or a hex dump can inspect.
/// </summary>
/// <remarks>
/// <para>
/// The view is mapped once and its base address is acquired once (STYLE R3); every accessor is
/// bounds-checked against <see cref="SizeBytes"/> and hands out spans or refs, never a pointer.
/// </para>
/// <para>
/// Memory is committed lazily: creating a region only reserves address space, and the OS commits a page
/// when it is first touched, so a 64 GiB BAR costs nothing until it is used. First touch costs about
/// 2.3 µs per 4 KiB page (PERF-NOTES §0); <see cref="Prefault"/> removes that from a timed path.
/// </para>
/// <para>
/// Thread safety: accessors may be called concurrently; ordering between threads is the caller's
/// contract (see <c>QueueIndices</c>). <see cref="Dispose"/> must not race with accessors or with a span
/// still in use: dispose only after the fabric has unmapped the region and in-flight DMA drained (R10).
/// A span or ref from this region must not outlive the call that obtained it (R2).
/// </para>
/// <para>
/// There is deliberately no finalizer: a region that is never disposed leaks its mapping until process
/// exit, but a span taken from an unreachable region can never point at unmapped memory.
/// </para>
/// </remarks>
public sealed unsafe partial class BarRegion : IDisposable
{
    /// <summary>Largest single memmove <see cref="Copy"/> issues; longer copies are split.</summary>
    internal const int CopyChunkBytes = 1 << 30;

    // Linux uapi asm-generic/mman-common.h; kernels before 5.14 reject it with EINVAL.
    private const int MadvPopulateWrite = 23;
    private const int ErrnoInval = 22;

    private static int s_prefaultUnsupported;

    private readonly MemoryMappedFile _file;
    private readonly MemoryMappedViewAccessor _view;

    // Base address of the view; zero once disposed. An nint so Interlocked can release it exactly once.
    private nint _base;

    private BarRegion(MemoryMappedFile file, ulong sizeBytes, string? backingPath)
    {
        MemoryMappedViewAccessor view = file.CreateViewAccessor(0, (long)sizeBytes, MemoryMappedFileAccess.ReadWrite);
        byte* pointer = null;
        try
        {
            // AddRefs the view handle; balanced by ReleasePointer in Dispose.
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
        }
        catch
        {
            view.Dispose();
            throw;
        }

        _file = file;
        _view = view;
        SizeBytes = sizeBytes;
        BackingPath = backingPath;

        // The OS may round the start of the view down to a page; PointerOffset is the distance back up.
        _base = (nint)(pointer + view.PointerOffset);
    }

    /// <summary>Size of the region in bytes.</summary>
    public ulong SizeBytes { get; }

    /// <summary>Full path of the backing file, or <see langword="null"/> for an anonymous region.</summary>
    public string? BackingPath { get; }

    /// <summary>
    /// Creates a region backed by anonymous shared memory (a memfd on Linux). Nothing is committed until touched,
    /// and the bytes read as zero.
    /// </summary>
    /// <param name="sizeBytes">Size of the region; greater than zero.</param>
    /// <returns>The new region; the caller owns it and must dispose it.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="sizeBytes"/> is zero or above <see cref="long.MaxValue"/>.</exception>
    /// <exception cref="IOException">The OS could not create the mapping.</exception>
    public static BarRegion CreateAnonymous(ulong sizeBytes)
    {
        ValidateSize(sizeBytes);

        // A null map name: named maps throw PlatformNotSupportedException on Linux (PERF-NOTES §6).
        MemoryMappedFile? file = MemoryMappedFile.CreateNew(null, (long)sizeBytes, MemoryMappedFileAccess.ReadWrite);
        try
        {
            BarRegion region = new(file, sizeBytes, backingPath: null);
            file = null;
            return region;
        }
        finally
        {
            file?.Dispose();
        }
    }

    /// <summary>
    /// Creates a region backed by a file, creating the file if needed. A shorter file is extended (sparsely)
    /// to <paramref name="sizeBytes"/>; a longer one is left as is and only its first
    /// <paramref name="sizeBytes"/> bytes are mapped. Writes through the region are visible to every other
    /// mapping of the file, in this or another process.
    /// </summary>
    /// <param name="path">The backing file; a path under <c>/dev/shm</c> keeps the bytes in RAM.</param>
    /// <param name="sizeBytes">Size of the region; greater than zero.</param>
    /// <returns>The new region; the caller owns it and must dispose it. The file is not deleted on dispose.</returns>
    /// <exception cref="ArgumentException"><paramref name="path"/> is null or empty.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="sizeBytes"/> is zero or above <see cref="long.MaxValue"/>.</exception>
    /// <exception cref="IOException">The file could not be opened, extended or mapped.</exception>
    /// <exception cref="UnauthorizedAccessException">The file is not readable and writable.</exception>
    public static BarRegion CreateFile(string path, ulong sizeBytes)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ValidateSize(sizeBytes);

        string fullPath = Path.GetFullPath(path);

        // FileShare.ReadWrite takes a shared (not exclusive) advisory lock on Unix, so several regions and
        // processes can map the same file at once.
        FileStream? stream = new(fullPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
        MemoryMappedFile? file = null;
        try
        {
            if ((ulong)stream.Length < sizeBytes)
            {
                stream.SetLength((long)sizeBytes);
            }

            // Capacity 0 means "the file's length", which is at least sizeBytes now; a capacity below the length
            // of a longer existing file would throw.
            file = MemoryMappedFile.CreateFromFile(
                stream, mapName: null, capacity: 0, MemoryMappedFileAccess.ReadWrite, HandleInheritability.None, leaveOpen: false);
            stream = null;

            BarRegion region = new(file, sizeBytes, fullPath);
            file = null;
            return region;
        }
        finally
        {
            file?.Dispose();
            stream?.Dispose();
        }
    }

    /// <summary>Returns a bounds-checked span over <paramref name="length"/> bytes at <paramref name="offset"/>.</summary>
    /// <remarks>The span must not outlive the call that obtained it and must not be stored in a field.</remarks>
    /// <exception cref="ArgumentOutOfRangeException">
    /// <paramref name="length"/> is negative, or the range wraps or ends past <see cref="SizeBytes"/>.
    /// </exception>
    /// <exception cref="ObjectDisposedException">The region was disposed.</exception>
    public Span<byte> GetSpan(ulong offset, int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        return new Span<byte>((void*)Resolve(offset, (ulong)length), length);
    }

    /// <summary>Returns a bounds-checked reference to a <typeparamref name="T"/> at <paramref name="offset"/>.</summary>
    /// <remarks>
    /// The reference may be unaligned; use a naturally aligned offset for values another thread reads with
    /// <see cref="Volatile"/> or <see cref="Interlocked"/>.
    /// </remarks>
    /// <exception cref="ArgumentOutOfRangeException">The value would wrap or end past <see cref="SizeBytes"/>.</exception>
    /// <exception cref="ObjectDisposedException">The region was disposed.</exception>
    public ref T GetRef<T>(ulong offset)
        where T : unmanaged =>
        ref Unsafe.AsRef<T>((void*)Resolve(offset, (ulong)sizeof(T)));

    /// <summary>Reads a <typeparamref name="T"/> (machine byte order, little-endian) at any alignment.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value would wrap or end past <see cref="SizeBytes"/>.</exception>
    /// <exception cref="ObjectDisposedException">The region was disposed.</exception>
    public T Read<T>(ulong offset)
        where T : unmanaged =>
        Unsafe.ReadUnaligned<T>((void*)Resolve(offset, (ulong)sizeof(T)));

    /// <summary>Writes a <typeparamref name="T"/> (machine byte order, little-endian) at any alignment.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value would wrap or end past <see cref="SizeBytes"/>.</exception>
    /// <exception cref="ObjectDisposedException">The region was disposed.</exception>
    public void Write<T>(ulong offset, T value)
        where T : unmanaged =>
        Unsafe.WriteUnaligned((void*)Resolve(offset, (ulong)sizeof(T)), value);

    /// <summary>
    /// Copies <paramref name="length"/> bytes from one region to another (or within one region) with exactly
    /// one memmove per byte and no intermediate buffer. Overlapping ranges of the same region are copied as
    /// if through a temporary buffer, like <c>memmove</c>.
    /// </summary>
    /// <remarks>
    /// Both ranges are validated before any byte is written, so a failing call leaves the destination
    /// untouched. Copies longer than 1 GiB are issued as several memmoves. Two regions mapping the same file
    /// alias each other at different addresses; overlap between them is not detected.
    /// </remarks>
    /// <exception cref="ArgumentNullException"><paramref name="source"/> or <paramref name="destination"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">Either range wraps or ends past its region.</exception>
    /// <exception cref="ObjectDisposedException">Either region was disposed.</exception>
    public static void Copy(BarRegion source, ulong sourceOffset, BarRegion destination, ulong destinationOffset, ulong length) =>
        CopyChunked(source, sourceOffset, destination, destinationOffset, length, CopyChunkBytes);

    /// <summary>Sets <paramref name="length"/> bytes at <paramref name="offset"/> to <paramref name="value"/>.</summary>
    /// <remarks>Filling touches, and therefore commits, every page of the range.</remarks>
    /// <exception cref="ArgumentOutOfRangeException">The range wraps or ends past <see cref="SizeBytes"/>.</exception>
    /// <exception cref="ObjectDisposedException">The region was disposed.</exception>
    public void Fill(ulong offset, ulong length, byte value)
    {
        nint start = Resolve(offset, length);
        if (value == 0)
        {
            NativeMemory.Clear((void*)start, (nuint)length);
        }
        else
        {
            NativeMemory.Fill((void*)start, (nuint)length, value);
        }
    }

    /// <summary>
    /// Commits the pages covering a range for writing ahead of use, so a timed path does not pay the
    /// first-touch cost. Uses <c>madvise(MADV_POPULATE_WRITE)</c> on Linux 5.14+; elsewhere, or when the
    /// kernel refuses, this is a no-op. Contents are unchanged.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The range wraps or ends past <see cref="SizeBytes"/>.</exception>
    /// <exception cref="ObjectDisposedException">The region was disposed.</exception>
    public void Prefault(ulong offset, ulong length)
    {
        nint start = Resolve(offset, length);
        if (length == 0 || !OperatingSystem.IsLinux() || Volatile.Read(ref s_prefaultUnsupported) != 0)
        {
            return;
        }

        // madvise needs a page-aligned start. Rounding the end up stays inside the mapping: the view is
        // page-granular and the backing object is at least SizeBytes long.
        nuint pageMask = (nuint)Environment.SystemPageSize - 1;
        nuint first = unchecked((nuint)start) & ~pageMask;
        nuint last = (unchecked((nuint)start) + (nuint)length + pageMask) & ~pageMask;
        try
        {
            if (MAdvise(first, last - first, MadvPopulateWrite) != 0 && Marshal.GetLastPInvokeError() == ErrnoInval)
            {
                Volatile.Write(ref s_prefaultUnsupported, 1);
            }
        }
        catch (DllNotFoundException)
        {
            Volatile.Write(ref s_prefaultUnsupported, 1);
        }
        catch (EntryPointNotFoundException)
        {
            Volatile.Write(ref s_prefaultUnsupported, 1);
        }
    }

    /// <summary>
    /// Unmaps the region. Idempotent: the mapping is released exactly once however many times, and from
    /// however many threads, this is called. The backing file, if any, is kept.
    /// </summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _base, 0) == 0)
        {
            return;
        }

        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
        _file.Dispose();
    }

    /// <summary>Span over a range the caller has already validated against <see cref="SizeBytes"/>.</summary>
    internal Span<byte> GetSpanUnchecked(ulong offset, int length)
    {
        Debug.Assert(_base != 0, "Region disposed.");
        Debug.Assert(length >= 0 && offset <= SizeBytes && (ulong)length <= SizeBytes - offset, "Range not validated.");
        return new Span<byte>((void*)unchecked(_base + (nint)offset), length);
    }

    /// <summary>Reference to a value at an offset the caller has already validated against <see cref="SizeBytes"/>.</summary>
    internal ref T GetRefUnchecked<T>(ulong offset)
        where T : unmanaged
    {
        Debug.Assert(_base != 0, "Region disposed.");
        Debug.Assert(offset <= SizeBytes && (ulong)sizeof(T) <= SizeBytes - offset, "Range not validated.");
        return ref Unsafe.AsRef<T>((void*)unchecked(_base + (nint)offset));
    }

    /// <summary><see cref="Copy"/> with an explicit largest memmove, so tests can exercise the chunking cheaply.</summary>
    internal static void CopyChunked(
        BarRegion source, ulong sourceOffset, BarRegion destination, ulong destinationOffset, ulong length, int chunkBytes)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(destination);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(chunkBytes);

        // Validate both ranges before the first byte moves, so a bad destination never leaves a partial copy.
        nint from = source.Resolve(sourceOffset, length);
        nint to = destination.Resolve(destinationOffset, length);
        if (length == 0 || from == to)
        {
            return;
        }

        ulong chunk = (ulong)chunkBytes;

        // Each memmove handles overlap within its chunk. Across chunks, when the destination starts inside the
        // source range a forward walk would overwrite source bytes not yet copied, so walk backwards then.
        // Deliberate wrap: when to < from the difference wraps to a huge value and the walk stays forward.
        if (unchecked((nuint)to - (nuint)from) < length)
        {
            ulong remaining = length;
            while (remaining != 0)
            {
                ulong count = Math.Min(chunk, remaining);
                remaining -= count;
                Buffer.MemoryCopy((void*)(from + (nint)remaining), (void*)(to + (nint)remaining), count, count);
            }
        }
        else
        {
            for (ulong done = 0; done < length;)
            {
                ulong count = Math.Min(chunk, length - done);
                Buffer.MemoryCopy((void*)(from + (nint)done), (void*)(to + (nint)done), count, count);
                done += count;
            }
        }
    }

    private static void ValidateSize(ulong sizeBytes)
    {
        if (!BitConverter.IsLittleEndian)
        {
            ThrowHelper.ThrowNotLittleEndian();
        }

        ArgumentOutOfRangeException.ThrowIfZero(sizeBytes);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(sizeBytes, (ulong)long.MaxValue);
    }

    [LibraryImport("libc", EntryPoint = "madvise", SetLastError = true)]
    private static partial int MAdvise(nuint address, nuint length, int advice);

    /// <summary>The one bounds and lifetime check: returns the address of a validated range.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private nint Resolve(ulong offset, ulong length)
    {
        nint regionBase = _base;
        ObjectDisposedException.ThrowIf(regionBase == 0, this);

        // Deliberate wrap: an offset + length that overflows is caught by end < offset.
        ulong end = unchecked(offset + length);
        if (end < offset || end > SizeBytes)
        {
            ThrowHelper.ThrowRangeOutsideRegion(offset, length, SizeBytes);
        }

        return unchecked(regionBase + (nint)offset);
    }
}
