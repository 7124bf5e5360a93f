using System.Collections.Generic;
using System.Linq;

namespace P2pEmu.Machine.Scenarios;

/// <summary>The result of a scenario run: the transfer scenario's checks and the storage scenario's.</summary>
public sealed record TransferReport(string Topology, int BytesPerTransfer, long BytesCopied, IReadOnlyList<TransferCheck> Transfers)
{
    /// <summary>The storage scenario's O_DIRECT transfers through the NVMe driver (empty without disks).</summary>
    public IReadOnlyList<StorageCheck> Storage { get; init; } = [];

    /// <summary>The RDMA scenario's operations over every NIC link (see <see cref="RdmaScenario"/>).</summary>
    public IReadOnlyList<RdmaCheck> Rdma { get; init; } = [];

    /// <summary>The end-to-end paths (see <see cref="OffloadScenario"/>), timed and checked.</summary>
    public IReadOnlyList<PathReport> Paths { get; init; } = [];

    /// <summary>Every byte checked is right, and every storage call failed exactly where the kernel rules say it must.</summary>
    public bool IntegrityOk => Transfers.All(t => t.IntegrityOk) && Storage.All(s => s.IntegrityOk && s.Expected)
        && Rdma.All(r => r.IntegrityOk && r.Expected)
        && Paths.All(p => p.ChecksumOk);

    public int Delivered => Transfers.Count(t => t.Status == "Delivered");
}
