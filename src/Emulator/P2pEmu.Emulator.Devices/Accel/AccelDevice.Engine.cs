using System;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Threading;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Memory;
using P2pEmu.Emulator.Pci;

namespace P2pEmu.Emulator.Devices.Accel;

/// <content>
/// The copy engine: descriptor fetch, the copy, status write-back, and the completion interrupt. An address inside BAR1's
/// assigned range names the device's own memory, which the engine reads and writes internally, without a memory
/// transaction (so neither ACS nor an IOMMU applies to that side), as a GPU's copy engine reaches its VRAM and NVMe's
/// controller memory space its CMB. A request to it through the fabric could not work anyway: PCIe does not route a
/// request back into the window of the port it came in through (Unsupported Request).
/// </content>
public sealed partial class AccelDevice
{
    /// <summary>Set under <see cref="_lock"/> when the round's batch needs the interrupt (IOC descriptor done, or the engine halted).</summary>
    private bool _interruptDue;

    /// <summary>Largest piece of device memory handed to one DMA read or write (keeps span lengths within int).</summary>
    private const ulong MaxPieceBytes = 1UL << 30;

    private long _bytesCopied;
    private long _localBytes;

    /// <summary>The memory behind BAR1 and the BAR itself; null before <see cref="Attach"/>.</summary>
    private BarRegion? _memory;
    private PciBar? _memoryBar;

    /// <summary>Where a range lies against the device memory.</summary>
    private enum LocalMemory
    {
        /// <summary>Entirely outside: an address the fabric routes.</summary>
        Outside,

        /// <summary>Entirely inside BAR1's range: the device's own memory, reached internally.</summary>
        Inside,

        /// <summary>Partly inside, partly outside.</summary>
        Straddles,
    }

    /// <summary>Bytes the copy engine moved (descriptors' <see cref="AccelDescriptor.BytesDone"/>, failed ones' prefixes included).</summary>
    public long BytesCopied => Interlocked.Read(ref _bytesCopied);

    /// <summary>Bytes copied from device memory to device memory, internally (never on the fabric).</summary>
    public long LocalBytesCopied => Interlocked.Read(ref _localBytes);

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
    /// Checks and runs one descriptor. Invalid: a reserved flag, a range that wraps past 2^64, or a range that straddles
    /// the edge of the device memory. Otherwise each byte is copied once: between two outside addresses with one
    /// <see cref="DmaPort.Copy(DmaAddress, DmaAddress, ulong)"/>; between the device memory and an outside address with
    /// <see cref="DmaPort.Read(DmaAddress, Span{byte})"/> or <see cref="DmaPort.Write(DmaAddress, ReadOnlySpan{byte})"/>
    /// straight from or into it; inside the device memory with one memmove.
    /// </summary>
    private AccelDescriptorStatus Execute(in AccelDescriptor descriptor, out uint bytesDone, out ulong faultAddress)
    {
        bytesDone = 0;
        faultAddress = 0;
        ulong length = descriptor.Length;
        if ((descriptor.Flags & ~(uint)AccelDescriptorOptions.InterruptOnCompletion) != 0
            || descriptor.Source > ulong.MaxValue - length
            || descriptor.Destination > ulong.MaxValue - length)
        {
            return AccelDescriptorStatus.InvalidDescriptor;
        }

        LocalMemory source = Locate(descriptor.Source, length, out ulong sourceOffset);
        LocalMemory destination = Locate(descriptor.Destination, length, out ulong destinationOffset);
        if (source == LocalMemory.Straddles || destination == LocalMemory.Straddles)
        {
            return AccelDescriptorStatus.InvalidDescriptor;
        }

        BarRegion? memory = _memory;
        DmaResult result;
        if (source == LocalMemory.Inside && destination == LocalMemory.Inside)
        {
            BarRegion.Copy(memory!, sourceOffset, memory!, destinationOffset, length);
            Interlocked.Add(ref _localBytes, (long)length);
            result = DmaResult.Completed(length);
        }
        else if (source == LocalMemory.Inside)
        {
            result = LocalTransfer(AccessKind.Write, new DmaAddress(descriptor.Destination), memory!, sourceOffset, length);
        }
        else if (destination == LocalMemory.Inside)
        {
            result = LocalTransfer(AccessKind.Read, new DmaAddress(descriptor.Source), memory!, destinationOffset, length);
        }
        else
        {
            result = _dma!.Copy(new DmaAddress(descriptor.Source), new DmaAddress(descriptor.Destination), length);
        }

        bytesDone = (uint)result.BytesTransferred;
        if (result.IsSuccess)
        {
            return AccelDescriptorStatus.Done;
        }

        bool read = result.FailedAccess == AccessKind.Read;
        faultAddress = unchecked((read ? descriptor.Source : descriptor.Destination) + result.BytesTransferred);
        return read ? AccelDescriptorStatus.DmaReadFault : AccelDescriptorStatus.DmaWriteFault;
    }

    /// <summary>
    /// A DMA between device memory and an outside address, in pieces a span can hold: a read from
    /// <paramref name="outside"/> straight into the memory, or a write of the memory straight to it.
    /// </summary>
    private DmaResult LocalTransfer(AccessKind access, DmaAddress outside, BarRegion memory, ulong offset, ulong length)
    {
        ulong done = 0;
        while (done < length)
        {
            int n = (int)Math.Min(length - done, MaxPieceBytes);
            Span<byte> local = memory.GetSpan(offset + done, n);
            DmaResult piece = access == AccessKind.Read ? _dma!.Read(outside.Add(done), local) : _dma!.Write(outside.Add(done), local);
            done += piece.BytesTransferred;
            if (!piece.IsSuccess)
            {
                return piece.After(done); // a read or a write fails on its own side: its FailedAccess is access
            }
        }

        return DmaResult.Completed(done);
    }

    /// <summary>
    /// Where [<paramref name="address"/>, + <paramref name="lengthBytes"/>) lies against the device memory: BAR1's
    /// assigned range names the device's own memory (<paramref name="offset"/> into it).
    /// </summary>
    private LocalMemory Locate(ulong address, ulong lengthBytes, out ulong offset)
    {
        offset = 0;
        PciBar? bar = _memoryBar;
        if (bar is null || _memory is null || bar.Address == 0)
        {
            return LocalMemory.Outside;
        }

        ulong start = bar.Address;
        ulong size = bar.SizeBytes;
        ulong into = unchecked(address - start);
        if (into < size)
        {
            offset = into;
            return lengthBytes <= size - into ? LocalMemory.Inside : LocalMemory.Straddles;
        }

        // Starts below the memory: it straddles when it reaches it.
        return address < start && start - address < lengthBytes ? LocalMemory.Straddles : LocalMemory.Outside;
    }
}
