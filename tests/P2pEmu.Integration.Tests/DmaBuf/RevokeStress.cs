using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using P2pEmu.Dma.DmaBuf;
using P2pEmu.Drivers.Vfio;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Pci;
using P2pEmu.Emulator.Topology;
using Xunit;
using DmaBuffer = P2pEmu.Dma.DmaBuf.DmaBuf;

namespace P2pEmu.Integration.Tests.DmaBuf;

/// <summary>
/// The revoke stress: one vfio dma-buf of two BAR ranges, used concurrently by importer devices of the topology
/// (BUS_ADDR, THRU through the IOMMU, behind another root port; one importer does not wait for its DMA in its notify)
/// and, in revoke-2026, by the CPU through a mapping — while a controller revokes and un-revokes it from a seed
/// (memory decode off and on, function reset, bus reset). At every revoke with memory decode off it checks the
/// guarantee: no mapping left, no CPU entry, a replay of every importer's stale addresses fails and changes nothing,
/// and the buffer holds exactly what every completed DMA and store put there.
/// </summary>
internal sealed class RevokeStress : IDisposable
{
    private const int RegionBytes = 16 * 1024;
    private const ulong RangeBytes = 48 * 1024;
    private const ulong SecondRange = 0x100000;

    private readonly VfioMachine _m;
    private readonly Random _random;
    private readonly List<StressActor> _actors = new();
    private readonly int _dmabufFd;
    private readonly DmaBuffer _dmabuf;
    private readonly VfioPciDmaBuf _priv;
    private readonly DmaBufCpuMapping? _cpu;
    private readonly object _memoryGate = new();
    private bool _memoryOn = true;
    private long _operations;
    private long _refusals;
    private int _stopping;

    public RevokeStress(KernelProfile kernel, int seed)
    {
        Kernel = kernel;
        _random = new Random(seed);
        _m = new VfioMachine(kernel);
        _m.Driver.Bind((PciEndpoint)_m.Machine.Fabric["exp.f1"]).Value.Open(_m.User);
        byte[] initial = new byte[2 * RangeBytes];
        _random.NextBytes(initial);
        initial.AsSpan(0, (int)RangeBytes).CopyTo(_m.Bar2.Memory!.GetSpan(0, (int)RangeBytes));
        initial.AsSpan((int)RangeBytes).CopyTo(_m.Bar2.Memory!.GetSpan(SecondRange, (int)RangeBytes));
        _dmabufFd = _m.Export((0, RangeBytes), (SecondRange, RangeBytes)).Value;
        _dmabuf = _m.Get(_dmabufFd);
        _priv = (VfioPciDmaBuf)_dmabuf.Priv;

        Add("near", 0, NotifyBehaviour.UnmapInNotify, seed);
        Add("thru", 16 * 1024, NotifyBehaviour.UnmapInNotify, seed);
        Add("far", 40 * 1024, NotifyBehaviour.UnmapInNotify, seed);
        Add("near", 64 * 1024, NotifyBehaviour.UnmapWithoutWaiting, seed);
        if (kernel == KernelProfile.Revoke2026)
        {
            _cpu = _m.Host.DmaBufMmap(_dmabuf, 20, 4).Value;
            _actors.Add(new StressActor(this, "cpu", 80 * 1024, RegionBytes, seed * 31, null, _cpu));
        }

        foreach (StressActor actor in _actors)
        {
            actor.Start(initial);
        }
    }

    public KernelProfile Kernel { get; }

    public IReadOnlyList<StressActor> Actors => _actors;

    public int Checkpoints { get; private set; }

    public bool Stopping => Volatile.Read(ref _stopping) != 0;

    /// <summary>The sub-list of <paramref name="segments"/> covering <paramref name="length"/> bytes from <paramref name="offset"/>.</summary>
    public static SgEntry[] Slice(SgEntry[] segments, ulong offset, ulong length)
    {
        var slice = new List<SgEntry>();
        foreach (SgEntry segment in segments)
        {
            if (length == 0)
            {
                break;
            }

            if (offset >= segment.Length)
            {
                offset -= segment.Length;
                continue;
            }

            ulong n = Math.Min(segment.Length - offset, length);
            slice.Add(new SgEntry(segment.Address.Add(offset), n));
            length -= n;
            offset = 0;
        }

        return slice.ToArray();
    }

    /// <summary>The same bytes as <paramref name="segments"/>, in pieces of at most <paramref name="pieceBytes"/>.</summary>
    public static SgEntry[] Split(SgEntry[] segments, ulong pieceBytes)
    {
        var pieces = new List<SgEntry>();
        foreach (SgEntry segment in segments)
        {
            for (ulong done = 0; done < segment.Length; done += pieceBytes)
            {
                pieces.Add(new SgEntry(segment.Address.Add(done), Math.Min(pieceBytes, segment.Length - done)));
            }
        }

        return pieces.ToArray();
    }

    public void CountOperation() => Interlocked.Increment(ref _operations);

    public void CountRefusal() => Interlocked.Increment(ref _refusals);

    public void Stop()
    {
        lock (_memoryGate)
        {
            Volatile.Write(ref _stopping, 1);
            Monitor.PulseAll(_memoryGate);
        }
    }

    /// <summary>An actor refused by a revoke waits here until memory decode is back (a real importer waits for the notify).</summary>
    public void WaitForMemory()
    {
        lock (_memoryGate)
        {
            while (!_memoryOn && !Stopping)
            {
                Monitor.Wait(_memoryGate);
            }
        }
    }

