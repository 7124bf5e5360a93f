using System;
using P2pEmu.Dma.Block;
using P2pEmu.Dma.P2pDma;
using P2pEmu.Emulator.Addressing;

namespace P2pEmu.Machine.Bench;

/// <summary>
/// Random 4 KiB reads at a fixed queue depth through the block layer's asynchronous path, the way io_uring drives a
/// polled NVMe queue: <see cref="Depth"/> bios in flight, each into its own host RAM page; the oldest is polled for
/// (<see cref="BlockDevice.BioPoll"/> with an <see cref="IoCompBatch"/>, ended after each poll as io_uring's iopoll
/// does), and every bio found done is replaced by a new read at a random 4 KiB block, the replacements of one pass
/// submitted under one <see cref="BlkPlug"/> (one doorbell per pass).
/// </summary>
/// <remarks>No allocation per I/O: the bios are reset and reused, the block numbers come from a xorshift generator.</remarks>
public sealed class QueueDepthRunner
{
    private const uint BlockBytes = 4096;

    private readonly BlockDevice _disk;
    private readonly Bio[] _bios;
    private readonly ulong[] _pages;
    private readonly ulong[] _blocks;
    private readonly ulong _blockCount;
    private readonly BlkPlug _plug = new();
    private readonly IoCompBatch _iob = new();
    private ulong _random;

    /// <param name="pages">One host RAM page per bio (so <see cref="Depth"/> is their count).</param>
    /// <param name="blockCount">Reads go to blocks 0 to <paramref name="blockCount"/> − 1 (4 KiB each).</param>
    public QueueDepthRunner(BlockDevice disk, P2pDmaHost p2p, ulong[] pages, ulong blockCount, ulong seed)
    {
        System.ArgumentNullException.ThrowIfNull(disk);
        System.ArgumentNullException.ThrowIfNull(p2p);
        System.ArgumentNullException.ThrowIfNull(pages);
        System.ArgumentOutOfRangeException.ThrowIfZero(blockCount);
        _disk = disk;
        _pages = pages;
        _blockCount = blockCount;
        _random = seed | 1;
        _bios = new Bio[pages.Length];
        _blocks = new ulong[pages.Length];
        for (int i = 0; i < _bios.Length; i++)
        {
            _bios[i] = new Bio(p2p, ReqOp.Read, 0);
        }
    }

    /// <summary>Reads in flight.</summary>
    public int Depth => _bios.Length;

    /// <summary>
    /// Completes <paramref name="reads"/> reads, keeping <see cref="Depth"/> in flight until fewer remain; with
    /// <paramref name="check"/>, each finished read is handed to it (block number, the page it landed in).
    /// </summary>
    /// <exception cref="InvalidOperationException">A read failed.</exception>
    public void Run(int reads, Action<ulong, ulong>? check = null)
    {
        int submitted = Math.Min(reads, Depth);
        _plug.Start();
        for (int i = 0; i < submitted; i++)
        {
            Submit(i);
        }

        _plug.Finish();
        int head = 0;
        int completed = 0;
        while (completed < reads)
        {
            Bio oldest = _bios[head];
            while (!oldest.IsDone)
            {
                _disk.BioPoll(oldest, _iob);
                _iob.CompleteBatch();
            }

            _plug.Start();
            do
            {
                Bio done = _bios[head];
                if (done.Status != BlkStatus.Ok)
                {
                    throw new InvalidOperationException($"A 4 KiB read of block {_blocks[head]} failed: {done.Status}.");
                }

                check?.Invoke(_blocks[head], _pages[head]);
                completed++;
                if (submitted < reads)
                {
                    Submit(head);
                    submitted++;
                }

                head = head + 1 == Depth ? 0 : head + 1;
            }
            while (completed < reads && _bios[head].IsDone);

            _plug.Finish();
        }
    }

    private void Submit(int slot)
    {
        ulong block = Next() % _blockCount;
        _blocks[slot] = block;
        Bio bio = _bios[slot];
        bio.Reset(ReqOp.Read, block * (BlockBytes >> BlockGeometry.SectorShift));
        bio.BioAddPage(new PhysAddress(_pages[slot]), BlockBytes, 0);
        _disk.SubmitBio(bio);
    }

    /// <summary>xorshift64: a different 4 KiB block each time, no allocation, no lock.</summary>
    private ulong Next()
    {
        ulong x = _random;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        _random = x;
        return x;
    }
}
