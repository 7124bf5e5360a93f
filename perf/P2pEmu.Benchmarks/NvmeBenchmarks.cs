using System;
using System.Collections.Generic;
using System.IO.Hashing;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using P2pEmu.Dma.Block;
using P2pEmu.Dma.P2pDma;
using P2pEmu.Drivers.Nvme;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Memory;
using P2pEmu.Emulator.Pci;
using P2pEmu.Emulator.Topology;
using P2pEmu.Machine.Bench;

namespace P2pEmu.Benchmarks;

/// <summary>
/// The NVMe stack end to end (issue 5): the block layer, the NVMe driver, the controller model and the fabric, with a
/// translating IOMMU and (for comparison with emulators whose guests run without one) with none, on
/// <see cref="BenchTopologies.NvmePair"/>. Random 4 KiB reads at queue depth 1, 4, 16 and 64,
/// and 1 MiB sequential reads into host RAM (through the IOMMU) and into the peer controller's CMB (P2P, BUS_ADDR,
/// turned around in the switch), each group against a memcpy of the same bytes in the same run. A QD 64 pair over a
/// medium of 64 blocks that stays in the caches (<see cref="RandomRead4KiBQd64HotMedia"/>) measures the stack's own
/// cost per read apart from the machine's memory.
/// </summary>
/// <remarks>
/// <para>
/// IOPS: every <c>RandomRead4KiBQd*</c> invocation completes <see cref="RandomReads"/> reads and declares them as its
/// operations (<c>OperationsPerInvoke</c>), so BenchmarkDotNet's Mean is the time per read and IOPS = 10^9 / Mean in
/// ns. The baseline <see cref="Memcpy4KiBRandom"/> is the copy each read makes: 4 KiB from a random block of the
/// same namespace memory into a host page. Targets: 1,000,000 IOPS at queue depth 64 (Mean ≤ 1,000 ns); the 1 MiB reads
/// at least 80% of memcpy (Ratio ≤ 1.25).
/// </para>
/// <para>
/// The namespace is RAM-backed (anonymous shared memory, what a topology without a backing file gets) and
/// pre-faulted; at 256 MiB it is 8× the L3, so a random read's source is not in the caches, as a real medium's data
/// is not. The device runs inline (deterministic mode): a doorbell write makes it fetch, execute and complete the
/// new commands before it returns, so every cost — driver, device model, fabric, IOMMU, copy — is on the one
/// benchmark core. The controller is probed with one I/O queue (one submitting CPU).
/// </para>
/// <para>Not sealed: BenchmarkDotNet derives from benchmark classes.</para>
/// </remarks>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
public class NvmeBenchmarks
{
    /// <summary>Reads per <c>RandomRead4KiBQd*</c> invocation.</summary>
    public const int RandomReads = 4096;

    private const int Block = 4096;
    private const int SequentialBytes = 1 << 20;
    private const int MaxDepth = 64;

    // Blocks the hot-media reads choose from: 256 KiB, in the L2 and in the reach of the TLB.
    private const ulong HotBlocks = 64;

    private Machine.Machine _machine = null!;

    /// <summary>The host bridge's IOMMU: translate (every read maps and unmaps an IOVA) or off (dma-direct).</summary>
    [Params(IommuMode.Translate, IommuMode.Off)]
    public IommuMode Iommu { get; set; } = IommuMode.Translate;
    private BlockDevice _disk = null!;
    private NvmeDev _nvme0 = null!;
    private BarRegion _media = null!;
    private BarRegion _ram = null!;
    private BarRegion _cmbRegion = null!;
    private QueueDepthRunner _qd1 = null!;
    private QueueDepthRunner _qd4 = null!;
    private QueueDepthRunner _qd16 = null!;
    private QueueDepthRunner _qd64 = null!;
    private QueueDepthRunner _qd64HotMedia = null!;
    private ulong[] _memcpyPages = null!;
    private ulong _memcpyRandom = 0x9E37_79B9_7F4A_7C15;
    private ulong _blockCount;
    private ulong _hostBuffer;
    private P2pMemory _cmb = null!;
    private List<BioVec> _hostVecs = null!;
    private List<BioVec> _cmbVecs = null!;
    private long _hostPosition;
    private long _cmbPosition;
    private long _memcpyHostPosition;
    private long _memcpyCmbPosition;

