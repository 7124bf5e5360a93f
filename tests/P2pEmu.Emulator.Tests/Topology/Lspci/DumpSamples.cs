using System;
using P2pEmu.Emulator.Topology;

namespace P2pEmu.Emulator.Tests.Topology.Lspci;

/// <summary>Topologies and dump texts the lspci tests share.</summary>
internal static class DumpSamples
{
    private const ulong MiB = 1UL << 20;

    /// <summary>
    /// A hand-written <c>lspci -xxx</c> fragment in the shape of a real desktop (Coffee Lake host bridge, PEG
    /// root port with a Samsung NVMe SSD behind it, integrated graphics, xHCI, LPC and an I219 NIC as a
    /// multi-function device): 256-byte blocks, no domain prefix, capability chains as real parts have them.
    /// </summary>
    /// <remarks>
    /// BARs: graphics 64-bit at fc000000 (the root port's window at fe000000 is the next resource) and
    /// 64-bit prefetchable at 40_0000_0000 (nothing above); the NVMe 64-bit at fe000000 inside the root
    /// port's window fe000000-fe0fffff; xHCI 64-bit at fe300000 (the NIC's BAR at fe320000 is next); the
    /// NIC 32-bit at fe320000.
    /// </remarks>
    public const string RealDesktopXxx = """
        00:00.0 Host bridge: Intel Corporation 8th Gen Core 8-core Desktop Processor Host Bridge/DRAM Registers [Coffee Lake S] (rev 07)
        00: 86 80 30 3e 06 00 90 20 07 00 00 06 00 00 00 00
        10: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        20: 00 00 00 00 00 00 00 00 00 00 00 00 43 10 94 86
        30: 00 00 00 00 e0 00 00 00 00 00 00 00 00 00 00 00
        40: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        50: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        60: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        70: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        80: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        90: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        a0: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        b0: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        c0: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        d0: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        e0: 09 00 10 01 00 00 00 00 00 00 00 00 00 00 00 00
        f0: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00

        00:01.0 PCI bridge: Intel Corporation 6th-10th Gen Core Processor PCIe Controller (x16) (rev 0d)
        00: 86 80 01 19 07 04 10 00 0d 00 04 06 00 00 81 00
        10: 00 00 00 00 00 00 00 00 00 01 01 00 f0 00 00 00
        20: 00 fe 00 fe f1 ff 01 00 00 00 00 00 00 00 00 00
        30: 00 00 00 00 88 00 00 00 00 00 00 00 ff 01 12 00
        40: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        50: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        60: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        70: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        80: 01 90 03 c8 08 00 00 00 0d 80 00 00 43 10 94 86
        90: 05 a0 81 00 00 00 00 00 00 00 00 00 00 00 00 00
        a0: 10 00 42 00 01 80 00 00 00 00 00 00 03 3c 00 01
        b0: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        c0: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        d0: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        e0: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        f0: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00

        00:02.0 VGA compatible controller: Intel Corporation CoffeeLake-S GT2 [UHD Graphics 630] (rev 02)
        00: 86 80 92 3e 07 00 10 00 02 00 00 03 00 00 00 00
        10: 04 00 00 fc 00 00 00 00 0c 00 00 00 40 00 00 00
        20: 01 f0 00 00 00 00 00 00 00 00 00 00 43 10 94 86
        30: 00 00 00 00 40 00 00 00 00 00 00 00 ff 01 00 00
        40: 09 70 0c 01 00 00 00 00 00 00 00 00 00 00 00 00
        50: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        60: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        70: 10 ac 92 00 00 00 00 00 00 00 00 00 00 00 00 00
        80: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        90: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        a0: 00 00 00 00 00 00 00 00 00 00 00 00 05 d0 00 00
        b0: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        c0: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        d0: 01 00 22 00 00 00 00 00 00 00 00 00 00 00 00 00
        e0: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        f0: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00

        00:14.0 USB controller: Intel Corporation Cannon Lake PCH USB 3.1 xHCI Host Controller (rev 10)
        00: 86 80 6d a3 06 04 90 02 10 30 03 0c 00 00 00 00
        10: 04 00 30 fe 00 00 00 00 00 00 00 00 00 00 00 00
        20: 00 00 00 00 00 00 00 00 00 00 00 00 43 10 94 86
        30: 00 00 00 00 70 00 00 00 00 00 00 00 7b 01 00 00
        40: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        50: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        60: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        70: 01 80 c2 c9 00 00 00 00 00 00 00 00 00 00 00 00
        80: 05 00 86 00 00 00 00 00 00 00 00 00 00 00 00 00
        90: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        a0: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        b0: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        c0: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        d0: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        e0: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        f0: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00

        00:1f.0 ISA bridge: Intel Corporation Z390 Chipset LPC/eSPI Controller (rev 10)
        00: 86 80 06 a3 07 04 00 02 10 00 01 06 00 00 80 00
        10: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        20: 00 00 00 00 00 00 00 00 00 00 00 00 43 10 94 86
        30: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        40: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        50: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        60: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        70: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        80: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        90: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        a0: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        b0: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        c0: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        d0: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        e0: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        f0: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00

        00:1f.6 Ethernet controller: Intel Corporation Ethernet Connection (7) I219-V (rev 10)
        00: 86 80 bc 15 06 04 10 00 10 00 00 02 00 00 00 00
        10: 00 00 32 fe 00 00 00 00 00 00 00 00 00 00 00 00
        20: 00 00 00 00 00 00 00 00 00 00 00 00 43 10 72 86
        30: 00 00 00 00 c8 00 00 00 00 00 00 00 7d 01 00 00
        40: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        50: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        60: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        70: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        80: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        90: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        a0: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        b0: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        c0: 00 00 00 00 00 00 00 00 01 d0 22 c8 00 00 00 00
        d0: 05 e0 81 00 00 00 00 00 00 00 00 00 00 00 00 00
        e0: 13 00 06 03 00 00 00 00 00 00 00 00 00 00 00 00
        f0: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00

        01:00.0 Non-Volatile memory controller: Samsung Electronics Co Ltd NVMe SSD Controller SM981/PM981/PM983
        00: 4d 14 08 a8 06 04 10 00 00 02 08 01 00 00 00 00
        10: 04 00 00 fe 00 00 00 00 00 00 00 00 00 00 00 00
        20: 00 00 00 00 00 00 00 00 00 00 00 00 4d 14 01 a8
        30: 00 00 00 00 40 00 00 00 00 00 00 00 ff 01 00 00
        40: 01 50 03 00 00 00 00 00 00 00 00 00 00 00 00 00
        50: 05 70 80 00 00 00 00 00 00 00 00 00 00 00 00 00
        60: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        70: 10 b0 02 00 c1 8f 00 10 00 00 00 00 00 00 00 00
        80: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        90: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        a0: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        b0: 11 00 20 00 00 30 00 00 00 20 00 00 00 00 00 00
        c0: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        d0: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        e0: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        f0: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
        """;

