using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Fabric;

namespace P2pEmu.Emulator.Devices.Nvme;

/// <summary>
/// Data transfer: the command's data pointer (PRP entries and lists, or an SGL of segments) is walked into a list
/// of pieces first, then the data moves piece by piece, one copy between the device-side span and each target.
/// A malformed data pointer therefore moves no data at all.
/// </summary>
public sealed partial class NvmeController
{
    /// <summary>
    /// Identify Controller SGLS bit 16: the SGL Bit Bucket descriptor is supported. Bits 1:0 (01b: no alignment or
    /// granularity requirement; 10b: dword alignment and granularity) follow <see cref="SglDwordGranularity"/>.
    /// </summary>
    private const uint SglsBitBucket = 1u << 16;

    /// <summary>Most SGL descriptors one command may make the controller fetch (a model limit against segment loops).</summary>
    public const int MaxSglDescriptors = 1 << 16;

    /// <summary>CDW0 bits 15:14 (PSDT) as a byte of <see cref="NvmeCommand.Flags"/>.</summary>
    private const int PsdtShift = 6;

    /// <summary>Command bytes 39:24, the data pointer (PRP1/PRP2 or SGL1): the Parameter Error Location of SGL1 errors.</summary>
    private const ushort DataPointerLocation = 24;

    private const int SglDescriptorBytes = 16;
    private const int SglFetchDescriptors = PageBytes / SglDescriptorBytes;

    private readonly List<NvmeDataPiece> _pieces = new();
    private readonly byte[] _sglSegment = new byte[PageBytes];

    /// <summary>
    /// Model option: SGL Data Block descriptors must have dword-aligned addresses and lengths (Identify Controller
    /// SGLS bits 1:0 = 10b), else the command fails with SGL Data Block Granularity Invalid. Off by default (01b:
    /// byte granularity). Set it before the guest reads Identify Controller.
    /// </summary>
    public bool SglDwordGranularity { get; set; }

    /// <summary>Identify Controller SGLS (bytes 539:536): SGLs supported for the NVM command set, with Bit Bucket.</summary>
    public uint SglSupport => (SglDwordGranularity ? 0b10u : 0b01u) | SglsBitBucket;

    /// <summary>
    /// Moves <paramref name="data"/> to (<paramref name="toHost"/>) or from the buffer the command's data pointer
    /// describes. Every byte moves once, between <paramref name="data"/> and its target.
    /// </summary>
    private NvmeStatus TransferData(in NvmeCommand command, Span<byte> data, bool toHost)
    {
        _pieces.Clear();
        NvmeStatus status = (command.Flags >> PsdtShift) == 0
            ? MapPrp(in command, data.Length)
            : MapSgl(in command, data.Length, toHost);
        if (status != NvmeStatus.Success)
        {
            return status;
        }

        int at = 0;
        foreach (NvmeDataPiece piece in _pieces)
        {
            if (!piece.Discard && !Move(piece.Address, data.Slice(at, piece.LengthBytes), toHost))
            {
                return NvmeStatus.DataTransferError;
            }

            at += piece.LengthBytes;
        }

        return NvmeStatus.Success;
    }

    /// <summary>
    /// PRP1 with an offset, then PRP2 as the second page or as a PRP list (chained through each list page's last
    /// entry). List entries are fetched by DMA; a failed fetch is a Data Transfer Error.
    /// </summary>
    private NvmeStatus MapPrp(in NvmeCommand command, int lengthBytes)
    {
        if ((command.Prp1 & 3) != 0)
        {
            return NvmeStatus.InvalidPrpOffset;
        }

        int first = (int)Math.Min((ulong)lengthBytes, PageBytes - (command.Prp1 & PageMask));
        _pieces.Add(new NvmeDataPiece(command.Prp1, first, false));
        int done = first;
        if (done == lengthBytes)
        {
            return NvmeStatus.Success;
        }

        if (lengthBytes - done <= PageBytes)
        {
            if ((command.Prp2 & PageMask) != 0)
            {
                return NvmeStatus.InvalidPrpOffset;
            }

            _pieces.Add(new NvmeDataPiece(command.Prp2, lengthBytes - done, false));
            return NvmeStatus.Success;
        }

        ulong list = command.Prp2;
        if ((list & 7) != 0)
        {
            return NvmeStatus.InvalidPrpOffset;
        }

        Span<byte> entryBytes = stackalloc byte[8];
        while (done < lengthBytes)
        {
            if (!_dma!.Read(new DmaAddress(list), entryBytes).IsSuccess)
            {
                return NvmeStatus.DataTransferError;
            }

            ulong entry = BinaryPrimitives.ReadUInt64LittleEndian(entryBytes);
            bool lastSlotOfListPage = ((list + 8) & PageMask) == 0;
            if (lastSlotOfListPage && lengthBytes - done > PageBytes)
            {
                // More than one page remains: this slot points to the next list page.
                if ((entry & 7) != 0)
                {
                    return NvmeStatus.InvalidPrpOffset;
                }

                list = entry;
                continue;
            }

            if ((entry & PageMask) != 0)
            {
                return NvmeStatus.InvalidPrpOffset;
            }

            int n = Math.Min(PageBytes, lengthBytes - done);
            _pieces.Add(new NvmeDataPiece(entry, n, false));
            done += n;
            list += 8;
        }

        return NvmeStatus.Success;
    }

