using System;
using System.Threading;
using P2pEmu.Dma.Block;
using P2pEmu.Dma.Mm;
using P2pEmu.Drivers.Nvme;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Execution;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Host;
using P2pEmu.Emulator.Pci;
using P2pEmu.Emulator.Topology;
using Xunit;

namespace P2pEmu.Integration.Tests.NvmeDriver;

/// <summary>
/// The whole pgmap path with real devices: a process maps nvme1's CMB through its p2pmem <c>allocate</c> file, reads
/// nvme0's disk into it with O_DIRECT (spec §4.2), and nvme1's removal waits for pins and then leaves nothing behind.
/// </summary>
public sealed class NvmeUserP2pTests
{
    private const ulong Page = 4096;
    private const ulong Bytes = 16 * Page;

    private static MmStruct Process(Machine.Machine machine) => new(machine.Fabric, machine.Pages, "fio");

    private static ulong MapCmb(Machine.Machine machine, MmStruct mm, ulong bytes) =>
        mm.Mmap(0, bytes, Prot.Read | Prot.Write, MapFlags.Shared, machine.P2pDma.GetP2pmemSysfs(machine.Fabric["nvme1"])!.Allocate).Value;

    private static byte[] WriteRandom(Machine.Machine machine, MmStruct mm, int seed)
    {
        byte[] data = new byte[Bytes];
        new Random(seed).NextBytes(data);
        ulong source = mm.Mmap(0, Bytes, Prot.Read | Prot.Write, MapFlags.Private | MapFlags.Anonymous).Value;
        Assert.Equal(Errno.None, mm.WriteUser(source, data));
        Assert.Equal((long)Bytes, machine.BlockDevices["nvme0n1"].PwriteDirect(mm, source, Bytes, 0).Value);
        return data;
    }

    [Theory]
    [InlineData(ExecutionMode.Deterministic)]
    [InlineData(ExecutionMode.Concurrent)]
    public void PreadDirect_IntoAMappingOfAPeersAllocateFile_LandsInItsCmb_ByBusAddress(ExecutionMode mode)
    {
        using Machine.Machine machine = Machine.Machine.Build(DriverTopologies.SwitchPair(AcsFlags.None, cmbOnBoth: true), new Machine.MachineOptions { ExecutionMode = mode });
        using MmStruct mm = Process(machine);
        byte[] data = WriteRandom(machine, mm, 31);
        ulong buffer = MapCmb(machine, mm, Bytes);
        long peerBytes = machine.Fabric.BytesOnPath(RoutePath.SwitchPeer);

        Result<long> read = machine.BlockDevices["nvme0n1"].PreadDirect(mm, buffer, Bytes, 0);

        Assert.Equal((long)Bytes, read.Value);
        byte[] landed = new byte[Bytes];
        Assert.Equal(Errno.None, mm.ReadUser(buffer, landed));
        Assert.Equal(data, landed);
        Assert.True(machine.Fabric.BytesOnPath(RoutePath.SwitchPeer) - peerBytes >= (long)Bytes);
    }

