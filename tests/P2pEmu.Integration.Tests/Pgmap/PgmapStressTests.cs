using System;
using System.Collections.Concurrent;
using System.Threading;
using P2pEmu.Dma.Mapping;
using P2pEmu.Dma.Mm;
using P2pEmu.Dma.P2pDma;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Host;
using Xunit;
using Xunit.Abstractions;

namespace P2pEmu.Integration.Tests.Pgmap;

/// <summary>
/// Worker threads map the provider's <c>allocate</c> file, store through the mapping, pin the pages, have the client
/// device copy host pages into them and read them back, then unpin and unmap — while the test thread removes the
/// provider. Every round checks the removal guarantee (spec §1.5) the moment <c>RemoveProvider</c> returns, and
/// every DMA that completed is checked end to end.
/// </summary>
[Trait("Category", "Stress")]
public sealed class PgmapStressTests
{
    private const int Workers = 2;
    private const int RoundsPerSeed = 600;
    private const int MaxPages = 8;
    private const ulong Page = PgmapRig.Page;
    private const ulong PoolBytes = 2 * PgmapRig.MiB;

    /// <summary>A liveness bound, not a speed claim: a removal that waits this long is stuck on a leaked reference.</summary>
    private static readonly TimeSpan s_stuck = TimeSpan.FromSeconds(30);

    private readonly ITestOutputHelper _output;

