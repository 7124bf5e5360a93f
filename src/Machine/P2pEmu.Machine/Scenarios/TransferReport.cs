using System.Collections.Generic;
using System.Linq;

namespace P2pEmu.Machine.Scenarios;

/// <summary>The result of a transfer scenario run.</summary>
public sealed record TransferReport(string Topology, int BytesPerTransfer, long BytesCopied, IReadOnlyList<TransferCheck> Transfers)
{
    public bool IntegrityOk => Transfers.All(t => t.IntegrityOk);

    public int Delivered => Transfers.Count(t => t.Status == "Delivered");
}
