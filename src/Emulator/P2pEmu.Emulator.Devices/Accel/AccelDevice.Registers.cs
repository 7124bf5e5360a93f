using System.Diagnostics.CodeAnalysis;
using System.Numerics;
using P2pEmu.Emulator.Registers;

namespace P2pEmu.Emulator.Devices.Accel;

/// <content>The BAR0 register table, and the CTRL state machine (enable, disable, reset).</content>
public sealed partial class AccelDevice
{
    private const uint CtrlEn = 1u << 0;
    private const uint CtrlRst = 1u << 1;

    private Register _ctrl;
    private RegisterField _rdy;
    private RegisterField _halt;
    private RegisterField _fatal;
    private Register _errCode;
    private Register _errIndex;
    private Register64 _errAddr;
    private Register64 _ringBase;
    private Register _ringSize;
    private Register _ringHead;
    private Register _ringTail;
    private RegisterField _intDone;
    private RegisterField _intErr;
    private Register _completed;

    /// <summary>Ring base and size latched when EN was set (engine state, under the device lock).</summary>
    private ulong _activeRingBase;
    private uint _activeRingEntries;

    /// <summary>Bumped by every disable and reset, so the engine notices one made by its own DMA into BAR0.</summary>
    private long _generation;

    /// <summary>STATUS.RDY: the engine is enabled and processes the ring.</summary>
    public bool IsReady => _rdy.IsSet;

    /// <summary>STATUS.HALT: the engine stopped at a failed descriptor (or a fatal error) and waits for CTRL.RST.</summary>
    public bool IsHalted => _halt.IsSet;

    /// <summary>STATUS.FATAL: a descriptor fetch or status write-back failed, or EN was set with a bad ring.</summary>
    public bool IsFatal => _fatal.IsSet;

    /// <summary>ERR_CODE: the first error since reset.</summary>
    public AccelErrorCode ErrorCode => (AccelErrorCode)_errCode.Value;

    /// <summary>RING_HEAD: the index of the next descriptor the engine processes (the failed one while halted).</summary>
    public uint RingHead => _ringHead.Value;

    /// <summary>COMPLETED: descriptors completed successfully since reset.</summary>
    public uint CompletedCount => _completed.Value;

    /// <summary>Tail doorbell writes ignored because the engine was not ready or the index was outside the ring.</summary>
    public long IgnoredDoorbellWriteCount { get; private set; }

    /// <summary>The CAP register's value: log2 of <see cref="MaxRingEntries"/> in bits 4:0, MSI-X vectors in bits 15:8.</summary>
    public static uint Capabilities => (uint)BitOperations.Log2(MaxRingEntries) | ((uint)InterruptVectors << 8);

    [MemberNotNull(nameof(_ctrl), nameof(_rdy), nameof(_halt), nameof(_fatal), nameof(_errCode), nameof(_errIndex), nameof(_errAddr),
        nameof(_ringBase), nameof(_ringSize), nameof(_ringHead), nameof(_ringTail), nameof(_intDone), nameof(_intErr), nameof(_completed))]
    private void DefineRegisters()
    {
        _regs.Define(AccelRegister.Id, IdValue).WithField(0, 32, FieldMode.Read);
        _regs.Define(AccelRegister.Version, VersionValue).WithField(0, 32, FieldMode.Read);
        _regs.Define(AccelRegister.Cap, Capabilities).WithField(0, 32, FieldMode.Read);
        _regs.Define64(AccelRegister.MemSize, MemoryBytes).WithField(0, 64, FieldMode.Read);

        _ctrl = _regs.Define(AccelRegister.Ctrl)
            .WithFlag(0, FieldMode.ReadWrite, "EN")
            .WithFlag(1, FieldMode.Write, "RST")
            .WithReservedBits(2, 30)
            .OnWrite(OnCtrlWrite);
        _regs.Define(AccelRegister.Status)
            .WithFlag(0, FieldMode.Read, out _rdy, "RDY")
            .WithFlag(1, FieldMode.Read, out _halt, "HALT")
            .WithFlag(2, FieldMode.Read, out _fatal, "FATAL")
            .WithReservedBits(3, 29);
        _errCode = _regs.Define(AccelRegister.ErrCode).WithField(0, 32, FieldMode.Read);
        _errIndex = _regs.Define(AccelRegister.ErrIndex).WithField(0, 32, FieldMode.Read);
        _errAddr = _regs.Define64(AccelRegister.ErrAddr).WithField(0, 64, FieldMode.Read);

        // The ring registers are the host's only while the engine is off; a write while EN is set is ignored.
        _ringBase = _regs.Define64(AccelRegister.RingBase).WithReservedBits(0, 5).WithField(5, 59, FieldMode.ReadWrite, "BASE");
        _ringBase.OnWrite((old, _) => IgnoreWhileEnabled(() => _ringBase.Value = old));
        _ringSize = _regs.Define(AccelRegister.RingSize).WithField(0, 13, FieldMode.ReadWrite, "SIZE").WithReservedBits(13, 19);
        _ringSize.OnWrite((old, _) => IgnoreWhileEnabled(() => _ringSize.Value = old));
        _ringHead = _regs.Define(AccelRegister.RingHead).WithField(0, 13, FieldMode.Read).WithReservedBits(13, 19);
        _ringTail = _regs.Define(AccelRegister.RingTail).WithField(0, 13, FieldMode.ReadWrite, "TAIL").WithReservedBits(13, 19)
            .OnWrite(OnTailWrite);

        _regs.Define(AccelRegister.IntStatus)
            .WithFlag(0, FieldMode.Read | FieldMode.WriteOneToClear, out _intDone, "DONE")
            .WithFlag(1, FieldMode.Read | FieldMode.WriteOneToClear, out _intErr, "ERR")
            .WithReservedBits(2, 30);
        _completed = _regs.Define(AccelRegister.Completed).WithField(0, 32, FieldMode.Read);
    }