    [GlobalSetup]
    public void Setup()
    {
        _machine = Machine.Machine.Build(BenchTopologies.NvmePair(Iommu), bindDrivers: false);
        var options = new NvmeDriverOptions { IoQueueCount = 0, PollQueues = 1 }; // one polled queue, as io_uring's hipri I/O uses
        foreach (PciFunction function in _machine.Fabric.Functions)
        {
            if (NvmePciDriver.Matches(function) && !_machine.NvmeDriver.Probe(function, options).IsSuccess)
            {
                throw new InvalidOperationException($"The NVMe driver did not bind to {function}.");
            }
        }

        _nvme0 = _machine.NvmeDrivers["nvme0"];
        _disk = _machine.BlockDevices["nvme0n1"];
        _ram = _machine.Fabric.Ram.Region;
        _media = _machine.NvmeControllers["nvme0"].Namespaces[0].Memory;
        _blockCount = BenchTopologies.NvmeNamespaceBytes / Block;
        FillMedia();

        _qd1 = Runner(1, 1);
        _qd4 = Runner(4, 4);
        _qd16 = Runner(16, 16);
        _qd64 = Runner(MaxDepth, 64);
        _qd64HotMedia = new QueueDepthRunner(_disk, _machine.P2pDma, AllocPages(MaxDepth), HotBlocks, 65);
        _memcpyPages = AllocPages(MaxDepth);

        _hostBuffer = _machine.Pages.AllocPages(8).Value; // 256 contiguous pages: one 1 MiB bio_vec
        _ram.Prefault(_hostBuffer, SequentialBytes);
        _hostVecs = new List<BioVec> { new(new PhysAddress(_hostBuffer), 0, SequentialBytes) };
        _cmb = _machine.P2pDma.PciAllocP2pmem(_machine.Fabric["nvme1"], SequentialBytes)
            ?? throw new InvalidOperationException("nvme1 published no CMB p2pmem.");
        PciBar cmbBar = ((PciEndpoint)_machine.Fabric["nvme1"]).GetBar(2)!;
        _cmbRegion = cmbBar.Memory!;
        _cmbRegion.Prefault(_cmb.BarOffset, SequentialBytes);
        _cmbVecs = new List<BioVec> { new(new PhysAddress(_cmb.BusAddress), 0, SequentialBytes) };

        Verify();
    }

    [GlobalCleanup]
    public void Cleanup() => _machine.Dispose();

    /// <summary>The copy a random read makes: 4 KiB from a random block of the namespace memory into a host page.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = RandomReads)]
    [BenchmarkCategory("Random4KiB")]
    public void Memcpy4KiBRandom() => CopyRandomBlocks(_blockCount);

    /// <summary>
    /// The same copy from the first <see cref="HotBlocks"/> blocks only, whose media stays in the caches and the TLB:
    /// the baseline of <see cref="RandomRead4KiBQd64HotMedia"/>.
    /// </summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = RandomReads)]
    [BenchmarkCategory("Random4KiBHotMedia")]
    public void Memcpy4KiBHotMedia() => CopyRandomBlocks(HotBlocks);

    /// <summary>
    /// QD 64 random reads from the first <see cref="HotBlocks"/> blocks: the stack with a medium that never misses.
    /// The time beyond <see cref="Memcpy4KiBHotMedia"/> is what the stack itself costs per read, and it depends far
    /// less on how fast the machine's memory and TLB misses are on the day than the cold reads do.
    /// </summary>
    [Benchmark(OperationsPerInvoke = RandomReads)]
    [BenchmarkCategory("Random4KiBHotMedia")]
    public void RandomRead4KiBQd64HotMedia() => _qd64HotMedia.Run(RandomReads);

    [Benchmark(OperationsPerInvoke = RandomReads)]
    [BenchmarkCategory("Random4KiB")]
    public void RandomRead4KiBQd1() => _qd1.Run(RandomReads);

