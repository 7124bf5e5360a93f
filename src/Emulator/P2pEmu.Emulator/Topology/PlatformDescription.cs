namespace P2pEmu.Emulator.Topology;

/// <summary>The topology's <c>platform</c>: the CPU (for Linux's AMD Zen P2P rule), the kernel profile, host RAM.</summary>
public sealed record PlatformDescription(CpuVendor CpuVendor, int CpuFamily, KernelProfile Kernel, ulong RamBytes)
{
    /// <summary>Host RAM when the file does not say: 1 GiB, committed lazily.</summary>
    public const ulong DefaultRamBytes = 1UL << 30;

    public static PlatformDescription Default { get; } = new(CpuVendor.Intel, 6, KernelProfile.Linux619, DefaultRamBytes);
}
