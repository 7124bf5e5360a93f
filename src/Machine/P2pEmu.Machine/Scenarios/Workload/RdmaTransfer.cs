using P2pEmu.Dma.P2pDma;
using P2pEmu.Drivers.Rdma;
using P2pEmu.Emulator.Host;
using P2pEmu.Machine.Reports;

namespace P2pEmu.Machine.Scenarios.Workload;

/// <summary>
/// <c>rdma</c>: RDMA WRITEs into host pages or a provider's p2pmem that the far NIC mapped (<c>ib_dma_map_sgtable</c>,
/// by the map type between the provider and that NIC; NOT_SUPPORTED is refused with EREMOTEIO) and registered.
/// </summary>
internal sealed class RdmaTransfer : RdmaWriteTransfer
{
    private ScenarioBuffer? _target;

    public RdmaTransfer(Machine machine, WorkloadTransfer spec, int seed)
        : base(machine, spec, seed)
    {
    }

    protected override IbMr? RegisterTarget(RdmaPair.RdmaEnd far)
    {
        _target = ScenarioBuffer.Allocate(Machine, Spec.To, Spec.Offset + Spec.Size, out string? error);
        if (_target is null)
        {
            SetupError = error;
            return null;
        }

        P2pVerdict? verdict = _target.Provider is null ? null : Machine.P2pDma.Explain(_target.Provider, far.Dev.Pdev);
        MapType = verdict is null ? "NONE" : P2pMatrix.MapTypeName(verdict.MapType);
        Result<IbMr> mr = far.RegisterContiguous(_target.Address, Spec.Offset + Spec.Size, RemoteIova);
        if (!mr.IsSuccess)
        {
            SetupError = $"{far.Dev.Name}: mapping and registering {Spec.To}: -{mr.Error}";
            Explanation = verdict is { MapType: PciP2pdmaMapType.NotSupported } ? P2pReportText.Explain(Machine.P2pDma, verdict) : null;
            return null;
        }

        return mr.Value;
    }

    protected override byte[] TargetNow() => ScenarioMemory.At(Machine, _target!.Address + Spec.Offset, (int)Spec.Size).ToArray();

    public override void Dispose()
    {
        base.Dispose();
        _target?.Dispose();
    }
}