    [Benchmark(OperationsPerInvoke = RandomReads)]
    [BenchmarkCategory("Random4KiB")]
    public void RandomRead4KiBQd4() => _qd4.Run(RandomReads);

    [Benchmark(OperationsPerInvoke = RandomReads)]
    [BenchmarkCategory("Random4KiB")]
    public void RandomRead4KiBQd16() => _qd16.Run(RandomReads);

    [Benchmark(OperationsPerInvoke = RandomReads)]
    [BenchmarkCategory("Random4KiB")]
    public void RandomRead4KiBQd64() => _qd64.Run(RandomReads);

    /// <summary>memcpy of the next sequential 1 MiB of the namespace memory into the host buffer.</summary>
    [Benchmark(Baseline = true)]
    [BenchmarkCategory("Sequential1MiBToHostRam")]
    public void MemcpyOneMiBToRam()
    {
        long position = NextSequential(ref _memcpyHostPosition);
        _media.GetSpan((ulong)position, SequentialBytes).CopyTo(_ram.GetSpan(_hostBuffer, SequentialBytes));
    }

    /// <summary>O_DIRECT read of the next sequential 1 MiB into 256 contiguous host pages, mapped through the IOMMU.</summary>
    [Benchmark]
    [BenchmarkCategory("Sequential1MiBToHostRam")]
    public long SequentialRead1MiBToHostRam() => Read(NextSequential(ref _hostPosition), _hostVecs);

    /// <summary>memcpy of the next sequential 1 MiB of the namespace memory into the peer's CMB.</summary>
    [Benchmark(Baseline = true)]
    [BenchmarkCategory("Sequential1MiBToPeerCmb")]
    public void MemcpyOneMiBToCmb()
    {
        long position = NextSequential(ref _memcpyCmbPosition);
        _media.GetSpan((ulong)position, SequentialBytes).CopyTo(_cmbRegion.GetSpan(_cmb.BarOffset, SequentialBytes));
    }

    /// <summary>O_DIRECT read of the next sequential 1 MiB into the peer's CMB (p2pmem): bus addresses, through the switch.</summary>
    [Benchmark]
    [BenchmarkCategory("Sequential1MiBToPeerCmb")]
    public long SequentialRead1MiBToPeerCmb() => Read(NextSequential(ref _cmbPosition), _cmbVecs);

    private long Read(long position, List<BioVec> buffer)
    {
        var read = _disk.ReadDirect(position, buffer);
        if (!read.IsSuccess || read.Value != SequentialBytes)
        {
            throw new InvalidOperationException($"A 1 MiB read at {position} failed: {(read.IsSuccess ? read.Value.ToString(System.Globalization.CultureInfo.InvariantCulture) + " bytes" : read.Error.ToString())}.");
        }

        return read.Value;
    }

    private static long NextSequential(ref long position)
    {
        long at = position;
        position = (at + SequentialBytes) % (long)BenchTopologies.NvmeNamespaceBytes;
        return at;
    }

    /// <summary><see cref="RandomReads"/> copies of a random one of the first <paramref name="blocks"/> blocks into the host pages in turn.</summary>
    private void CopyRandomBlocks(ulong blocks)
    {
        ulong[] pages = _memcpyPages;
        for (int i = 0; i < RandomReads; i++)
        {
            ulong block = NextMemcpyBlock() % blocks;
            _media.GetSpan(block * Block, Block).CopyTo(_ram.GetSpan(pages[i & (MaxDepth - 1)], Block));
        }
    }

    private ulong NextMemcpyBlock()
    {
        ulong x = _memcpyRandom;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        _memcpyRandom = x;
        return x;
    }

    private QueueDepthRunner Runner(int depth, ulong seed) =>
        new(_disk, _machine.P2pDma, AllocPages(depth), _blockCount, seed);

    /// <summary>Single host pages from the page allocator, pre-faulted (the O_DIRECT buffers of the reads).</summary>
    private ulong[] AllocPages(int count)
    {
        var pages = new ulong[count];
        for (int i = 0; i < count; i++)
        {
            pages[i] = _machine.Pages.AllocPage().Value;
            _ram.Prefault(pages[i], Block);
        }

        return pages;
    }