    public PgmapStressTests(ITestOutputHelper output)
    {
        _output = output;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void MapPinDmaUnpinUnmap_WhileTheProviderIsRemoved_KeepsTheGuaranteeEveryRound(int seed)
    {
        using var rig = new PgmapRig();
        using var run = new Run(rig, seed);
        for (int round = 0; round < RoundsPerSeed && run.Errors.IsEmpty; round++)
        {
            run.Round(round);
        }

        run.Stop();
        _output.WriteLine($"seed {seed}: {run.Rounds} rounds, {run.DmasChecked} DMAs checked, {run.RemovalsThatWaited} removals waited for pins");
        Assert.True(run.Errors.IsEmpty, string.Join(Environment.NewLine, run.Errors));
        Assert.True(run.DmasChecked > 0, "no DMA was checked");
        Assert.True(run.RemovalsThatWaited > 0, "no removal ever had to wait for a pin");
    }

    /// <summary>One seed's run: the round protocol, the workers' loop and the checks.</summary>
    private sealed class Run : IDisposable
    {
        private readonly PgmapRig _rig;
        private readonly int _seed;
        private readonly Barrier _barrier = new(Workers + 1);
        private readonly MmStruct[] _mms = new MmStruct[Workers];
        private readonly MmStruct _probe;
        private readonly Thread[] _threads = new Thread[Workers];
        private volatile P2pmemAllocateFile? _file;
        private volatile bool _stopping;
        private volatile bool _abort;
        private volatile bool _removalStarted;
        private volatile bool _removed;
        private long _dmasChecked;
        private int _round;

        public Run(PgmapRig rig, int seed)
        {
            _rig = rig;
            _seed = seed;
            for (int w = 0; w < Workers; w++)
            {
                _mms[w] = rig.NewMm($"worker{w}");
            }

            _probe = rig.NewMm("remover");
            for (int w = 0; w < Workers; w++)
            {
                int worker = w;
                _threads[w] = new Thread(() => Worker(worker)) { IsBackground = true, Name = $"pgmap-stress-{w}" };
                _threads[w].Start();
            }
        }

        public ConcurrentQueue<string> Errors { get; } = new();

        public long DmasChecked => Interlocked.Read(ref _dmasChecked);

        public int RemovalsThatWaited { get; private set; }

        public int Rounds { get; private set; }

        /// <summary>Probe, start the workers, remove after a random delay, check, wait for the workers.</summary>
        public void Round(int round)
        {
            _round = round;
            Rounds++;
            var random = new Random(Mix(_seed, round, -1));
            _removalStarted = false;
            _removed = false;
            P2pPagemap? pagemap = null;
            P2pMemPool? pool = null;
            try
            {
                _rig.Probe(PoolBytes);
                pagemap = _rig.P2p.GetP2pdma(_rig.Provider)!.Pagemaps[0];
                pool = _rig.P2p.GetP2pdma(_rig.Provider)!.Pool!;
                _file = _rig.Allocate;
            }
            catch (InvalidOperationException ex)
            {
                Require(false, $"probe: {ex.Message}");
                _abort = true;
            }

            _barrier.SignalAndWait();
            try
            {
                int delay = random.Next(0, 400);
                for (int i = 0; i < delay; i++)
                {
                    Thread.SpinWait(20);
                }

                _removalStarted = true;
                if (pagemap is not null)
                {
                    Errno first = _rig.P2p.RemoveProvider(_rig.Provider, TimeSpan.Zero);
                    if (first == Errno.ETIMEDOUT)
                    {
                        RemovalsThatWaited++;
                        CheckTeardownRefusesNewWork();
                    }

                    Errno removed = first == Errno.None ? first : _rig.P2p.RemoveProvider(_rig.Provider, s_stuck);
                    if (removed == Errno.None)
                    {
                        _removed = true;
                        CheckGuarantee(pagemap, pool!, random);
                    }
                    else
                    {
                        Require(false, $"RemoveProvider returned {removed}: {pagemap}");
                        _abort = true;
                    }
                }
            }
            catch (Exception ex)
            {
                Require(false, $"removal: {ex}");
                _abort = true;
            }

            _barrier.SignalAndWait();
            int left = _file?.Mapping.MapCount ?? 0;
            Require(_abort || left == 0, $"{left} allocate mappings left after the workers unmapped");
        }

        /// <summary>Lets the workers leave and waits for them.</summary>
        public void Stop()
        {
            if (_stopping)
            {
                return;
            }

            _stopping = true;
            _barrier.SignalAndWait();
            foreach (Thread thread in _threads)
            {
                thread.Join();
            }
        }

        public void Dispose()
        {
            Stop();
            foreach (MmStruct mm in _mms)
            {
                mm.Dispose();
            }

            _probe.Dispose();
            _barrier.Dispose();
        }

        private void Worker(int worker)
        {
            MmStruct mm = _mms[worker];
            ulong host = mm.Mmap(0, MaxPages * Page, Prot.Read | Prot.Write, MapFlags.Private | MapFlags.Anonymous | MapFlags.Populate).Value;
            var hostPages = new Page[MaxPages];
            var p2pPages = new Page[MaxPages];
            while (true)
            {
                _barrier.SignalAndWait();
                if (_stopping)
                {
                    return;
                }

                var random = new Random(Mix(_seed, _round, worker));
                try
                {
                    while (!_abort && Iteration(mm, host, hostPages, p2pPages, random))
                    {
                    }
                }
                catch (Exception ex)
                {
                    Errors.Enqueue($"round {_round} worker {worker}: {ex}");
                }

                // Stop() comes only between rounds, so it always meets the workers at the start of one.
                _barrier.SignalAndWait();
            }
        }

        /// <summary>One I/O: false once the allocate file refuses the mmap (the provider is going away).</summary>
        private bool Iteration(MmStruct mm, ulong host, Page[] hostPages, Page[] p2pPages, Random random)
        {
            int n = random.Next(1, MaxPages + 1);
            int bytes = n * (int)Page;
            Result<ulong> map = mm.Mmap(0, (ulong)bytes, Prot.Read | Prot.Write, MapFlags.Shared, _file);
            if (!map.IsSuccess)
            {
                Require(map.Error == Errno.ENODEV, $"mmap of allocate failed with {map.Error}");
                Require(_removalStarted, "mmap of allocate failed before the removal started");
                return false;
            }

            ulong p2p = map.Value;
            var marker = new byte[64];
            random.NextBytes(marker);
            Errno stored = mm.WriteUser(p2p, marker);
            Require(stored == Errno.None || (stored == Errno.EFAULT && _removalStarted), $"store into a live mapping: {stored}");

            byte[] data = new byte[bytes];
            random.NextBytes(data);
            Require(mm.WriteUser(host, data) == Errno.None, "store into host memory failed");
            Result<int> pinned = mm.PinUserPages(p2p, n, FollFlags.Write | FollFlags.PciP2pdma, p2pPages);
            int k = pinned.IsSuccess ? pinned.Value : 0;
            Require(k == n || _removalStarted, $"pinned {k} of {n} mapped pages ({pinned}) before the removal");
            Require(pinned.IsSuccess || pinned.Error == Errno.EFAULT, $"pin failed with {pinned.Error}");
            if (k > 0)
            {
                Require(mm.PinUserPages(host, k, FollFlags.None, hostPages).Value == k, "pin of host pages");
                DmaPinned(hostPages.AsSpan(0, k), p2pPages.AsSpan(0, k), data.AsSpan(0, k * (int)Page), random);
            }

            Require(mm.Munmap(p2p, (ulong)bytes) == Errno.None, "munmap");
            return true;
        }

        /// <summary>The client copies host pages into P2P pages and reads them back; the pins are held throughout.</summary>
        private void DmaPinned(Span<Page> hostPages, Span<Page> p2pPages, ReadOnlySpan<byte> data, Random random)
        {
            DmaApi dma = _rig.Machine.Dma;
            SgTable source = PgmapRig.TableOf(hostPages);
            SgTable target = PgmapRig.TableOf(p2pPages);
            Require(dma.DmaMapSgtable(_rig.ClientDma, source, DmaDirection.ToDevice) == Errno.None, "map host pages");
            Errno mapped = dma.DmaMapSgtable(_rig.ClientDma, target, DmaDirection.Bidirectional);
            Require(mapped == Errno.None, $"map P2P pages: {mapped}");

            DmaResult copy = _rig.ClientPort.Copy(PgmapRig.Segments(source), PgmapRig.Segments(target));
            int spin = random.Next(0, 64); // the rest of the I/O, still pinned
            for (int i = 0; i < spin; i++)
            {
                Thread.SpinWait(20);
            }

            var landed = new byte[data.Length];
            DmaResult readBack = _rig.ClientPort.Read(PgmapRig.Segments(target), landed);
            Require(copy.IsSuccess && copy.BytesTransferred == (ulong)data.Length, $"copy into pinned P2P pages: {copy}");
            Require(readBack.IsSuccess, $"read back of pinned P2P pages: {readBack}");
            string? mismatch = Integrity.Mismatch(data, landed, $"host pages -> {_rig.Client.Name} -> P2P pages, {p2pPages.Length} pages");
            Require(mismatch is null, mismatch ?? string.Empty);
            Interlocked.Increment(ref _dmasChecked);

            dma.DmaUnmapSgtable(_rig.ClientDma, target, DmaDirection.Bidirectional);
            dma.DmaUnmapSgtable(_rig.ClientDma, source, DmaDirection.ToDevice);
            Require(!_removed, "RemoveProvider returned while P2P pages were still pinned");
            Gup.UnpinUserPages(p2pPages);
            Gup.UnpinUserPages(hostPages);
        }

        /// <summary>While the removal drains: no new allocation, no new mmap.</summary>
        private void CheckTeardownRefusesNewWork()
        {
            Require(_rig.P2p.PciAllocP2pmem(_rig.Provider, Page) is null, "pci_alloc_p2pmem succeeded during teardown");
            Result<ulong> map = _probe.Mmap(0, Page, Prot.Read | Prot.Write, MapFlags.Shared, _file);
            Require(map.Error == Errno.ENODEV, $"mmap during teardown: {map}");
        }

        /// <summary>Spec §1.5 when remove() returned: no CPU mapping, nothing alive, and the fabric delivers nothing there.</summary>
        private void CheckGuarantee(P2pPagemap pagemap, P2pMemPool pool, Random random)
        {
            Require(pagemap.IsReleased && pagemap.References == 0, $"page map after removal: {pagemap}");
            Require(pool.AvailableBytes == PoolBytes && pool.Allocations == 0, $"pool after removal: {pool.AvailableBytes} free, {pool.Allocations} allocations");
            Require(_rig.P2p.GetP2pdma(_rig.Provider) is null, "P2PDMA state still attached");
            foreach (MmStruct mm in _mms)
            {
                foreach (var pte in mm.PresentPtes())
                {
                    Require(!pte.Value.IsPciP2pdmaPage && !pagemap.Range.Contains(pte.Value.Phys.Value), $"{mm.Comm} still maps {pte.Value}");
                }
            }

            ulong target = pagemap.Range.Base + ((ulong)random.Next(0, (int)(PoolBytes / Page)) * Page);
            ulong offset = target - _rig.ProviderBar.Address;
            byte[] before = _rig.ProviderBar.Memory!.GetSpan(offset, (int)Page).ToArray();
            DmaResult late = _rig.ClientPort.Write(new DmaAddress(target), new byte[Page]);
            Require(late.Status == RouteStatus.UnsupportedRequest && late.BytesTransferred == 0, $"late DMA after removal: {late}");
            string? changed = Integrity.Mismatch(before, _rig.ProviderBar.Memory!.GetSpan(offset, (int)Page), "BAR page after a late DMA");
            Require(changed is null, changed ?? string.Empty);
        }

        private void Require(bool condition, string what)
        {
            if (!condition)
            {
                Errors.Enqueue($"seed {_seed} round {_round}: {what}");
            }
        }

        private static int Mix(int seed, int round, int worker) => unchecked((seed * 1_000_003) + (round * 7919) + worker);
    }
}
