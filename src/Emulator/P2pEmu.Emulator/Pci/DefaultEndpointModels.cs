using System;
using System.Collections.Generic;
using P2pEmu.Emulator.Registers;
using P2pEmu.Emulator.Topology;

namespace P2pEmu.Emulator.Pci;

/// <summary>
/// The config-space identity and BAR layout of each topology kind: IDs of real parts (QEMU's NVMe and root
/// port, TI XIO3130 switch ports, a Mellanox ConnectX NIC, an NVIDIA accelerator), register BARs as
/// register space and memory BARs as plain memory. Device models replace the register behaviour.
/// </summary>
public sealed class DefaultEndpointModels : IEndpointModelFactory
{
    /// <summary>Default NIC device memory: none (the NIC is a DMA client unless its entry gives <c>memory</c>).</summary>
    public const ulong DefaultNicMemoryBytes = 0;

    public const ulong DefaultAcceleratorMemoryBytes = 256UL << 20;

    public static DefaultEndpointModels Instance { get; } = new();

    /// <summary>Vendor and device ID a kind gets when its entry names none.</summary>
    public static (ushort VendorId, ushort DeviceId) DefaultIds(DeviceKind kind) => kind switch
    {
        DeviceKind.HostBridge => (0x8086, 0x29C0),
        DeviceKind.RootPort => (0x1B36, 0x000C),
        DeviceKind.Switch => (0x104C, 0x8232),
        DeviceKind.Endpoint => (0x1B36, 0x0005),
        DeviceKind.Nvme => (0x1B36, 0x0010),
        DeviceKind.Nic => (0x15B3, 0x101B),
        DeviceKind.Accelerator => (0x10DE, 0x2330),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };

    /// <summary>Device ID of a switch downstream port (the upstream port uses <see cref="DefaultIds"/>).</summary>
    public const ushort SwitchDownstreamDeviceId = 0x8233;

    public static uint DefaultClassCode(DeviceKind kind) => kind switch
    {
        DeviceKind.HostBridge => 0x060000,
        DeviceKind.Endpoint => 0x00FF00,
        DeviceKind.Nvme => 0x010802,
        DeviceKind.Nic => 0x020000,
        DeviceKind.Accelerator => 0x030200,
        _ => 0x060400,
    };

    public EndpointIdentity Describe(DeviceDescription device)
    {
        ArgumentNullException.ThrowIfNull(device);
        (ushort vendor, ushort deviceId) = DefaultIds(device.Kind);
        var bars = new List<BarSpec>();
        var vfBars = new List<BarSpec>();
        switch (device.Kind)
        {
            case DeviceKind.Nvme:
                bars.Add(new BarSpec(0, 16 << 10, true, false, null, new ReservedRegisterSpace()));
                if (device.CmbBytes > 0)
                {
                    bars.Add(new BarSpec(2, RoundUpToPowerOfTwo(device.CmbBytes), true, true));
                }

                vfBars.Add(new BarSpec(0, 16 << 10, true, false));
                break;
            case DeviceKind.Nic:
                bars.Add(new BarSpec(0, 1 << 20, true, false, null, new ReservedRegisterSpace()));
                ulong nicMemory = device.MemoryBytes != 0 ? device.MemoryBytes : DefaultNicMemoryBytes;
                if (nicMemory > 0)
                {
                    bars.Add(new BarSpec(2, RoundUpToPowerOfTwo(nicMemory), true, true));
                }

                vfBars.Add(new BarSpec(0, 64 << 10, true, false));
                break;
            case DeviceKind.Accelerator:
                bars.Add(new BarSpec(0, 16 << 20, false, false, null, new ReservedRegisterSpace()));
                bars.Add(new BarSpec(1, RoundUpToPowerOfTwo(device.MemoryBytes != 0 ? device.MemoryBytes : DefaultAcceleratorMemoryBytes), true, true));
                vfBars.Add(new BarSpec(0, 1 << 20, true, true));
                break;
            case DeviceKind.Endpoint:
                foreach (BarDescription bar in device.Bars)
                {
                    bars.Add(new BarSpec(bar.Index, bar.SizeBytes, bar.Is64Bit, bar.Prefetchable, bar.BackingPath));
                    vfBars.Add(new BarSpec(bar.Index, bar.SizeBytes, bar.Is64Bit, bar.Prefetchable));
                }

                break;
            case DeviceKind.HostBridge:
                break;
            default:
                throw new ArgumentException($"{device.Name}: kind {device.Kind} is not an endpoint.", nameof(device));
        }

        return new EndpointIdentity(device.VendorId ?? vendor, device.DeviceId ?? deviceId, device.ClassCode ?? DefaultClassCode(device.Kind), bars)
        {
            VfDeviceId = (ushort)((device.DeviceId ?? deviceId) + 1),
            VfBars = vfBars,
        };
    }

    private static ulong RoundUpToPowerOfTwo(ulong bytes)
    {
        ulong size = Math.Max(bytes, 4096);
        return (size & (size - 1)) == 0 ? size : 1UL << (64 - System.Numerics.BitOperations.LeadingZeroCount(size));
    }
}
