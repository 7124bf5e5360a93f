using System;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Pci;

namespace P2pEmu.Machine.Scenarios.Workload;

/// <summary>
/// Memory as the hardware holds it — host RAM, or a device's BAR memory — read and written around the code under test,
/// so a transfer's check never relies on the paths it checks.
/// </summary>
internal static class ScenarioMemory
{
    /// <summary>The bytes at physical or bus address <paramref name="address"/>: host RAM, or the memory of the BAR that decodes it.</summary>
    /// <exception cref="InvalidOperationException">Nothing backs the range.</exception>
    public static Span<byte> At(Machine machine, ulong address, int length)
    {
        PcieFabric fabric = machine.Fabric;
        if (fabric.TryFindRam(address, out ulong offset, out _))
        {
            return fabric.Ram.Region.GetSpan(offset, length);
        }

        foreach (PciFunction function in fabric.Functions)
        {
            if (function is not PciEndpoint endpoint)
            {
                continue;
            }

            foreach (PciBar bar in endpoint.Bars)
            {
                if (bar.Memory is not null && address >= bar.Address && address - bar.Address + (ulong)length <= bar.SizeBytes)
                {
                    return bar.Memory.GetSpan(address - bar.Address, length);
                }
            }
        }

        throw new InvalidOperationException($"No host RAM or BAR memory backs [0x{address:x}, +{length}).");
    }
}
