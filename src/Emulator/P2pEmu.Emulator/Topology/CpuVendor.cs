namespace P2pEmu.Emulator.Topology;

/// <summary>CPU vendor as Linux's <c>boot_cpu_data.x86_vendor</c> distinguishes it for P2PDMA.</summary>
public enum CpuVendor
{
    Intel,
    Amd,
    Hygon,
    Other,
}
