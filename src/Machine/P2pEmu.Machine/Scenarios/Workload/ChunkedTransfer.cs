using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using P2pEmu.Emulator.Host;

namespace P2pEmu.Machine.Scenarios.Workload;

/// <summary>
/// One running transfer of a scenario: set up (buffers, mappings, registrations), moved a run of chunks at a time
/// between fault points, and checked at the end against the seeded source and the target's contents before it began.
/// Each chunk records how many of its bytes the path reported delivered; a delivered byte must equal the source's,
/// and every other byte of the target must be what it was.
/// </summary>
internal abstract class ChunkedTransfer : IDisposable
{
    private readonly long[] _delivered;
    private readonly string?[] _failures;
    private long _ticks;
    private long _copied;

    protected ChunkedTransfer(Machine machine, WorkloadTransfer spec, int seed)
    {
        Machine = machine;
        Spec = spec;
        Data = new byte[spec.Size];
        // The same scenario moves the same bytes on every run: the seed and a stable hash of the transfer's name.
        ulong name = System.IO.Hashing.XxHash3.HashToUInt64(System.Text.Encoding.UTF8.GetBytes(spec.Name));
        new Random(unchecked((int)(name ^ (ulong)seed))).NextBytes(Data);
        _delivered = new long[spec.Chunks];
        _failures = new string?[spec.Chunks];
    }

    public Machine Machine { get; }

    public WorkloadTransfer Spec { get; }

    /// <summary>What the transfer moves: seeded random bytes, independent of the emulator.</summary>
    public byte[] Data { get; }

    /// <summary>The map types the path's hops met, comma-separated (NONE for host memory), or "-" before setup.</summary>
    public string MapType { get; protected set; } = "-";

    /// <summary>Why the kernel refused the path at setup (its verdict in words), or null.</summary>
    public string? Explanation { get; protected set; }

    /// <summary>Set when the setup failed: no chunk runs, and the error is reported.</summary>
    public string? SetupError { get; protected set; }

    /// <summary>Errors that are not a chunk's (a late check, a teardown).</summary>
    public List<string> Errors { get; } = new();

    /// <summary>The index after the last chunk that a fault forbids to land in the target (remove-provider, revoke-dmabuf): chunks from it on must fail.</summary>
    public int MustFailFrom { get; set; } = int.MaxValue;

    /// <summary>Builds buffers and mappings; sets <see cref="SetupError"/> (and <see cref="MapType"/>) instead of throwing.</summary>
    public abstract void Setup();

    /// <summary>Moves chunks [<paramref name="first"/>, <paramref name="end"/>), timed and counted.</summary>
    public void Run(int first, int end)
    {
        if (SetupError is not null || first >= end)
        {
            return;
        }

        long copied = Machine.Fabric.BytesCopied;
        long start = Stopwatch.GetTimestamp();
        Move(first, end);
        _ticks += Stopwatch.GetTimestamp() - start;
        _copied += Machine.Fabric.BytesCopied - copied;
    }

    /// <summary>The transfer's report: delivery counted per chunk, then the target compared byte for byte.</summary>
    public PathReport Report()
    {
        var errors = new List<string>();
        if (SetupError is not null)
        {
            errors.Add(SetupError);
        }

        errors.AddRange(Describe());
        long delivered = _delivered.Sum();
        bool ok = SetupError is null || Explanation is not null;
        for (int i = Math.Min(MustFailFrom, _delivered.Length); i < _delivered.Length; i++)
        {
            if (_delivered[i] > 0)
            {
                errors.Add($"chunk {i} landed {_delivered[i]} bytes after the fault that must stop it");
                ok = false;
            }
        }

        if (SetupError is null)
        {
            ok &= CheckTarget(errors);
        }

        errors.AddRange(Errors);
        ok &= Errors.Count == 0;
        double seconds = Stopwatch.Frequency > 0 ? (double)_ticks / Stopwatch.Frequency : 0;
        string name = $"{Spec.Name}: {Spec.From} -> {Spec.To} ({ScenarioFile.KindText(Spec.Kind)})";
        return new PathReport(name, MapType, delivered, seconds, seconds > 0 ? delivered / seconds / 1e9 : 0, delivered > 0 ? (double)_copied / delivered : 0, ok, errors)
        {
            Explanation = Explanation,
        };
    }

    public abstract void Dispose();

    /// <summary>Moves chunks [<paramref name="first"/>, <paramref name="end"/>), calling <see cref="Delivered"/> or <see cref="Failed"/> for each.</summary>
    protected abstract void Move(int first, int end);

    /// <summary>The target's bytes now, [0, Size) of the transfer, read around the path under test.</summary>
    protected abstract byte[] TargetNow();

    /// <summary>The target's bytes before the first chunk, taken by <see cref="Setup"/>.</summary>
    protected byte[] TargetBefore { get; set; } = [];

    protected ulong ChunkOffset(int index) => (ulong)index * Spec.Chunk;

    /// <summary>Writes <see cref="Data"/> to <paramref name="disk"/> at the transfer's offset through host pages, so a read has something to deliver.</summary>
    protected bool SeedDrive(P2pEmu.Dma.Block.BlockDevice disk)
    {
        using HostBuffer? pages = HostBuffer.Allocate(Machine, Spec.Size);
        if (pages is null)
        {
            SetupError = "-ENOMEM: no host pages to seed the drive";
            return false;
        }

        Data.CopyTo(pages.Writable);
        Result<long> written = disk.WriteDirect((long)Spec.Offset, pages.Pages, 0, Spec.Size);
        SetupError = written.IsSuccess ? null : $"seeding {disk.Name}: -{written.Error}";
        return written.IsSuccess;
    }

    /// <summary>[offset, offset + size) of <paramref name="disk"/>, read back through host pages (null, with an error noted, when it cannot be).</summary>
    protected byte[] ReadDrive(P2pEmu.Dma.Block.BlockDevice disk)
    {
        using HostBuffer? pages = HostBuffer.Allocate(Machine, Spec.Size);
        if (pages is null || !disk.ReadDirect((long)Spec.Offset, pages.Pages, 0, Spec.Size).IsSuccess)
        {
            Errors.Add($"{disk.Name} could not be read back");
            return [];
        }

        return pages.Writable.ToArray();
    }

    protected void Delivered(int index, long bytes) => _delivered[index] = bytes;

    protected void Failed(int index, long bytes, string why)
    {
        _delivered[index] = bytes;
        _failures[index] = why;
    }

    /// <summary>Chunk failures, runs of the same failure written once ("chunks 4-15: -EFAULT").</summary>
    private IEnumerable<string> Describe()
    {
        for (int i = 0; i < _failures.Length;)
        {
            if (_failures[i] is not string why)
            {
                i++;
                continue;
            }

            int j = i;
            while (j + 1 < _failures.Length && _failures[j + 1] == why)
            {
                j++;
            }

            yield return j == i
                ? string.Create(CultureInfo.InvariantCulture, $"chunk {i}: {why}")
                : string.Create(CultureInfo.InvariantCulture, $"chunks {i}-{j}: {why}");
            i = j + 1;
        }
    }

    private bool CheckTarget(List<string> errors)
    {
        string? mismatch = DeliveryCheck.FirstMismatch(Data, TargetBefore, TargetNow(), _delivered, Spec.Chunk);
        if (mismatch is not null)
        {
            errors.Add($"{Spec.To} holds other bytes: {mismatch}");
        }

        return mismatch is null;
    }
}
