using System.Collections.Generic;
using P2pEmu.Dma.DmaBuf;
using P2pEmu.Dma.Mapping;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Host;
using DmaBuffer = P2pEmu.Dma.DmaBuf.DmaBuf;

namespace P2pEmu.Dma.Tests.DmaBuf;

/// <summary>
/// An exporter for core tests: every op counts its calls and records whether the reservation lock was held when the
/// core called it; results are configurable. Maps hand out a fresh one-entry table each time.
/// </summary>
internal sealed class FakeExporter
{
    public List<string> Calls { get; } = new();

    /// <summary>For each op name, whether the buffer's reservation lock was held by the calling thread.</summary>
    public Dictionary<string, bool> LockHeld { get; } = new();

    public Errno AttachResult { get; set; }

    public Errno PinResult { get; set; }

    public Errno? MapError { get; set; }

    public bool MapReturnsNull { get; set; }

    /// <summary>When set, every map returns this same table.</summary>
    public SgTable? FixedTable { get; set; }

    public bool ReleasedCalled => Calls.Contains("release");

    public DmaBufOps Ops(bool pin = false, bool mmap = false) => new()
    {
        Attach = (dmabuf, attach) => Record("attach", dmabuf, AttachResult),
        Detach = (dmabuf, attach) => Record("detach", dmabuf, Errno.None),
        Pin = pin ? attach => Record("pin", attach.DmaBuf, PinResult) : null,
        Unpin = pin ? attach => Record("unpin", attach.DmaBuf, Errno.None) : null,
        MapDmaBuf = (attach, dir) =>
        {
            Record("map", attach.DmaBuf, Errno.None);
            if (MapError is Errno error)
            {
                return error;
            }

            return Result.Ok(MapReturnsNull ? null! : FixedTable ?? new SgTable(new[] { new Scatterlist(new PhysAddress(0x10_0000), 4096) }));
        },
        UnmapDmaBuf = (attach, sgt, dir) => Record("unmap", attach.DmaBuf, Errno.None),
        Release = dmabuf => Record("release", dmabuf, Errno.None),
        Mmap = mmap ? (dmabuf, mapping) => Record("mmap", dmabuf, Errno.None) : null,
    };

    public DmaBuffer Export(DmaBufHost host, ulong size = 64 * 1024, bool pin = false, bool mmap = false) =>
        host.DmaBufExport(new DmaBufExportInfo("fake", Ops(pin, mmap), size, this)).Value;

    private Errno Record(string op, DmaBuffer dmabuf, Errno result)
    {
        Calls.Add(op);
        LockHeld[op] = dmabuf.Resv.IsHeldByCurrentThread;
        return result;
    }
}