    private void IgnoreWhileEnabled(System.Action restore)
    {
        if ((_ctrl.Value & CtrlEn) != 0)
        {
            restore();
        }
    }

    /// <summary>A CTRL write (under the device lock): RST wins over EN; EN 0 → 1 enables, 1 → 0 disables.</summary>
    private void OnCtrlWrite(uint old, uint now)
    {
        if ((now & CtrlRst) != 0)
        {
            ResetEngine();
            return;
        }

        bool wasEnabled = (old & CtrlEn) != 0;
        bool enabled = (now & CtrlEn) != 0;
        if (wasEnabled && !enabled)
        {
            _rdy.IsSet = false;
            _generation++;
        }
        else if (!wasEnabled && enabled)
        {
            Enable();
        }
    }

    /// <summary>
    /// EN 0 → 1: latches RING_BASE and RING_SIZE and starts at index 0 (head = tail = 0). Refused while HALT or FATAL
    /// is set (only a reset clears them); a bad ring size sets FATAL with <see cref="AccelErrorCode.InvalidRing"/>.
    /// </summary>
    private void Enable()
    {
        if (_halt.IsSet || _fatal.IsSet)
        {
            return;
        }

        uint entries = _ringSize.Value;
        if (_dma is null || entries < 2 || entries > MaxRingEntries || !BitOperations.IsPow2(entries))
        {
            RecordError(AccelErrorCode.InvalidRing, index: 0, address: 0, fatal: true);
            return;
        }

        _activeRingBase = _ringBase.Value;
        _activeRingEntries = entries;
        _ringHead.Value = 0;
        _ringTail.Value = 0;
        _rdy.IsSet = true;
    }

    /// <summary>
    /// CTRL.RST: the descriptor in progress has finished (the caller holds the device lock); every engine register goes
    /// back to its reset value (HALT, FATAL and the error registers included). The MSI-X table is left as it is.
    /// </summary>
    private void ResetEngine()
    {
        _generation++;
        _ctrl.Value = 0;
        _rdy.IsSet = false;
        _halt.IsSet = false;
        _fatal.IsSet = false;
        _errCode.Value = 0;
        _errIndex.Value = 0;
        _errAddr.Value = 0;
        _ringBase.Value = 0;
        _ringSize.Value = 0;
        _ringHead.Value = 0;
        _ringTail.Value = 0;
        _intDone.IsSet = false;
        _intErr.IsSet = false;
        _completed.Value = 0;
        _activeRingBase = 0;
        _activeRingEntries = 0;
        _interruptDue = false;
    }

    /// <summary>
    /// A tail doorbell write (under the device lock): kicks the engine. Ignored (the tail keeps its value) while the
    /// engine is not ready or halted, or when the index is outside the ring.
    /// </summary>
    private void OnTailWrite(uint old, uint now)
    {
        if (!_rdy.IsSet || _halt.IsSet || now >= _activeRingEntries)
        {
            _ringTail.Value = old;
            IgnoredDoorbellWriteCount++;
            return;
        }

        _kick = true;
    }

    /// <summary>Records the first error, halts the engine, and asks for the error interrupt.</summary>
    private void RecordError(AccelErrorCode code, uint index, ulong address, bool fatal)
    {
        if (_errCode.Value == 0)
        {
            _errCode.Value = (uint)code;
            _errIndex.Value = index;
            _errAddr.Value = address;
        }

        _halt.IsSet = true;
        _fatal.IsSet |= fatal;
        _intErr.IsSet = true;
        _interruptDue = true;
        _kick = true; // a round sends the interrupt (an error at enable has no round of its own)
    }
}
