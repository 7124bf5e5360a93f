using System;
using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using P2pEmu.Emulator.Fabric;

namespace P2pEmu.Drivers.Pci;

/// <summary>
/// The CPU's loads and stores as a driver makes them: <c>readl</c>/<c>writel</c>, the 64-bit halves helpers and
/// <c>memcpy_toio</c>/<c>memcpy_fromio</c>, all through the root complex (<see cref="PcieFabric.TryHostRead"/>), to
/// host RAM or to a BAR alike. A read nothing claims returns all-ones, as a master abort does.
/// </summary>
internal sealed class CpuAccess
{
    private readonly PcieFabric _fabric;

    public CpuAccess(PcieFabric fabric)
    {
        _fabric = fabric;
    }

    /// <summary><c>readl</c>.</summary>
    public uint Readl(ulong address)
    {
        Span<byte> bytes = stackalloc byte[4];
        _fabric.TryHostRead(address, bytes);
        return BinaryPrimitives.ReadUInt32LittleEndian(bytes);
    }

    /// <summary><c>writel</c>.</summary>
    public void Writel(ulong address, uint value)
    {
        Span<byte> bytes = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, value);
        _fabric.TryHostWrite(address, bytes);
    }

    /// <summary><c>readq</c>: one 64-bit access (x86-64).</summary>
    public ulong Readq(ulong address)
    {
        Span<byte> bytes = stackalloc byte[8];
        _fabric.TryHostRead(address, bytes);
        return BinaryPrimitives.ReadUInt64LittleEndian(bytes);
    }

    /// <summary><c>lo_hi_writeq</c>: the low dword, then the high one.</summary>
    public void LoHiWriteq(ulong address, ulong value)
    {
        Writel(address, unchecked((uint)value));
        Writel(address + 4, (uint)(value >> 32));
    }

    /// <summary><c>hi_lo_writeq</c>: the high dword, then the low one (the low one holds the enable bits).</summary>
    public void HiLoWriteq(ulong address, ulong value)
    {
        Writel(address + 4, (uint)(value >> 32));
        Writel(address, unchecked((uint)value));
    }

    /// <summary>Copies <paramref name="source"/> to <paramref name="address"/> (RAM, or MMIO as <c>memcpy_toio</c>).</summary>
    public bool Write(ulong address, ReadOnlySpan<byte> source) => _fabric.TryHostWrite(address, source);

    /// <summary>Copies from <paramref name="address"/> (RAM, or MMIO as <c>memcpy_fromio</c>).</summary>
    public bool Read(ulong address, Span<byte> destination) => _fabric.TryHostRead(address, destination);

    /// <summary>Stores one structure.</summary>
    public bool WriteStruct<T>(ulong address, in T value)
        where T : unmanaged
    {
        Span<byte> bytes = stackalloc byte[Unsafe.SizeOf<T>()];
        MemoryMarshal.Write(bytes, in value);
        return _fabric.TryHostWrite(address, bytes);
    }

    /// <summary>Loads one structure.</summary>
    public T ReadStruct<T>(ulong address)
        where T : unmanaged
    {
        Span<byte> bytes = stackalloc byte[Unsafe.SizeOf<T>()];
        _fabric.TryHostRead(address, bytes);
        return MemoryMarshal.Read<T>(bytes);
    }
}
