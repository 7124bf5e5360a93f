using System;
using System.Buffers.Binary;
using System.Threading;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Registers;

namespace P2pEmu.Emulator.Devices.Nic;

/// <summary>
/// Completion queue entries, the event queue, and interrupts. CQEs (32 bytes) and EQEs (32 bytes) carry a phase bit
/// that flips on every pass over the ring, so the host sees new entries without reading a register. Interrupts are
/// collected under the lock and sent after it is released.
/// </summary>
public sealed partial class NicDevice
{
    /// <summary>Size of a completion queue entry.</summary>
    public const int CqeBytes = 32;

    /// <summary>Size of an event queue entry.</summary>
    public const int EqeBytes = 32;

    private Register64 _eqBase = null!;
    private Register _eqSize = null!;
    private uint _eqProducer;
    private uint _eqConsumer;
    private ulong _pendingVectorsLow;
    private ulong _pendingVectorsHigh;

    /// <summary>Events dropped because the event queue was missing or full.</summary>
    public long EventsDropped { get; private set; }

    private void DefineEventQueueRegisters()
    {
        _eqBase = _regs.Define64(NicRegister.EventQueueBase).WithReservedBits(0, 5).WithField(5, 59, FieldMode.ReadWrite);
        _eqSize = _regs.Define(NicRegister.EventQueueSize).WithField(0, 32, FieldMode.ReadWrite).OnWrite((_, _) =>
        {
            _eqProducer = 0;
            _eqConsumer = 0;
        });
        _regs.Define(NicRegister.EventQueueConsumer).WithField(0, 32, FieldMode.Write).OnWrite((_, now) => _eqConsumer = now);
    }

    private void ResetEventQueue()
    {
        _eqBase.Value = 0;
        _eqSize.Value = 0;
        _eqProducer = 0;
        _eqConsumer = 0;
    }

    /// <summary>Writes an event and raises the event vector; an event with no room is dropped and counted.</summary>
    private void PostEvent(NicEventType type, uint key, ulong address, uint length, uint qpn)
    {
        unchecked
        {
            uint size = _eqSize.Value;
            if (!IsRingSize(size) || _eqProducer - _eqConsumer >= size)
            {
                EventsDropped++;
                return;
            }

            Span<byte> eqe = stackalloc byte[EqeBytes];
            eqe.Clear();
            eqe[0] = (byte)type;
            eqe[1] = (byte)(((_eqProducer / size) & 1) == 0 ? 1 : 0);
            BinaryPrimitives.WriteUInt32LittleEndian(eqe[4..], key);
            BinaryPrimitives.WriteUInt64LittleEndian(eqe[8..], address);
            BinaryPrimitives.WriteUInt32LittleEndian(eqe[16..], length);
            BinaryPrimitives.WriteUInt32LittleEndian(eqe[20..], qpn);
            DmaAddress slot = Slot(_eqBase.Value, _eqProducer, size, EqeBytes);
            if (!Dma.Write(slot, eqe).IsSuccess)
            {
                SetFatal();
                return;
            }

            _eqProducer++;
            MarkPending(EventVector);
        }
    }

    /// <summary>
    /// Posts a CQE: wr_id, byte_len, immediate, QP number, status, opcode, flags, owner (phase), vendor error, and in the
    /// last word the WQE counter of a send completion (which send WQE it was: the driver frees the slots up to it) or
    /// the source QP of a receive completion. A full or failed CQ goes to error (an event says so) and takes no more. Returns false when the
    /// entry could not be posted.
    /// </summary>
    private bool PostCqe(NicCq cq, ulong wrId, uint byteLength, uint immediate, uint qpn, NicWcStatus status, NicWcOpcode opcode, bool withImmediate, uint lastWord)
    {
        unchecked
        {
            if (cq.InError)
            {
                return false;
            }

            if (cq.Producer - cq.Consumer >= cq.Entries)
            {
                cq.InError = true;
                PostEvent(NicEventType.CqError, cq.Cqn, 0, 0, qpn);
                return false;
            }

            Span<byte> cqe = stackalloc byte[CqeBytes];
            cqe.Clear();
            BinaryPrimitives.WriteUInt64LittleEndian(cqe, wrId);
            BinaryPrimitives.WriteUInt32LittleEndian(cqe[8..], byteLength);
            BinaryPrimitives.WriteUInt32LittleEndian(cqe[12..], immediate);
            BinaryPrimitives.WriteUInt32LittleEndian(cqe[16..], qpn);
            cqe[20] = (byte)status;
            cqe[21] = (byte)opcode;
            cqe[22] = (byte)(withImmediate ? 2 : 0); // IB_WC_WITH_IMM
            cqe[23] = (byte)(((cq.Producer / cq.Entries) & 1) == 0 ? 1 : 0);
            BinaryPrimitives.WriteUInt32LittleEndian(cqe[24..], status == NicWcStatus.Success ? 0u : (uint)status);
            BinaryPrimitives.WriteUInt32LittleEndian(cqe[28..], lastWord);
            DmaAddress slot = Slot(cq.Ring.Value, cq.Producer, cq.Entries, CqeBytes);
            if (!Dma.Write(slot, cqe).IsSuccess)
            {
                cq.InError = true;
                PostEvent(NicEventType.CqError, cq.Cqn, 0, 0, qpn);
                return false;
            }

            cq.Producer++;
            if (cq.Vector != NicCq.NoVector)
            {
                MarkPending((int)cq.Vector);
            }

            return true;
        }
    }

    private void MarkPending(int vector)
    {
        if (vector < 64)
        {
            _pendingVectorsLow |= 1UL << vector;
        }
        else
        {
            _pendingVectorsHigh |= 1UL << (vector - 64);
        }
    }

    /// <summary>Sends the interrupts collected under the lock, unless this thread still holds it (an outer frame sends them).</summary>
    private void RaisePendingInterrupts()
    {
        // Whoever sets a bit raises it after releasing the lock, so an empty mask read without the lock is safe to skip.
        Lock root = SyncRoot;
        if ((Volatile.Read(ref _pendingVectorsLow) | Volatile.Read(ref _pendingVectorsHigh)) == 0 || root.IsHeldByCurrentThread)
        {
            return;
        }

        ulong low;
        ulong high;
        lock (root)
        {
            low = _pendingVectorsLow;
            high = _pendingVectorsHigh;
            _pendingVectorsLow = 0;
            _pendingVectorsHigh = 0;
        }

        for (int v = 0; low != 0 || high != 0; v++)
        {
            bool set = v < 64 ? (low & (1UL << v)) != 0 : (high & (1UL << (v - 64))) != 0;
            if (set)
            {
                _msix.Signal(v);
                if (v < 64)
                {
                    low &= ~(1UL << v);
                }
                else
                {
                    high &= ~(1UL << (v - 64));
                }
            }
        }
    }
}
