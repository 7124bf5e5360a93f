using System;
using System.Collections.Generic;
using System.Threading;
using P2pEmu.Emulator.Host;
using P2pEmu.Emulator.Pci;
using P2pEmu.Emulator.Registers;
using P2pEmu.Emulator.Topology;

namespace P2pEmu.Emulator.Fabric;

/// <summary>
/// The host's interrupt controller, as a device's MSI and MSI-X messages reach it: the root complex decodes every
/// device write to the x86 MSI window (0xFEE0_0000–0xFEEF_FFFF) as an interrupt message instead of a memory write,
/// before any IOMMU DMA remapping (interrupt remapping is not modelled). The host side allocates vectors (an
/// address/data pair per destination and vector, like Linux's x86 vector domain), registers a handler per vector,
/// and reads how many interrupts each vector took. A message that matches no allocated vector is recorded as
/// spurious, never thrown.
/// </summary>
/// <remarks>
/// A message raises the vector its address names (destination APIC ID, bits 19:12) and its data names (vector,
/// bits 7:0) when the data's delivery mode is fixed or lowest priority; the redirection hint, destination mode and
/// trigger bits are ignored. Handlers run on the thread that delivered the message (inside the device's write)
/// and may touch the device again; they must not block. All members are thread-safe.
/// </remarks>
public sealed class MsiController : IMmioHandler
{
    /// <summary>First byte of the x86 MSI window.</summary>
    public const ulong WindowBase = 0xFEE0_0000;

    /// <summary>Size of the x86 MSI window.</summary>
    public const ulong WindowSizeBytes = 0x10_0000;

    /// <summary>Lowest vector handed to devices (Linux FIRST_EXTERNAL_VECTOR).</summary>
    public const int FirstDeviceVector = 0x20;

    /// <summary>Highest vector handed to devices (below Linux's system vectors, which start at 0xEC).</summary>
    public const int LastDeviceVector = 0xEB;

    /// <summary>Destination APIC IDs the allocator uses, 0 to 255 (xAPIC).</summary>
    public const int Destinations = 256;

    /// <summary>Spurious messages kept for inspection (the newest ones); <see cref="SpuriousCount"/> counts all.</summary>
    public const int SpuriousHistory = 256;

    private const uint DeliveryModeMask = 0x700;
    private const uint DeliveryModeLowestPriority = 0x100;

    private readonly Lock _lock = new();
    private readonly Dictionary<int, VectorState> _vectors = new();
    private readonly Queue<SpuriousMsi> _spurious = new();
    private long _delivered;
    private long _spuriousCount;

    /// <summary>Creates a controller with no vector allocated.</summary>
    public MsiController()
    {
        // The root complex claims the window like a register BAR, so a device's write reaches the controller through
        // the same MMIO path as any register write, from the requester's DMA port. The function owning the BAR is on
        // no bus; disposing it frees nothing (a register BAR has no memory) and leaves the BAR working.
        var identity = new EndpointIdentity(0x8086, 0xFFFF, 0x088000, [new BarSpec(0, WindowSizeBytes, false, false, null, this)]);
        var description = new DeviceDescription("msi", DeviceKind.HostBridge, "$.platform.msi");
        using var window = new PciEndpoint(description, "msi", PciExpressPortType.RootComplexIntegratedEndpoint, identity, 0);
        WindowBar = window.GetBar(0)!;
        WindowBar.SetDecode(WindowBase, true);
    }

    /// <summary>Interrupts delivered to an allocated vector.</summary>
    public long DeliveredCount => Volatile.Read(ref _delivered);

    /// <summary>Writes to the window that raised no interrupt.</summary>
    public long SpuriousCount => Volatile.Read(ref _spuriousCount);

    /// <summary>The newest spurious messages (up to <see cref="SpuriousHistory"/>), oldest first.</summary>
    public IReadOnlyList<SpuriousMsi> SpuriousMessages
    {
        get
        {
            lock (_lock)
            {
                return _spurious.ToArray();
            }
        }
    }

    /// <summary>What the root complex routes window writes to.</summary>
    internal PciBar WindowBar { get; }

    /// <summary>Whether <paramref name="address"/> is in the x86 MSI window.</summary>
    public static bool InWindow(ulong address) => unchecked(address - WindowBase) < WindowSizeBytes;

