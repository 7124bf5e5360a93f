using System.Collections.Generic;

namespace P2pEmu.Machine.Scenarios;

/// <summary>
/// One end-to-end data path of the run, timed and checked: what it is (<see cref="Name"/>), the P2PDMA map types its
/// hops met, how many bytes it delivered in how long, how many bytes the fabric copied per byte delivered (from the
/// emulator's own counters: a device's access to its own memory is not a fabric copy), whether the bytes at the end
/// equal the bytes at the start, and the errors it met. A path the kernel or an exporter must stop (a refused pair, a
/// revoke mid-run) is <see cref="ChecksumOk"/> when it stopped exactly so: the delivered part intact, the errors the
/// ones Linux gives, and no byte landed after the stop.
/// </summary>
public sealed record PathReport(
    string Name,
    string MapType,
    long Bytes,
    double Seconds,
    double Gbps,
    double CopiesPerByte,
    bool ChecksumOk,
    IReadOnlyList<string> Errors)
{
    /// <summary>Why the kernel refused the path (its P2PDMA verdict in words), or null.</summary>
    public string? Explanation { get; init; }
}
