using System.Collections.Generic;
using P2pEmu.Dma.P2pDma;

namespace P2pEmu.Machine.Reports;

/// <summary>The kernel's P2P verdicts for a set of provider/client pairs, and optionally <c>pci_p2pdma_distance_many</c>.</summary>
public sealed record P2pReport(IReadOnlyList<P2pVerdict> Pairs, int? DistanceMany, IReadOnlyList<string> KernelLog);