    /// <summary>Random bytes over the whole namespace (written to the media directly), so every read has data to check.</summary>
    private void FillMedia()
    {
        _media.Prefault(0, BenchTopologies.NvmeNamespaceBytes);
        var random = new Random(5);
        byte[] chunk = new byte[SequentialBytes];
        for (ulong at = 0; at < BenchTopologies.NvmeNamespaceBytes; at += SequentialBytes)
        {
            random.NextBytes(chunk);
            chunk.CopyTo(_media.GetSpan(at, SequentialBytes));
        }
    }

    /// <summary>Fails the run unless every benchmark moves the right bytes along the expected path.</summary>
    private void Verify()
    {
        bool translating = Iommu == IommuMode.Translate;
        if (_nvme0.DmaDev.UsesIommu != translating || _machine.P2pDma.Explain(_machine.Fabric["nvme1"], _machine.Fabric["nvme0"]).MapType != PciP2pdmaMapType.BusAddr)
        {
            throw new InvalidOperationException($"nvme0 must map {(translating ? "through the IOMMU" : "directly")} and reach nvme1's CMB as BUS_ADDR.");
        }

        long hostBytes = _machine.Fabric.BytesOnPath(RoutePath.HostMemory);
        long misses = translating ? _machine.Iommus[0].IoTlb.Misses : 0;
        int checkedReads = 0;
        foreach (QueueDepthRunner runner in new[] { _qd1, _qd4, _qd16, _qd64, _qd64HotMedia })
        {
            runner.Run(3 * runner.Depth + 5, (block, page) =>
            {
                if (!_ram.GetSpan(page, Block).SequenceEqual(_media.GetSpan(block * Block, Block)))
                {
                    throw new InvalidOperationException($"QD{runner.Depth}: the 4 KiB read of block {block} landed wrong.");
                }

                checkedReads++;
            });
        }

        // Each read moved 4 KiB to host RAM (plus its 16-byte completion), through IOMMU translations it had to walk.
        long landed = _machine.Fabric.BytesOnPath(RoutePath.HostMemory) - hostBytes;
        if (landed < (long)checkedReads * Block || (translating && _machine.Iommus[0].IoTlb.Misses - misses < checkedReads))
        {
            throw new InvalidOperationException($"The 4 KiB reads did not go to host RAM as mapped ({landed} bytes, {checkedReads} reads).");
        }

        VerifySequential(() => SequentialRead1MiBToHostRam(), ref _hostPosition, _ram.GetSpan(_hostBuffer, SequentialBytes), RoutePath.HostMemory, "host RAM");
        VerifySequential(() => SequentialRead1MiBToPeerCmb(), ref _cmbPosition, _cmbRegion.GetSpan(_cmb.BarOffset, SequentialBytes), RoutePath.SwitchPeer, "the peer CMB");
        if ((translating && _machine.Iommus[0].Faults.TotalCount != 0) || _nvme0.State != NvmeCtrlState.Live)
        {
            throw new InvalidOperationException("An IOMMU fault or a controller failure during verification.");
        }
    }

    private void VerifySequential(Func<long> read, ref long position, Span<byte> target, RoutePath path, string where)
    {
        target.Clear();
        long at = position;
        long onPath = _machine.Fabric.BytesOnPath(path);
        long switchPeer = _machine.Fabric.BytesOnPath(RoutePath.SwitchPeer);
        read();
        ulong expected = XxHash3.HashToUInt64(_media.GetSpan((ulong)at, SequentialBytes));
        if (XxHash3.HashToUInt64(target) != expected || _machine.Fabric.BytesOnPath(path) - onPath < SequentialBytes)
        {
            throw new InvalidOperationException($"The 1 MiB read into {where} did not land there along {path}.");
        }

        if (path != RoutePath.SwitchPeer && _machine.Fabric.BytesOnPath(RoutePath.SwitchPeer) != switchPeer)
        {
            throw new InvalidOperationException($"The 1 MiB read into {where} went peer to peer.");
        }

        position = 0;
    }
}