    private void SetMemory(bool on)
    {
        lock (_memoryGate)
        {
            _memoryOn = on;
            Monitor.PulseAll(_memoryGate);
        }
    }

    /// <summary>Revokes and un-revokes <paramref name="rounds"/> times, checking the guarantee at every memory-off.</summary>
    public void Run(int rounds)
    {
        for (int round = 0; round < rounds && !Stopping; round++)
        {
            long target = Interlocked.Read(ref _operations) + _random.Next(1, 6);
            SpinWait.SpinUntil(() => Interlocked.Read(ref _operations) >= target || Stopping, TimeSpan.FromSeconds(5));
            int choice = _random.Next(20);
            if (choice < 15)
            {
                SetMemory(false);
                long refusals = Interlocked.Read(ref _refusals);
                _m.MemoryOff();
                Checkpoint();
                if (_random.Next(4) == 0)
                {
                    // Stay revoked until an actor ran into it (attach, map or a CPU fault refused).
                    SpinWait.SpinUntil(() => Interlocked.Read(ref _refusals) > refusals || Stopping, TimeSpan.FromSeconds(5));
                }

                _m.MemoryOn();
                SetMemory(true);
            }
            else if (choice < 19)
            {
                Assert.Equal(Emulator.Host.Errno.None, _m.Vdev.IoctlReset(_m.User, _m.DeviceFd));
            }
            else
            {
                Assert.Equal(Emulator.Host.Errno.None, _m.Vdev.IoctlPciHotReset(_m.User, _m.DeviceFd));
            }

            Assert.Empty(_m.Host.Violations);
        }

        Stop();
        foreach (StressActor actor in _actors)
        {
            actor.Join();
            Assert.Null(actor.Failure);
        }

        _m.MemoryOff();
        Checkpoint();
    }

    /// <summary>
    /// The device is closed: the buffer is revoked for good, the importers detach, the descriptor and the CPU mapping
    /// go, and the last reference releases the buffer.
    /// </summary>
    public void Close()
    {
        _m.User.Close(_m.DeviceFd);
        Assert.True(_priv.Revoked);
        Assert.Null(_priv.Vdev);
        foreach (StressActor actor in _actors.Where(a => a.Importer is not null))
        {
            Assert.Equal(Emulator.Host.Errno.None, actor.Importer!.Detach());
        }

        _cpu?.Unmap();
        _m.User.Close(_dmabufFd);
        Assert.True(_dmabuf.IsReleased);
        Assert.Equal(0, _m.Host.LiveBuffers);
        Assert.Empty(_m.Host.Violations);
    }

    public void Dispose()
    {
        Stop();
        _m.Dispose();
    }

    private void Add(string device, ulong regionOffset, NotifyBehaviour behaviour, int seed)
    {
        var importer = new TestImporter(_m.Host, _dmabuf, _m.Dev(device), _m.Machine.Fabric, behaviour);
        _actors.Add(new StressActor(this, $"{device}/{behaviour}", regionOffset, RegionBytes, (seed * 31) + _actors.Count, importer, null));
    }

    /// <summary>Memory decode is off and the revoke returned: the guarantee, checked with every actor held still.</summary>
    private void Checkpoint()
    {
        Checkpoints++;
        foreach (StressActor actor in _actors)
        {
            Monitor.Enter(actor.Gate);
        }

        try
        {
            Assert.False(_m.Bar2.Decoding);
            Assert.True(_priv.Revoked);
            Assert.Equal(0, _dmabuf.MappedTables);
            Assert.Equal(0, _priv.OutstandingMaps);
            Assert.Equal(0, _cpu?.PresentPages ?? 0);
            foreach (StressActor actor in _actors.Where(a => a.Importer is { LastSegments.Length: > 0 }))
            {
                TestImporter importer = actor.Importer!;
                DmaResult late = importer.Port.Write(importer.LastSegments, new byte[importer.LastSegments.Sum(s => (long)s.Length)]);
                Assert.True(late.Status is RouteStatus.UnsupportedRequest or RouteStatus.IommuFault, $"{actor.Name}: late DMA {late}");
                Assert.Equal(0UL, late.BytesTransferred);
            }

            foreach (StressActor actor in _actors)
            {
                AssertRegion(actor);
            }
        }
        finally
        {
            foreach (StressActor actor in _actors)
            {
                Monitor.Exit(actor.Gate);
            }
        }
    }

    /// <summary>The BAR bytes behind the actor's region, read through the buffer's ranges, against what it expects.</summary>
    private void AssertRegion(StressActor actor)
    {
        ReadOnlySpan<byte> expected = actor.ExpectedRegion;
        for (int i = 0; i < expected.Length;)
        {
            ulong bufferOffset = actor.RegionOffset + (ulong)i;
            ulong barOffset = _priv.PhysAt(bufferOffset) - _m.Bar2.Address;
            int n = (int)Math.Min((ulong)(expected.Length - i), RangeBytes - (bufferOffset % RangeBytes));
            ReadOnlySpan<byte> actual = _m.Bar2.Memory!.GetSpan(barOffset, n);
            int bad = actual.CommonPrefixLength(expected.Slice(i, n));
            Assert.True(bad == n, $"{actor.Name}: buffer offset {bufferOffset + (ulong)bad}: BAR holds 0x{(bad < n ? actual[bad] : 0):x2}, expected 0x{(bad < n ? expected[i + bad] : 0):x2} (checkpoint {Checkpoints})");
            i += n;
        }
    }
}
