using P2pEmu.Emulator.Topology;
using P2pEmu.Testing;

namespace P2pEmu.Dma.Tests.P2pDma;

/// <summary>The topologies of spec §2.5 (and variations), built so their BDFs match the spec's.</summary>
internal static class SpecTopologies
{
    /// <summary>Root-bus host device 8086:29c0 (QEMU Q35): not on the allow list.</summary>
    public const ushort IntelUnlisted = 0x29C0;

    public static readonly AcsFlags Linux = AcsFlags.SV | AcsFlags.RR | AcsFlags.CR | AcsFlags.UF;

    /// <summary>
    /// Topology S: RP 00:01.0 -> USP 01:00.0 -> { DSP0 02:00.0 -> A 03:00.0, DSP1 02:01.0 -> B 04:00.0 }.
    /// </summary>
    public static TopologyDescription S(AcsDescription? dsp0 = null, AcsDescription? dsp1 = null, AcsDescription? usp = null, AcsDescription? a = null,
        CpuVendor cpu = CpuVendor.Intel, ushort hostVendor = 0x8086, ushort hostDevice = IntelUnlisted)
    {
        DeviceDescription sw = Topo.Switch("sw", Topo.Port("dsp0", dsp0!, Topo.Endpoint("A") with { Acs = a }), Topo.Port("dsp1", dsp1!, Topo.Endpoint("B")));
        sw = sw with { Upstream = sw.Upstream! with { Acs = usp } };
        return Machine(cpu, Topo.HostBridge("hb0", Topo.HostDevice(hostVendor, hostDevice), Topo.RootPort("rp", sw) with { Slot = new PciSlot(1, 0) }));
    }

    /// <summary>V3/V4: two functions 01:00.0 and 01:00.1 under RP 00:1c.0.</summary>
    public static TopologyDescription TwoFunctions(AcsDescription? rootPort, ushort hostDevice)
    {
        DeviceDescription device = Topo.Endpoint("F0").WithFunctions(Topo.Endpoint("F1"));
        return Machine(CpuVendor.Intel, Topo.HostBridge("hb0", Topo.HostDevice(0x8086, hostDevice), Topo.RootPort("rp", device) with { Slot = new PciSlot(0x1C, 0), Acs = rootPort }));
    }

    public static TopologyDescription Machine(CpuVendor cpu, params HostBridgeDescription[] hostBridges) =>
        Topo.Machine(hostBridges) with { Platform = PlatformDescription.Default with { CpuVendor = cpu, CpuFamily = cpu == CpuVendor.Amd ? 0x19 : 6, RamBytes = 64 * Topo.MiB } };
}