    /// <summary>Allocates the lowest free vector, destination 0 first.</summary>
    /// <returns>The message to program into the device, or ENOSPC when every vector of every destination is taken.</returns>
    public Result<MsiMsg> Allocate()
    {
        lock (_lock)
        {
            for (int destination = 0; destination < Destinations; destination++)
            {
                if (TryAllocateLocked(destination, out MsiMsg message))
                {
                    return Result.Ok(message);
                }
            }
        }

        return Errno.ENOSPC;
    }

    /// <summary>Allocates the lowest free vector on destination APIC <paramref name="destinationId"/>.</summary>
    /// <returns>The message, or ENOSPC when that destination has no free vector.</returns>
    /// <exception cref="ArgumentOutOfRangeException">The destination is not 0 to 255.</exception>
    public Result<MsiMsg> Allocate(int destinationId)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(destinationId);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(destinationId, Destinations);
        lock (_lock)
        {
            return TryAllocateLocked(destinationId, out MsiMsg message) ? Result.Ok(message) : Errno.ENOSPC;
        }
    }

    /// <summary>Frees an allocated vector: its handler and count go, and later messages to it are spurious.</summary>
    /// <exception cref="ArgumentException">The message is not an allocated vector.</exception>
    public void Free(MsiMsg message)
    {
        lock (_lock)
        {
            if (!_vectors.Remove(Key(message)))
            {
                throw new ArgumentException($"{message} is not an allocated vector.", nameof(message));
            }
        }
    }

    /// <summary>Sets (or with null removes) the handler run for each interrupt on the vector.</summary>
    /// <exception cref="ArgumentException">The message is not an allocated vector.</exception>
    public void SetHandler(MsiMsg message, Action<MsiMsg>? handler)
    {
        lock (_lock)
        {
            StateLocked(message).Handler = handler;
        }
    }

    /// <summary>Interrupts the vector took since it was allocated; 0 for a vector not allocated.</summary>
    public long Count(MsiMsg message)
    {
        lock (_lock)
        {
            return _vectors.TryGetValue(Key(message), out VectorState? state) ? state.Count : 0;
        }
    }

    /// <summary>Reads of the window are not interrupt messages: they read all-ones (the hook only claims writes).</summary>
    ulong IMmioHandler.Read(ulong offset, int sizeBytes) => ulong.MaxValue;

    /// <summary>A device's write at <paramref name="offset"/> into the window.</summary>
    void IMmioHandler.Write(ulong offset, int sizeBytes, ulong value) => Deliver(WindowBase + offset, sizeBytes, value);

    private void Deliver(ulong address, int sizeBytes, ulong value)
    {
        uint data = unchecked((uint)value);
        var message = new MsiMsg(address, data);
        Action<MsiMsg>? handler = null;
        bool delivered = false;
        lock (_lock)
        {
            uint mode = data & DeliveryModeMask;
            if (sizeBytes == 4 && (address & 3) == 0 && (mode == 0 || mode == DeliveryModeLowestPriority)
                && _vectors.TryGetValue(Key(message), out VectorState? state))
            {
                state.Count++;
                handler = state.Handler;
                delivered = true;
            }
            else
            {
                _spurious.Enqueue(new SpuriousMsi(address, data, sizeBytes));
                if (_spurious.Count > SpuriousHistory)
                {
                    _spurious.Dequeue();
                }
            }
        }

        if (!delivered)
        {
            Interlocked.Increment(ref _spuriousCount);
            return;
        }

        Interlocked.Increment(ref _delivered);
        handler?.Invoke(new MsiMsg(WindowBase | ((ulong)message.DestinationId << 12), (uint)message.Vector));
    }

    private bool TryAllocateLocked(int destination, out MsiMsg message)
    {
        for (int vector = FirstDeviceVector; vector <= LastDeviceVector; vector++)
        {
            int key = (destination << 8) | vector;
            if (!_vectors.ContainsKey(key))
            {
                _vectors.Add(key, new VectorState());
                message = new MsiMsg(WindowBase | ((ulong)destination << 12), (uint)vector);
                return true;
            }
        }

        message = default;
        return false;
    }

    private VectorState StateLocked(MsiMsg message) =>
        _vectors.TryGetValue(Key(message), out VectorState? state)
            ? state
            : throw new ArgumentException($"{message} is not an allocated vector.", nameof(message));

    private static int Key(MsiMsg message) => (message.DestinationId << 8) | message.Vector;

    private sealed class VectorState
    {
        public long Count;

        public Action<MsiMsg>? Handler;
    }
}
