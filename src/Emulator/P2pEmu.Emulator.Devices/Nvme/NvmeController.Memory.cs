using System;
using System.Threading;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Memory;

namespace P2pEmu.Emulator.Devices.Nvme;

/// <content>
/// Where an address the controller uses leads: its own controller memory space, reached internally, or the fabric.
/// NVMe base spec 2.0, "Controller Memory Buffer": while CMBMSC.CRE and CMSE are set, the range
/// [CMBMSC.CBA, CBA + CMB size) is the controller memory space, and every address in it names the controller's own
/// CMB — the controller reads and writes it without a memory transaction, so neither ACS nor an IOMMU applies.
/// With CMSE clear every address is a host address and goes out on the fabric (a request to BAR2 then routes like
/// any peer request, back into the controller's own BAR).
/// </content>
public sealed partial class NvmeController
{
    /// <summary>The memory behind the CMB's BAR; null without a CMB or before <see cref="Attach"/>.</summary>
    private BarRegion? _cmbMemory;

    private long _cmbInternalBytes;

    /// <summary>Bytes the controller moved to or from its own CMB internally (SQ entries, data), never on the fabric.</summary>
    public long CmbInternalBytes => Interlocked.Read(ref _cmbInternalBytes);

    /// <summary>Where a range lies against the controller memory space.</summary>
    private enum MemorySpace
    {
        /// <summary>Entirely outside: a host (fabric) address.</summary>
        Host,

        /// <summary>Entirely inside: the controller's own CMB.</summary>
        Controller,

        /// <summary>Partly inside, partly outside.</summary>
        Straddles,
    }

    /// <summary>
    /// Classifies [<paramref name="address"/>, <paramref name="address"/> + <paramref name="lengthBytes"/>) against the
    /// controller memory space; <paramref name="cmbOffset"/> is the offset into the CMB when it is inside.
    /// </summary>
    private MemorySpace Locate(ulong address, ulong lengthBytes, out ulong cmbOffset)
    {
        cmbOffset = 0;
        if (_cmbmsc is null || _cmbMemory is null || (_cmbmsc.Value & (CmbscCre | CmbscCmse)) != (CmbscCre | CmbscCmse))
        {
            return MemorySpace.Host;
        }

        ulong cba = _cmbmsc.Value & ~PageMask;
        ulong offset = unchecked(address - cba);
        if (offset < CmbBytes)
        {
            cmbOffset = offset;
            return lengthBytes <= CmbBytes - offset ? MemorySpace.Controller : MemorySpace.Straddles;
        }

        // Starts below the CMB: it straddles when it reaches CBA.
        return address < cba && cba - address < lengthBytes ? MemorySpace.Straddles : MemorySpace.Host;
    }

    /// <summary>Whether any byte of the range is in the controller memory space.</summary>
    private bool TouchesControllerMemory(ulong address, ulong lengthBytes) => Locate(address, lengthBytes, out _) != MemorySpace.Host;

    /// <summary>
    /// Reads <paramref name="destination"/> from <paramref name="address"/>: one copy out of the CMB when the range is
    /// in the controller memory space, else a DMA read through the fabric.
    /// </summary>
    /// <returns>Success; Data Transfer Error when the DMA failed; Invalid Use of Controller Memory Buffer when the range
    /// straddles the edge of the controller memory space (nothing is read).</returns>
    private NvmeStatus ReadMemory(ulong address, Span<byte> destination)
    {
        switch (Locate(address, (ulong)destination.Length, out ulong offset))
        {
            case MemorySpace.Controller:
                _cmbMemory!.GetSpan(offset, destination.Length).CopyTo(destination);
                Interlocked.Add(ref _cmbInternalBytes, destination.Length);
                return NvmeStatus.Success;
            case MemorySpace.Straddles:
                return NvmeStatus.InvalidUseOfControllerMemoryBuffer;
            default:
                return _dma!.Read(new DmaAddress(address), destination).IsSuccess ? NvmeStatus.Success : NvmeStatus.DataTransferError;
        }
    }

    /// <summary>Writes <paramref name="source"/> at <paramref name="address"/>, internally into the CMB or by DMA; see <see cref="ReadMemory"/>.</summary>
    private NvmeStatus WriteMemory(ulong address, ReadOnlySpan<byte> source)
    {
        switch (Locate(address, (ulong)source.Length, out ulong offset))
        {
            case MemorySpace.Controller:
                source.CopyTo(_cmbMemory!.GetSpan(offset, source.Length));
                Interlocked.Add(ref _cmbInternalBytes, source.Length);
                return NvmeStatus.Success;
            case MemorySpace.Straddles:
                return NvmeStatus.InvalidUseOfControllerMemoryBuffer;
            default:
                return _dma!.Write(new DmaAddress(address), source).IsSuccess ? NvmeStatus.Success : NvmeStatus.DataTransferError;
        }
    }
}
