using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using P2pEmu.Dma.Block;
using P2pEmu.Drivers.Nvme;
using P2pEmu.Emulator.Execution;
using P2pEmu.Emulator.Host;
using P2pEmu.Emulator.Topology;
using Xunit;

namespace P2pEmu.Integration.Tests.NvmeDriver;

/// <summary>
/// The concurrent execution mode: every controller processes its queues on its own thread while host threads submit
/// and the interrupt handlers complete; many writers and readers, and a controller disabled or a driver removed while
/// I/O is in flight, with every byte checked.
/// </summary>
[Trait("Category", "Stress")]
public sealed class NvmeConcurrentTests
{
    private const int Chunk = 64 * 1024;
    private const int ChunksPerRegion = 4;
    private const int Region = Chunk * ChunksPerRegion;

    [Fact]
    public void ManyWritersAndReaders_OnTwoControllers_EachOnItsOwnThread_AllRoundTrip()
    {
        using Machine.Machine machine = Machine.Machine.Build(
            DriverTopologies.SwitchPair(AcsFlags.None),
            new Machine.MachineOptions { ExecutionMode = ExecutionMode.Concurrent });
        BlockDevice[] disks = [machine.BlockDevices["nvme0n1"], machine.BlockDevices["nvme1n1"]];
        const int Writers = 8;
        var final = new byte[Writers][];

        Parallel.For(0, Writers, new ParallelOptions { MaxDegreeOfParallelism = Writers }, worker =>
        {
            BlockDevice disk = disks[worker % 2];
            KernelBuffer source = KernelBuffer.Contiguous(machine, 7);
            KernelBuffer target = KernelBuffer.Contiguous(machine, 7);
            var random = new Random(worker);
            byte[] region = new byte[Region];
            long start = (worker / 2) * (long)Region;
            for (int i = 0; i < 24; i++)
            {
                int blocks = random.Next(1, (Region / 512) + 1);
                int offset = random.Next(0, (Region / 512) - blocks + 1) * 512;
                byte[] data = KernelBuffer.Random(blocks * 512, (worker * 1000) + i);
                source.Write(0, data);
                Assert.Equal(data.Length, KernelBuffer.Ok(disk.WriteDirect(start + offset, source.Vecs(0, data.Length))));
                data.CopyTo(region, offset);

                target.Fill(0xEE);
                Assert.Equal(data.Length, KernelBuffer.Ok(disk.ReadDirect(start + offset, target.Vecs(0, data.Length))));
                Assert.Equal(KernelBuffer.Hash(data), KernelBuffer.Hash(target.Read(0, data.Length)));
            }

            final[worker] = region;
        });

        KernelBuffer back = KernelBuffer.Contiguous(machine, 7);
        for (int worker = 0; worker < Writers; worker++)
        {
            back.Fill(0);
            KernelBuffer.Ok(disks[worker % 2].ReadDirect((worker / 2) * (long)Region, back.Vecs(0, Region)));
            Assert.Equal(KernelBuffer.Hash(final[worker]), KernelBuffer.Hash(back.Read(0, Region)));
        }

        Assert.All(machine.NvmeControllers.Values, c => Assert.Equal(ExecutionMode.Concurrent, c.Mode));
        Assert.Equal(0, machine.Fabric.Msi.SpuriousCount);
    }

    [Fact]
    public void ControllerDisabledWhileIoIsInFlight_EveryIoEndsOkOrWithAnErrno_AndNothingIsCorrupt()
    {
        var options = new NvmeDriverOptions { IoTimeoutPolls = 200, AdminTimeoutPolls = 200, UseCmbSqes = false };
        using Machine.Machine machine = DriverTopologies.BuildWith(DriverTopologies.Single(0, IommuMode.Translate, 16 * DriverTopologies.MiB), options, ExecutionMode.Concurrent);
        NvmeDev dev = machine.NvmeDrivers["nvme0"];
        ulong cc = dev.Pdev.GetBar(0)!.Address + 0x14;

        RunUntilItFails(machine, dev.Namespaces[0].Disk, () =>
        {
            byte[] value = new byte[4];
            machine.Fabric.TryHostRead(cc, value);
            value[0] &= 0xFE; // CC.EN = 0: the controller resets between two commands
            machine.Fabric.TryHostWrite(cc, value);
        }, [Errno.ETIMEDOUT, Errno.EIO], dev, options);
    }

