using System;
using System.Collections.Generic;
using System.Threading;

namespace P2pEmu.Iommu.Hardware;

/// <summary>
/// An IOMMU's fault log: every failed translation is recorded here before the transaction fails. The log keeps
/// the most recent <see cref="Capacity"/> records in a ring; <see cref="TotalCount"/> counts every fault ever
/// recorded, so a test can tell how many were overwritten.
/// </summary>
/// <remarks>
/// Deviation from VT-d, whose fault-recording registers keep the oldest faults and set an overflow bit: the
/// newest are kept, which is what someone debugging a DMA wants to see. Thread safety: recording and reading
/// may happen on any thread; recording takes a short lock and allocates nothing.
/// </remarks>
public sealed class IommuFaultLog
{
    private readonly IommuFault[] _ring;
    private readonly Lock _lock = new();
    private long _total;
    private long _clearedUpTo;

    /// <summary>Creates a log that keeps the last <paramref name="capacity"/> records.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="capacity"/> is less than 1.</exception>
    public IommuFaultLog(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _ring = new IommuFault[capacity];
    }

    /// <summary>How many records the log keeps.</summary>
    public int Capacity => _ring.Length;

    /// <summary>Faults recorded since the IOMMU was created (never reset).</summary>
    public long TotalCount => Volatile.Read(ref _total);

    /// <summary>Records currently retained (at most <see cref="Capacity"/>).</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return (int)Math.Min(_total - _clearedUpTo, _ring.Length);
            }
        }
    }

    /// <summary>The retained records, oldest first.</summary>
    public IReadOnlyList<IommuFault> Snapshot()
    {
        lock (_lock)
        {
            int count = (int)Math.Min(_total - _clearedUpTo, _ring.Length);
            var records = new IommuFault[count];
            for (int i = 0; i < count; i++)
            {
                long sequence = _total - count + 1 + i;
                records[i] = _ring[(int)((sequence - 1) % _ring.Length)];
            }

            return records;
        }
    }

    /// <summary>The most recent retained record.</summary>
    public bool TryGetLast(out IommuFault fault)
    {
        lock (_lock)
        {
            if (_total == _clearedUpTo)
            {
                fault = default;
                return false;
            }

            fault = _ring[(int)((_total - 1) % _ring.Length)];
            return true;
        }
    }

    /// <summary>Drops the retained records (software clearing the fault registers); <see cref="TotalCount"/> is kept.</summary>
    public void Clear()
    {
        lock (_lock)
        {
            _clearedUpTo = _total;
        }
    }

    /// <summary>Appends a record, numbering it; returns the numbered record.</summary>
    internal IommuFault Record(in IommuFault fault)
    {
        lock (_lock)
        {
            long sequence = _total + 1;
            IommuFault numbered = fault with { Sequence = sequence };
            _ring[(int)((sequence - 1) % _ring.Length)] = numbered;
            Volatile.Write(ref _total, sequence);
            return numbered;
        }
    }
}
