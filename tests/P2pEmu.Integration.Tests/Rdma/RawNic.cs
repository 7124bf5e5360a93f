using System;
using System.Buffers.Binary;
using P2pEmu.Emulator.Devices.Nic;
using P2pEmu.Emulator.Pci;
using Xunit;

namespace P2pEmu.Integration.Tests.Rdma;

/// <summary>
/// A NIC of a machine built without drivers, programmed the way a bare-metal driver would: CPU stores and loads on
/// BAR0 (<c>writel</c>/<c>readl</c>, 64-bit registers low dword first) and structures in host memory. Host memory here is
/// what the device addresses directly (the topology's IOMMU is off).
/// </summary>
internal sealed class RawNic
{
    /// <summary>An address nothing on the fabric claims: DMA there fails, as an Unsupported Request does.</summary>
    public const ulong Unclaimed = 0x0000_7000_0000_0000;

    private readonly P2pEmu.Machine.Machine _machine;
    private ulong _commandBlock;

    public RawNic(P2pEmu.Machine.Machine machine, string name)
    {
        _machine = machine;
        Function = (PciEndpoint)machine.Fabric[name];
        Device = machine.Nics[name];
        Bar0 = Function.GetBar(0)!.Address;
        Function.Config.Write16(PciConfig.Command, PciConfig.CommandMemory | PciConfig.CommandMaster);
    }

    public PciEndpoint Function { get; }

    /// <summary>The model, for <see cref="NicDevice.WaitIdle"/> only.</summary>
    public NicDevice Device { get; }

    public ulong Bar0 { get; }

    public uint Read(uint offset)
    {
        Span<byte> value = stackalloc byte[4];
        Assert.True(_machine.Fabric.TryHostRead(Bar0 + offset, value));
        return BinaryPrimitives.ReadUInt32LittleEndian(value);
    }

    public void Write(uint offset, uint value)
    {
        Span<byte> bytes = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, value);
        Assert.True(_machine.Fabric.TryHostWrite(Bar0 + offset, bytes));
    }

    public void Write64(uint offset, ulong value)
    {
        Write(offset, unchecked((uint)value));
        Write(offset + 4, (uint)(value >> 32));
    }

    public void Enable()
    {
        Write(NicRegister.Control, NicRegister.ControlEnable);
        Assert.Equal(NicRegister.StatusReady, Read(NicRegister.Status) & NicRegister.StatusReady);
    }

    /// <summary>Zeroed, physically contiguous host memory of at least <paramref name="bytes"/> (whole pages).</summary>
    public ulong Alloc(ulong bytes)
    {
        int order = P2pEmu.Emulator.Host.HostPageAllocator.OrderForBytes(bytes);
        ulong address = _machine.Pages.AllocPages(order).Value;
        Assert.True(_machine.Fabric.TryHostWrite(address, new byte[4096UL << order]));
        return address;
    }

    public void Poke(ulong address, ReadOnlySpan<byte> data) => Assert.True(_machine.Fabric.TryHostWrite(address, data));

    public byte[] Peek(ulong address, int length)
    {
        byte[] data = new byte[length];
        Assert.True(_machine.Fabric.TryHostRead(address, data));
        return data;
    }

    /// <summary>Writes a 16-byte Ethernet descriptor {address, length, status 0, flags 0}.</summary>
    public void Descriptor(ulong ring, int index, ulong buffer, ushort length)
    {
        byte[] d = new byte[NicDevice.EthernetDescriptorBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(d, buffer);
        BinaryPrimitives.WriteUInt16LittleEndian(d.AsSpan(8), length);
        Poke(ring + ((ulong)index * NicDevice.EthernetDescriptorBytes), d);
    }

    /// <summary>A descriptor's written-back length and status.</summary>
    public (ushort Length, byte Status) DescriptorState(ulong ring, int index)
    {
        byte[] d = Peek(ring + ((ulong)index * NicDevice.EthernetDescriptorBytes), NicDevice.EthernetDescriptorBytes);
        return (BinaryPrimitives.ReadUInt16LittleEndian(d.AsSpan(8)), d[10]);
    }

    /// <summary>A zeroed command block with <paramref name="opcode"/> and object number <paramref name="index"/>.</summary>
    public static byte[] Block(byte opcode, uint index)
    {
        byte[] cmd = new byte[NicDevice.CommandBytes];
        cmd[0] = opcode;
        BinaryPrimitives.WriteUInt32LittleEndian(cmd.AsSpan(4), index);
        return cmd;
    }

    public static void Put32(byte[] cmd, int at, uint value) => BinaryPrimitives.WriteUInt32LittleEndian(cmd.AsSpan(at), value);

    public static void Put64(byte[] cmd, int at, ulong value) => BinaryPrimitives.WriteUInt64LittleEndian(cmd.AsSpan(at), value);

    /// <summary>Runs <paramref name="cmd"/> from a command block in host memory and returns CMD_STATUS.</summary>
    public NicCommandStatus Exec(byte[] cmd)
    {
        if (_commandBlock == 0)
        {
            _commandBlock = Alloc(4096);
        }

        Poke(_commandBlock, cmd);
        Write64(NicRegister.CommandAddress, _commandBlock);
        Write(NicRegister.CommandDoorbell, 1);
        return (NicCommandStatus)Read(NicRegister.CommandStatus);
    }
}
