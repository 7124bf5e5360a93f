using System;
using System.Threading;
using P2pEmu.Emulator.Registers;

namespace P2pEmu.Emulator.Devices;

/// <summary>
/// A device's register BAR as the host reaches it: accesses below <c>unlockedFrom</c> run on the register block under
/// the device lock (serialized with the device's processing), accesses from there on (the MSI-X table and PBA, which
/// keep their own state safe, and must not send a pending message under the device lock) without it. After a locked
/// write whose register callbacks asked for work, the engine is kicked once the lock is released.
/// </summary>
internal sealed class LockedRegisterBar : IMmioHandler
{
    private readonly RegisterBlock _regs;
    private readonly Lock _lock;
    private readonly uint _unlockedFrom;
    private readonly bool _zeroAboveBlock;
    private readonly Func<bool> _takeKick;
    private readonly Action _kick;

    /// <param name="regs">The register block.</param>
    /// <param name="deviceLock">The device lock.</param>
    /// <param name="unlockedFrom">The first offset accessed without the lock (the MSI-X table).</param>
    /// <param name="zeroAboveBlock">
    /// The BAR is larger than the block: offsets past the block read 0 and ignore writes (reserved space) instead of
    /// the block's Unsupported Request all-ones.
    /// </param>
    /// <param name="takeKick">Under the lock, after a write: whether the write asked for work (and clears the request).</param>
    /// <param name="kick">Kicks the device's engine, outside the lock.</param>
    public LockedRegisterBar(RegisterBlock regs, Lock deviceLock, uint unlockedFrom, bool zeroAboveBlock, Func<bool> takeKick, Action kick)
    {
        _regs = regs;
        _lock = deviceLock;
        _unlockedFrom = unlockedFrom;
        _zeroAboveBlock = zeroAboveBlock;
        _takeKick = takeKick;
        _kick = kick;
    }

    public ulong Read(ulong offset, int sizeBytes)
    {
        if (offset >= _unlockedFrom)
        {
            return _zeroAboveBlock && offset >= _regs.SizeBytes ? 0 : _regs.Read(offset, sizeBytes);
        }

        lock (_lock)
        {
            return _regs.Read(offset, sizeBytes);
        }
    }

    public void Write(ulong offset, int sizeBytes, ulong value)
    {
        if (offset >= _unlockedFrom)
        {
            _regs.Write(offset, sizeBytes, value); // past the block a write is ignored either way
            return;
        }

        bool kick;
        lock (_lock)
        {
            _regs.Write(offset, sizeBytes, value);
            kick = _takeKick();
        }

        if (kick)
        {
            _kick();
        }
    }
}