    [Fact]
    public void RemovingTheProvidingController_WaitsForAPin_ThenZapsTheMapping_AndALateDmaChangesNothing()
    {
        using Machine.Machine machine = Machine.Machine.Build(DriverTopologies.SwitchPair(AcsFlags.None, cmbOnBoth: true));
        using MmStruct mm = Process(machine);
        ulong buffer = MapCmb(machine, mm, 2 * Page);
        var pinned = new Page[1];
        Assert.Equal(1, mm.PinUserPages(buffer, 1, FollFlags.Write | FollFlags.PciP2pdma, pinned).Value);
        ulong busAddress = pinned[0].Phys.Value;
        PciFunction nvme1 = machine.Fabric["nvme1"];
        NvmeDev provider = machine.NvmeDrivers["nvme1"];

        using var removed = new ManualResetEventSlim();
        var removal = new Thread(() =>
        {
            machine.NvmeDriver.Remove(provider);
            removed.Set();
        });
        removal.IsBackground = true;
        removal.Start();

        // The mapping is zapped first; an O_DIRECT in flight holds a pin, so the unbind must not finish.
        Assert.True(SpinWait.SpinUntil(() => mm.ReadUser(buffer, new byte[8]) == Errno.EFAULT, TimeSpan.FromSeconds(60)));
        Assert.False(removed.Wait(TimeSpan.FromMilliseconds(300)));

        // The pin's holder may look devices up meanwhile: the unbind does not hold the driver's lock while it waits.
        using var lookedUp = new ManualResetEventSlim();
        var lookup = new Thread(() =>
        {
            _ = machine.BlockDevices.Count;
            lookedUp.Set();
        });
        lookup.IsBackground = true;
        lookup.Start();
        Assert.True(lookedUp.Wait(TimeSpan.FromSeconds(30)));

        Gup.UnpinUserPages(pinned);
        Assert.True(removed.Wait(TimeSpan.FromSeconds(60)));
        removal.Join();

        Assert.Null(machine.P2pDma.GetP2pmemSysfs(nvme1));
        PciBar cmb = ((PciEndpoint)nvme1).GetBar(2)!;
        ulong offset = busAddress - cmb.Address;
        byte[] before = cmb.Memory!.GetSpan(offset, 64).ToArray();
        DmaResult late = new DmaPort(machine.Fabric, machine.Fabric["nvme0"]).Write(new DmaAddress(busAddress), new byte[64]);
        Assert.Equal(RouteStatus.UnsupportedRequest, late.Status);
        Assert.Equal(before, cmb.Memory.GetSpan(offset, 64).ToArray());
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void RemovingTheProvider_WhileAProcessReadsIntoItsCmb_OnDeviceThreads_NeverCorruptsOrLosesACompletedRead(int seed)
    {
        using Machine.Machine machine = Machine.Machine.Build(
            DriverTopologies.SwitchPair(AcsFlags.None, cmbOnBoth: true),
            new Machine.MachineOptions { ExecutionMode = ExecutionMode.Concurrent });
        using MmStruct mm = Process(machine);
        byte[] data = WriteRandom(machine, mm, seed);
        ulong buffer = MapCmb(machine, mm, Bytes);
        PciFunction nvme1 = machine.Fabric["nvme1"];
        PciBar cmb = ((PciEndpoint)nvme1).GetBar(2)!;
        BlockDevice disk = machine.BlockDevices["nvme0n1"];

        // Where the buffer's pages are in the CMB, to check every completed read in the device's memory itself
        // (the CPU mapping may already be zapped when a read returns).
        var pages = new Page[Bytes / Page];
        Assert.Equal(pages.Length, mm.PinUserPages(buffer, pages.Length, FollFlags.Write | FollFlags.PciP2pdma, pages).Value);
        ulong[] pageOffsets = Array.ConvertAll(pages, page => page.Phys.Value - cmb.Address);
        Gup.UnpinUserPages(pages);

        int completed = 0;
        int shortReads = 0;
        string? wrong = null;
        Errno stoppedBy = Errno.None;
        using var enoughReads = new ManualResetEventSlim();
        var reader = new Thread(() =>
        {
            while (true)
            {
                Result<long> read = disk.PreadDirect(mm, buffer, Bytes, 0);
                if (!read.IsSuccess)
                {
                    stoppedBy = read.Error;
                    enoughReads.Set();
                    return;
                }

                completed++;
                if (read.Value != (long)Bytes)
                {
                    // Documented: when the buffer is zapped while it is being pinned, the whole blocks of the pinned
                    // prefix are read and the count is short; the next read finds nothing to pin.
                    shortReads++;
                    if (read.Value <= 0 || read.Value % 512 != 0 || shortReads > 1)
                    {
                        wrong ??= $"read {completed} moved {read.Value} bytes";
                    }
                }

                for (int i = 0; i * (long)Page < read.Value; i++)
                {
                    int n = (int)Math.Min((long)Page, read.Value - (i * (long)Page));
                    if (!cmb.Memory!.GetSpan(pageOffsets[i], n).SequenceEqual(data.AsSpan(i * (int)Page, n)))
                    {
                        wrong ??= $"read {completed} landed wrong bytes in page {i}";
                    }
                }

                if (completed == 3)
                {
                    enoughReads.Set();
                }
            }
        });
        reader.IsBackground = true;
        reader.Start();
        Assert.True(enoughReads.Wait(TimeSpan.FromSeconds(60)));

        machine.NvmeDriver.Remove(machine.NvmeDrivers["nvme1"]);

        Assert.True(reader.Join(TimeSpan.FromSeconds(60)));
        Assert.Null(wrong);
        Assert.True(completed >= 3, $"{completed} completed reads");
        Assert.Equal(Errno.EFAULT, stoppedBy); // the only way a read may fail: its buffer was zapped before it pinned
        Assert.Equal(Errno.EFAULT, mm.ReadUser(buffer, new byte[8]));
        Assert.Null(machine.P2pDma.GetP2pmemSysfs(nvme1));
        Assert.False(nvme1.MemorySpaceEnabled);
        byte[] before = cmb.Memory!.GetSpan(0, (int)Bytes).ToArray();
        DmaResult late = new DmaPort(machine.Fabric, machine.Fabric["nvme0"]).Write(new DmaAddress(cmb.Address), new byte[64]);
        Assert.Equal(RouteStatus.UnsupportedRequest, late.Status);
        Assert.Equal(before, cmb.Memory.GetSpan(0, (int)Bytes).ToArray());
    }
}