    /// <summary>
    /// One host bridge with the host-bridge function, a root port with a switch (downstream port 0 with ACS
    /// RR CR and an NVMe with a CMB below it, port 1 with a NIC), a root port with ACS SV EC and an egress
    /// vector above a two-BAR endpoint, and an RCiEP with a second function and 2 VFs; a second host bridge
    /// in domain 1 with root bus 40 and a root port above an endpoint.
    /// </summary>
    public static TopologyDescription Machine()
    {
        var nvme = new DeviceDescription("nvme0", DeviceKind.Nvme, "$.nvme0") { CmbBytes = 64 * MiB };
        var nic = new DeviceDescription("nic0", DeviceKind.Nic, "$.nic0") { MemoryBytes = 32 * MiB };
        var switch0 = new DeviceDescription("sw0", DeviceKind.Switch, "$.sw0")
        {
            Upstream = new PortDescription("sw0.up", null, Array.Empty<DeviceDescription>(), "$.sw0.up"),
            Ports =
            [
                new PortDescription("sw0.dp0", new AcsDescription(AcsFlags.All, AcsFlags.RR | AcsFlags.CR, 0), [nvme], "$.sw0.dp0"),
                new PortDescription("sw0.dp1", null, [nic], "$.sw0.dp1"),
            ],
        };
        var twoBars = new DeviceDescription("ep2", DeviceKind.Endpoint, "$.ep2")
        {
            VendorId = 0x10EE,
            DeviceId = 0x9038,
            ClassCode = 0x058000,
            Bars = [new BarDescription(0, 64 << 10, false, false), new BarDescription(2, 2 * MiB, true, true)],
        };
        var rciep = new DeviceDescription("rciep0", DeviceKind.Endpoint, "$.rciep0")
        {
            Slot = new PciSlot(4, 0),
            Bars = [new BarDescription(0, 16 * MiB, true, true)],
            Functions = [new DeviceDescription("rciep0.f1", DeviceKind.Endpoint, "$.rciep0.f1") { Slot = new PciSlot(4, 1) }],
            Vfs = 2,
        };
        HostBridgeDescription hb0 = new(
            "hb0",
            0,
            0,
            IommuMode.Translate,
            true,
            [
                new DeviceDescription("hostdev", DeviceKind.HostBridge, "$.hostdev") { Slot = new PciSlot(0, 0), VendorId = 0x8086, DeviceId = 0x2020 },
                new DeviceDescription("rp1", DeviceKind.RootPort, "$.rp1") { Slot = new PciSlot(1, 0), Children = [switch0] },
                new DeviceDescription("rp2", DeviceKind.RootPort, "$.rp2")
                {
                    Slot = new PciSlot(2, 0),
                    Acs = new AcsDescription(AcsFlags.All, AcsFlags.SV | AcsFlags.EC, 0x5) { EgressVectorBits = 8 },
                    Children = [twoBars],
                },
                rciep,
            ],
            "$.hostBridges[0]");
        HostBridgeDescription hb1 = new(
            "hb1",
            1,
            0x40,
            IommuMode.Off,
            false,
            [
                new DeviceDescription("rp3", DeviceKind.RootPort, "$.rp3")
                {
                    Slot = new PciSlot(0, 0),
                    Children = [new DeviceDescription("ep3", DeviceKind.Endpoint, "$.ep3") { Bars = [new BarDescription(0, MiB, true, true)] }],
                },
            ],
            "$.hostBridges[1]");
        return new TopologyDescription(PlatformDescription.Default with { RamBytes = 64 * MiB }, [hb0, hb1]);
    }
}