    [Fact]
    public void DriverRemovedWhileIoIsInFlight_EveryIoEndsOkOrWithAnErrno_AndNothingIsCorrupt()
    {
        var options = new NvmeDriverOptions { IoTimeoutPolls = 2000, AdminTimeoutPolls = 2000 };
        using Machine.Machine machine = DriverTopologies.BuildWith(DriverTopologies.Single(4 * DriverTopologies.MiB, IommuMode.Translate, 16 * DriverTopologies.MiB), options, ExecutionMode.Concurrent);
        NvmeDev dev = machine.NvmeDrivers["nvme0"];

        RunUntilItFails(machine, dev.Namespaces[0].Disk, () => machine.NvmeDriver.Remove(dev), [Errno.ENODEV, Errno.EIO], dev, options);
        Assert.Equal(NvmeCtrlState.Deleted, dev.State);
    }

    /// <summary>
    /// Six threads write and read back their own regions until an I/O fails; once 24 round trips are done,
    /// <paramref name="disrupt"/> runs. Every failure must carry one of <paramref name="errnos"/>. Then the driver is bound
    /// again and each region must hold, chunk by chunk, its last written data — or, for the chunk whose write failed,
    /// that write's data.
    /// </summary>
    private static void RunUntilItFails(Machine.Machine machine, BlockDevice disk, Action disrupt, Errno[] errnos, NvmeDev dev, NvmeDriverOptions options)
    {
        const int Threads = 6;
        var expected = new byte[Threads * ChunksPerRegion][];
        var failedWrite = new byte[Threads * ChunksPerRegion][];
        var failures = new ConcurrentBag<Errno>();
        int roundTrips = 0;
        var workers = new Task[Threads];
        for (int t = 0; t < Threads; t++)
        {
            int worker = t;
            workers[t] = Task.Factory.StartNew(() =>
            {
                KernelBuffer source = KernelBuffer.Contiguous(machine, 4);
                KernelBuffer target = KernelBuffer.Contiguous(machine, 4);
                for (int i = 0; ; i++)
                {
                    int chunk = (worker * ChunksPerRegion) + (i % ChunksPerRegion);
                    long position = (long)chunk * Chunk;
                    byte[] data = KernelBuffer.Random(Chunk, (worker * 100_000) + i);
                    source.Write(0, data);
                    Result<long> written = disk.WriteDirect(position, source.Vecs(0, Chunk));
                    if (!written.IsSuccess)
                    {
                        failures.Add(written.Error);
                        failedWrite[chunk] = data;
                        return;
                    }

                    expected[chunk] = data;
                    target.Fill(0xEE);
                    Result<long> read = disk.ReadDirect(position, target.Vecs(0, Chunk));
                    if (!read.IsSuccess)
                    {
                        failures.Add(read.Error);
                        return;
                    }

                    Assert.Equal(KernelBuffer.Hash(data), KernelBuffer.Hash(target.Read(0, Chunk)));
                    Interlocked.Increment(ref roundTrips);
                }
            }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        }

        var spinner = default(SpinWait);
        while (Volatile.Read(ref roundTrips) < 24)
        {
            spinner.SpinOnce();
        }

        disrupt();
        Task.WaitAll(workers);

        Assert.Equal(Threads, failures.Count);
        Assert.All(failures, e => Assert.Contains(e, errnos));

        if (machine.NvmeDriver.Find(dev.Pdev) is not null)
        {
            machine.NvmeDriver.Remove(dev);
        }

        NvmeDev again = machine.NvmeDriver.Probe(dev.Pdev, options).Value;
        BlockDevice fresh = again.Namespaces[0].Disk;
        KernelBuffer back = KernelBuffer.Contiguous(machine, 4);
        for (int chunk = 0; chunk < expected.Length; chunk++)
        {
            back.Fill(0);
            KernelBuffer.Ok(fresh.ReadDirect((long)chunk * Chunk, back.Vecs(0, Chunk)));
            ulong found = KernelBuffer.Hash(back.Read(0, Chunk));
            var allowed = new List<ulong> { KernelBuffer.Hash(expected[chunk] ?? new byte[Chunk]) };
            if (failedWrite[chunk] is byte[] failed)
            {
                allowed.Add(KernelBuffer.Hash(failed));
            }

            Assert.Contains(found, allowed);
        }
    }
}
