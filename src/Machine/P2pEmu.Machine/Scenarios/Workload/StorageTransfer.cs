using System;
using System.Collections.Generic;
using P2pEmu.Dma.Block;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Host;
using P2pEmu.Emulator.Pci;
using P2pEmu.Machine.Reports;

namespace P2pEmu.Machine.Scenarios.Workload;

/// <summary>
/// <c>storage</c>: kernel bios between a drive and host pages or p2pmem — the way the NVMe-oF target reads a namespace
/// into p2pmem — up to <c>queueDepth</c> chunks in flight, each chunk one or more bios (at most
/// <see cref="BlockGeometry.BioMaxVecs"/> pages each), submitted and polled. A drive as <c>from</c> is read; as
/// <c>to</c>, written. The drive position is the transfer's offset plus the chunk's.
/// </summary>
internal sealed class StorageTransfer : ChunkedTransfer
{
    private readonly bool _read;
    private BlockDevice? _disk;
    private ScenarioBuffer? _buffer;

    public StorageTransfer(Machine machine, WorkloadTransfer spec, int seed)
        : base(machine, spec, seed) => _read = machine.BlockDevices.ContainsKey(spec.From);

    public override void Setup()
    {
        _disk = Machine.BlockDevices[_read ? Spec.From : Spec.To];
        string memory = _read ? Spec.To : Spec.From;
        _buffer = ScenarioBuffer.Allocate(Machine, memory, Spec.Offset + Spec.Size, out string? error);
        if (_buffer is null)
        {
            SetupError = error;
            return;
        }

        PciFunction controller = _disk.Device.FindParentPciDev()!;
        MapType = _buffer.Provider is null ? "NONE" : P2pMatrix.MapTypeName(Machine.P2pDma.Explain(_buffer.Provider, controller).MapType);
        if (_read)
        {
            if (!SeedDrive(_disk))
            {
                return;
            }

            TargetBefore = TargetNow();
        }
        else
        {
            Data.CopyTo(ScenarioMemory.At(Machine, _buffer.Address + Spec.Offset, (int)Spec.Size));
            TargetBefore = TargetNow();
        }
    }

    protected override void Move(int first, int end)
    {
        var inflight = new Queue<(int Chunk, List<Bio> Bios)>();
        int next = first;
        while (next < end || inflight.Count > 0)
        {
            while (next < end && inflight.Count < Spec.QueueDepth)
            {
                inflight.Enqueue((next, Submit(next)));
                next++;
            }

            (int chunk, List<Bio> bios) = inflight.Dequeue();
            long done = 0;
            BlkStatus failed = BlkStatus.Ok;
            foreach (Bio bio in bios)
            {
                while (!bio.IsDone)
                {
                    _disk!.BioPoll(bio);
                }

                if (bio.Status == BlkStatus.Ok && failed == BlkStatus.Ok)
                {
                    done += bio.Size;
                }
                else if (failed == BlkStatus.Ok)
                {
                    failed = bio.Status;
                }
            }

            if (failed == BlkStatus.Ok)
            {
                Delivered(chunk, done);
            }
            else
            {
                Failed(chunk, done, $"-{BlkErrors.BlkStatusToErrno(failed)} (BLK_STS_{failed.ToString().ToUpperInvariant()})");
            }
        }
    }

    /// <summary>The bios of one chunk, submitted: pages of the buffer, split where a bio is full or refuses a page.</summary>
    private List<Bio> Submit(int chunk)
    {
        var bios = new List<Bio>();
        ulong at = Spec.Offset + ChunkOffset(chunk);
        ulong left = Spec.ChunkBytes(chunk);
        ReqOp op = _read ? ReqOp.Read : ReqOp.Write;
        Bio? bio = null;
        while (left > 0)
        {
            ulong address = _buffer!.Address + at;
            ulong page = address & ~(HostPageAllocator.PageSize - 1);
            uint inPage = (uint)(address - page);
            uint length = (uint)Math.Min(left, HostPageAllocator.PageSize - inPage);
            if (bio is null || bio.BioAddPage(new PhysAddress(page), length, inPage) == 0)
            {
                if (bio is not null)
                {
                    _disk!.SubmitBio(bio);
                }

                bio = new Bio(Machine.P2pDma, op, at >> BlockGeometry.SectorShift);
                bios.Add(bio);
                bio.BioAddPage(new PhysAddress(page), length, inPage);
            }

            at += length;
            left -= length;
        }

        _disk!.SubmitBio(bio!);
        return bios;
    }

    /// <summary>A read's target is the buffer; a write's is the drive, read back through host pages.</summary>
    protected override byte[] TargetNow()
    {
        if (_read)
        {
            return ScenarioMemory.At(Machine, _buffer!.Address + Spec.Offset, (int)Spec.Size).ToArray();
        }

        return ReadDrive(_disk!);
    }

    public override void Dispose() => _buffer?.Dispose();
}
