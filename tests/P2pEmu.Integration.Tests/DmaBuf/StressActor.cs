using System;
using System.Linq;
using System.Threading;
using P2pEmu.Dma.DmaBuf;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Host;
using Xunit;

namespace P2pEmu.Integration.Tests.DmaBuf;

/// <summary>
/// One user of the buffer in the revoke stress: an importer device (DMA writes and verified reads through its port)
/// or the CPU (through a mapping). It owns a region of the buffer and keeps the bytes the region must hold; it works
/// under <see cref="Gate"/>, which the checker takes to compare.
/// </summary>
internal sealed class StressActor
{
    private readonly RevokeStress _stress;
    private readonly Random _random;
    private readonly byte[] _expected;
    private Thread? _thread;

    public StressActor(RevokeStress stress, string name, ulong regionOffset, int regionBytes, int seed, TestImporter? importer, DmaBufCpuMapping? cpu)
    {
        _stress = stress;
        Name = name;
        RegionOffset = regionOffset;
        RegionBytes = regionBytes;
        Importer = importer;
        Cpu = cpu;
        _random = new Random(seed);
        _expected = new byte[regionBytes];
    }

    public string Name { get; }

    /// <summary>Where the region starts in the buffer.</summary>
    public ulong RegionOffset { get; }

    public int RegionBytes { get; }

    public TestImporter? Importer { get; }

    public DmaBufCpuMapping? Cpu { get; }

    public object Gate { get; } = new();

    public long Writes { get; private set; }

    public long Reads { get; private set; }

    public long Refused { get; private set; }

    /// <summary>DMAs cut short by a revoke (only an importer that does not wait in its notify sees these).</summary>
    public long Cut { get; private set; }

    public string? Failure { get; private set; }

    /// <summary>What the region must hold (read under <see cref="Gate"/>).</summary>
    public ReadOnlySpan<byte> ExpectedRegion => _expected;

    /// <summary>Starts the actor's thread; <paramref name="initial"/> is the whole buffer's content.</summary>
    public void Start(byte[] initial)
    {
        initial.AsSpan((int)RegionOffset, RegionBytes).CopyTo(_expected);
        _thread = new Thread(Run) { Name = Name, IsBackground = true };
        _thread.Start();
    }

    public void Join() => _thread!.Join();

    private void Run()
    {
        try
        {
            while (!_stress.Stopping)
            {
                lock (Gate)
                {
                    if (Importer is not null)
                    {
                        DeviceRound();
                    }
                    else
                    {
                        CpuRound();
                    }
                }

                _stress.CountOperation();

                // Two cores run every actor and the controller: give the controller its turn between operations.
                Thread.Yield();
            }
        }
        catch (Exception ex)
        {
            Failure = $"{Name}: {ex}";
            _stress.Stop();
        }
    }

    private void DeviceRound()
    {
        SgEntry[]? segments = Importer!.BeginDma(out DmaFence fence, out Errno refused);
        if (segments is null)
        {
            Assert.Equal(Errno.ENODEV, refused);
            Refused++;
            WaitForMemoryUnlocked();
            return;
        }

        try
        {
            int length = _random.Next(1, Math.Min(RegionBytes, 12 * 1024));
            int at = _random.Next(0, RegionBytes - length + 1);
            SgEntry[] slice = RevokeStress.Slice(segments, RegionOffset + (ulong)at, (ulong)length);
            bool waitsInNotify = Importer.Behaviour == NotifyBehaviour.UnmapInNotify;
            if (!waitsInNotify)
            {
                // Many small transactions keep its DMA in flight longer, so a revoke cuts into it more often.
                slice = RevokeStress.Split(slice, 256);
            }

            if (_random.Next(2) == 0)
            {
                byte[] data = new byte[length];
                _random.NextBytes(data);
                DmaResult written = Importer.Port.Write(slice, data);
                data.AsSpan(0, (int)written.BytesTransferred).CopyTo(_expected.AsSpan(at));
                Check(written, waitsInNotify, "write");
                Writes++;
            }
            else
            {
                byte[] read = new byte[length];
                DmaResult result = Importer.Port.Read(slice, read);
                int done = (int)result.BytesTransferred;
                if (!read.AsSpan(0, done).SequenceEqual(_expected.AsSpan(at, done)))
                {
                    int bad = Enumerable.Range(0, done).First(i => read[i] != _expected[at + i]);
                    throw new InvalidOperationException($"{Name}: read back 0x{read[bad]:x2} at region offset {at + bad}, expected 0x{_expected[at + bad]:x2}");
                }

                Check(result, waitsInNotify, "read");
                Reads++;
            }
        }
        finally
        {
            TestImporter.EndDma(fence);
        }
    }

    private void Check(DmaResult result, bool waitsInNotify, string what)
    {
        if (result.IsSuccess)
        {
            return;
        }

        if (waitsInNotify || result.Status != RouteStatus.UnsupportedRequest)
        {
            throw new InvalidOperationException($"{Name}: a {what} failed although the importer had a live mapping: {result}");
        }

        Cut++;
    }

    private void CpuRound()
    {
        int length = _random.Next(1, 256);
        ulong page = (ulong)_random.Next(0, RegionBytes / (int)DmaBufCpuMapping.PageSize);
        int at = (int)(page * DmaBufCpuMapping.PageSize) + _random.Next(0, (int)DmaBufCpuMapping.PageSize - length);
        ulong offset = RegionOffset + (ulong)at - (Cpu!.PageOffset * DmaBufCpuMapping.PageSize);
        if (_random.Next(2) == 0)
        {
            byte[] data = new byte[length];
            _random.NextBytes(data);
            Errno written = Cpu.Write(offset, data);
            if (written == Errno.None)
            {
                data.CopyTo(_expected.AsSpan(at));
                Writes++;
            }
            else
            {
                Assert.Equal(Errno.EFAULT, written);
                Refused++;
                WaitForMemoryUnlocked();
            }
        }
        else
        {
            byte[] read = new byte[length];
            Errno loaded = Cpu.Read(offset, read);
            if (loaded == Errno.None)
            {
                if (!read.AsSpan().SequenceEqual(_expected.AsSpan(at, length)))
                {
                    throw new InvalidOperationException($"{Name}: a CPU load at region offset {at} returned other bytes than stored");
                }

                Reads++;
            }
            else
            {
                Assert.Equal(Errno.EFAULT, loaded);
                Refused++;
                WaitForMemoryUnlocked();
            }
        }
    }

    /// <summary>Waits for memory decode to come back without holding <see cref="Gate"/>, which the checker needs.</summary>
    private void WaitForMemoryUnlocked()
    {
        _stress.CountRefusal();
        Monitor.Exit(Gate);
        try
        {
            _stress.WaitForMemory();
        }
        finally
        {
            Monitor.Enter(Gate);
        }
    }
}