    /// <summary>
    /// SGL1 is a Data Block or Bit Bucket describing the whole transfer, or a (Last) Segment descriptor that starts
    /// a chain of segments (NVMe base spec 2.0, "Scatter Gather List (SGL)"). The SGL must describe exactly
    /// <paramref name="lengthBytes"/>: SGLS bit 18 (longer SGLs allowed) is not advertised.
    /// </summary>
    private NvmeStatus MapSgl(in NvmeCommand command, int lengthBytes, bool toHost)
    {
        NvmeSglDescriptor sgl1 = NvmeSglDescriptor.FromDataPointer(command.Prp1, command.Prp2);
        int remaining = lengthBytes;
        _errorLocation = DataPointerLocation;
        NvmeStatus status = sgl1.Type is NvmeSglDescriptorType.Segment or NvmeSglDescriptorType.LastSegment
            ? MapSglSegments(sgl1, ref remaining, toHost)
            : AddSglData(sgl1, ref remaining, toHost);
        if (status != NvmeStatus.Success)
        {
            return status;
        }

        return remaining == 0 ? NvmeStatus.Success : NvmeStatus.DataSglLengthInvalid;
    }

    /// <summary>Fetches and maps each segment in turn; a segment's last descriptor may point to the next one.</summary>
    private NvmeStatus MapSglSegments(NvmeSglDescriptor segment, ref int remaining, bool toHost)
    {
        int budget = MaxSglDescriptors;
        while (true)
        {
            if (segment.Length == 0 || segment.Length % SglDescriptorBytes != 0)
            {
                return NvmeStatus.InvalidSglSegmentDescriptor;
            }

            if (segment.Address > ulong.MaxValue - segment.Length)
            {
                return NvmeStatus.DataSglLengthInvalid;
            }

            // CMBSZ.LISTS is clear: PRP lists and SGL segments must be in host memory.
            if (InControllerMemorySpace(segment.Address, segment.Length))
            {
                return NvmeStatus.InvalidUseOfControllerMemoryBuffer;
            }

            int count = (int)(segment.Length / SglDescriptorBytes);
            if (count > budget)
            {
                return NvmeStatus.InvalidSglDescriptorCount;
            }

            budget -= count;
            bool isLast = segment.Type == NvmeSglDescriptorType.LastSegment;
            NvmeSglDescriptor? next = null;
            for (int fetched = 0; fetched < count; fetched += SglFetchDescriptors)
            {
                int chunk = Math.Min(SglFetchDescriptors, count - fetched);
                Span<byte> bytes = _sglSegment.AsSpan(0, chunk * SglDescriptorBytes);
                if (!_dma!.Read(new DmaAddress(segment.Address + ((ulong)fetched * SglDescriptorBytes)), bytes).IsSuccess)
                {
                    return NvmeStatus.DataTransferError;
                }

                _errorLocation = NoErrorLocation; // errors from here on are in host memory, not in the command
                ReadOnlySpan<NvmeSglDescriptor> descriptors = MemoryMarshal.Cast<byte, NvmeSglDescriptor>(bytes);
                for (int i = 0; i < descriptors.Length; i++)
                {
                    NvmeSglDescriptor descriptor = descriptors[i];
                    if (descriptor.Type is NvmeSglDescriptorType.Segment or NvmeSglDescriptorType.LastSegment)
                    {
                        if (fetched + i != count - 1)
                        {
                            return NvmeStatus.InvalidSglDescriptorCount;
                        }

                        if (isLast)
                        {
                            return NvmeStatus.InvalidSglSegmentDescriptor;
                        }

                        next = descriptor;
                        continue;
                    }

                    NvmeStatus status = AddSglData(descriptor, ref remaining, toHost);
                    if (status != NvmeStatus.Success)
                    {
                        return status;
                    }
                }
            }

            if (next is null)
            {
                return NvmeStatus.Success; // a segment that ends in a data descriptor ends the SGL
            }

            segment = next.Value;
        }
    }

    /// <summary>Adds a Data Block (sub type 0h) or, for a read, a Bit Bucket; a zero length describes no bytes.</summary>
    private NvmeStatus AddSglData(NvmeSglDescriptor descriptor, ref int remaining, bool toHost)
    {
        bool bitBucket = descriptor.Type == NvmeSglDescriptorType.BitBucket;

        // The Bit Bucket discards data the controller returns, so it only exists for transfers to the host.
        if (!(descriptor.Type == NvmeSglDescriptorType.DataBlock || (bitBucket && toHost)) || descriptor.SubType != 0)
        {
            return NvmeStatus.SglDescriptorTypeInvalid;
        }

        if (!bitBucket && SglDwordGranularity && ((descriptor.Address | descriptor.Length) & 3) != 0)
        {
            return NvmeStatus.SglDataBlockGranularityInvalid;
        }

        if (descriptor.Length == 0)
        {
            return NvmeStatus.Success;
        }

        if (descriptor.Length > (uint)remaining || (!bitBucket && descriptor.Address > ulong.MaxValue - descriptor.Length + 1))
        {
            return NvmeStatus.DataSglLengthInvalid;
        }

        _pieces.Add(new NvmeDataPiece(descriptor.Address, (int)descriptor.Length, bitBucket));
        remaining -= (int)descriptor.Length;
        return NvmeStatus.Success;
    }

    private bool Move(ulong address, Span<byte> data, bool toHost)
    {
        DmaResult result = toHost ? _dma!.Write(new DmaAddress(address), data) : _dma!.Read(new DmaAddress(address), data);
        return result.IsSuccess;
    }
}
