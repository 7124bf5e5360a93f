using System;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Threading;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Fabric;

namespace P2pEmu.Emulator.Devices.Accel;

/// <content>The copy engine: descriptor fetch, the copy, status write-back, and the completion interrupt.</content>
public sealed partial class AccelDevice
{
    /// <summary>Set under <see cref="_lock"/> when the round's batch needs the interrupt (IOC descriptor done, or the engine halted).</summary>
    private bool _interruptDue;

    private long _bytesCopied;

    /// <summary>Bytes the copy engine moved (descriptors' <see cref="AccelDescriptor.BytesDone"/>, failed ones' prefixes included).</summary>
    public long BytesCopied => Interlocked.Read(ref _bytesCopied);

    /// <summary>
    /// The engine's round: processes descriptors from RING_HEAD up to RING_TAIL, each under <see cref="_lock"/> (host
    /// register accesses fall between descriptors), then sends vector 0 once if the batch asked for it. A doorbell
    /// written during the round kicks the engine again, so its work runs in the next round, never recursively.
    /// </summary>
    private void RunRing()
    {
        Span<byte> entry = stackalloc byte[AccelDescriptor.SizeBytes];
        while (ProcessDescriptor(entry))
        {
        }

        bool signal;
        lock (_lock)
        {
            signal = _interruptDue;
            _interruptDue = false;
        }

        if (signal)
        {
            _msix.Signal(0);
        }
    }

    /// <summary>Fetches, executes and writes back the descriptor at RING_HEAD, under the lock.</summary>
    /// <returns>False when there is nothing (more) to do: not ready, halted, ring empty, or reset by the copy itself.</returns>
    private bool ProcessDescriptor(Span<byte> entry)
    {
        lock (_lock)
        {
            uint head = _ringHead.Value;
            if (!_rdy.IsSet || _halt.IsSet || head == _ringTail.Value || _dma is null)
            {
                return false;
            }

            long generation = _generation;
            ulong slot = unchecked(_activeRingBase + ((ulong)head * AccelDescriptor.SizeBytes));
            if (!_dma.Read(new DmaAddress(slot), entry).IsSuccess)
            {
                RecordError(AccelErrorCode.DescriptorFetchFault, head, slot, fatal: true);
                return false;
            }

            AccelDescriptor descriptor = MemoryMarshal.Read<AccelDescriptor>(entry);
            AccelDescriptorStatus status = Execute(in descriptor, out uint bytesDone, out ulong faultAddress);
            Interlocked.Add(ref _bytesCopied, bytesDone);
            if (generation != _generation)
            {
                return false; // the copy disabled or reset the engine (a DMA into BAR0): nothing to write back to
            }

            // BYTES_DONE before STATUS: a host that sees a non-zero status reads a valid byte count.
            Span<byte> word = stackalloc byte[4];
            BinaryPrimitives.WriteUInt32LittleEndian(word, bytesDone);
            bool written = _dma.Write(new DmaAddress(unchecked(slot + AccelDescriptor.BytesDoneOffset)), word).IsSuccess;
            BinaryPrimitives.WriteUInt32LittleEndian(word, (uint)status);
            written = written && _dma.Write(new DmaAddress(unchecked(slot + AccelDescriptor.StatusOffset)), word).IsSuccess;
            if (!written)
            {
                RecordError(AccelErrorCode.WriteBackFault, head, slot, fatal: true);
                return false;
            }

            if (status != AccelDescriptorStatus.Done)
            {
                RecordError((AccelErrorCode)status, head, faultAddress, fatal: false);
                return false;
            }

            _ringHead.Value = (head + 1) & (_activeRingEntries - 1);
            _completed.Value = unchecked(_completed.Value + 1);
            if ((descriptor.Flags & (uint)AccelDescriptorOptions.InterruptOnCompletion) != 0)
            {
                _intDone.IsSet = true;
                _interruptDue = true;
            }

            return true;
        }
    }

    /// <summary>
    /// Checks and runs one descriptor: invalid with a reserved flag or a range that wraps past 2^64, else exactly one <see cref="DmaPort.Copy(DmaAddress, DmaAddress, ulong)"/>.
    /// </summary>
    private AccelDescriptorStatus Execute(in AccelDescriptor descriptor, out uint bytesDone, out ulong faultAddress)
    {
        bytesDone = 0;
        faultAddress = 0;
        // A range that wraps past the top of the 64-bit address space is malformed, like a reserved flag.
        if ((descriptor.Flags & ~(uint)AccelDescriptorOptions.InterruptOnCompletion) != 0
            || descriptor.Source > ulong.MaxValue - descriptor.Length
            || descriptor.Destination > ulong.MaxValue - descriptor.Length)
        {
            return AccelDescriptorStatus.InvalidDescriptor;
        }

        DmaResult result = _dma!.Copy(new DmaAddress(descriptor.Source), new DmaAddress(descriptor.Destination), descriptor.Length);
        bytesDone = (uint)result.BytesTransferred;
        if (result.IsSuccess)
        {
            return AccelDescriptorStatus.Done;
        }

        bool read = result.FailedAccess == AccessKind.Read;
        faultAddress = unchecked((read ? descriptor.Source : descriptor.Destination) + result.BytesTransferred);
        return read ? AccelDescriptorStatus.DmaReadFault : AccelDescriptorStatus.DmaWriteFault;
    }
}
