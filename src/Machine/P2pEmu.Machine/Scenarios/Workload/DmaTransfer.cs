using System;
using P2pEmu.Dma.Mapping;
using P2pEmu.Dma.P2pDma;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Pci;
using P2pEmu.Machine.Reports;

namespace P2pEmu.Machine.Scenarios.Workload;

/// <summary>
/// <c>dma</c>: the <c>from</c> function's DMA engine writes host pages or a provider's p2pmem, one chunk per
/// transaction, at the address the kernel gives it: a <c>dma_map_phys</c> mapping (an IOVA when the IOMMU
/// translates) for host pages and THRU_HOST_BRIDGE, the bus address for BUS_ADDR; NOT_SUPPORTED gets no address.
/// The mapping lives for the whole transfer, so later chunks meet whatever the faults changed.
/// </summary>
internal sealed class DmaTransfer : ChunkedTransfer
{
    private ScenarioBuffer? _buffer;
    private DmaDevice? _dev;
    private DmaPort? _port;
    private DmaAddress _address;
    private bool _mapped;

    public DmaTransfer(Machine machine, WorkloadTransfer spec, int seed)
        : base(machine, spec, seed)
    {
    }

    public override void Setup()
    {
        PciFunction requester = Machine.Fabric[Spec.From];
        ulong bytes = Spec.Offset + Spec.Size;
        _buffer = ScenarioBuffer.Allocate(Machine, Spec.To, bytes, out string? error);
        if (_buffer is null)
        {
            SetupError = error;
            return;
        }

        TargetBefore = TargetNow();
        _dev = Machine.Dma.GetDevice(requester);
        _port = new DmaPort(Machine.Fabric, requester);
        PciP2pdmaMapType type = _buffer.Provider is null ? PciP2pdmaMapType.None : Machine.P2pDma.Explain(_buffer.Provider, requester).MapType;
        MapType = P2pMatrix.MapTypeName(type);
        if (type == PciP2pdmaMapType.NotSupported)
        {
            SetupError = "-EREMOTEIO: the kernel gives the device no address for NOT_SUPPORTED";
            Explanation = P2pReportText.Explain(Machine.P2pDma, Machine.P2pDma.Explain(_buffer.Provider!, requester));
            return;
        }

        _address = new DmaAddress(_buffer.Address);
        if (type != PciP2pdmaMapType.BusAddr)
        {
            _address = Machine.Dma.DmaMapPhys(_dev, new PhysAddress(_buffer.Address), bytes, DmaDirection.FromDevice, _buffer.Provider is null ? DmaAttrs.None : DmaAttrs.Mmio);
            _mapped = !DmaApi.IsMappingError(_address);
            SetupError = _mapped ? null : "dma_map_phys failed (DMA_MAPPING_ERROR)";
        }
    }

    protected override void Move(int first, int end)
    {
        for (int i = first; i < end; i++)
        {
            ulong at = ChunkOffset(i);
            DmaResult result = _port!.Write(new DmaAddress(_address.Value + Spec.Offset + at), Data.AsSpan((int)at, (int)Spec.ChunkBytes(i)));
            if (result.IsSuccess)
            {
                Delivered(i, (long)result.BytesTransferred);
            }
            else
            {
                RouteResult why = result.Failure;
                Failed(i, (long)result.BytesTransferred, $"{why.Status} ({why.Reason}{(why.DecidedAt is null ? string.Empty : " at " + why.DecidedAt.Name)})");
            }
        }
    }

    protected override byte[] TargetNow() => ScenarioMemory.At(Machine, _buffer!.Address + Spec.Offset, (int)Spec.Size).ToArray();

    public override void Dispose()
    {
        if (_mapped)
        {
            Machine.Dma.DmaUnmapPhys(_dev!, _address, Spec.Offset + Spec.Size, DmaDirection.FromDevice);
        }

        _buffer?.Dispose();
    }
}
