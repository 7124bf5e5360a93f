using System.Runtime.CompilerServices;
using P2pEmu.Drivers.Nvme;
using Xunit;

namespace P2pEmu.Integration.Tests.NvmeDriver;

/// <summary>The driver's own NVMe structures have the sizes the specification gives them.</summary>
public sealed class NvmeDriverStructTests
{
    [Fact]
    public void NvmeCommand_Is64Bytes() => Assert.Equal(NvmeCommand.SizeBytes, Unsafe.SizeOf<NvmeCommand>());

    [Fact]
    public void NvmeCompletion_Is16Bytes() => Assert.Equal(NvmeCompletion.SizeBytes, Unsafe.SizeOf<NvmeCompletion>());

    [Fact]
    public void NvmeCommand_FieldsSitAtTheirSpecOffsets()
    {
        var command = new NvmeCommand { Opcode = 1, CommandId = 0x0203, Nsid = 0x04050607, Prp1 = 0x1111, Prp2 = 0x2222, Cdw10 = 0xA, Cdw15 = 0xF };
        byte[] bytes = new byte[64];
        System.Runtime.InteropServices.MemoryMarshal.Write(bytes, in command);

        Assert.Equal(1, bytes[0]);
        Assert.Equal(0x0203, System.BitConverter.ToUInt16(bytes, 2));
        Assert.Equal(0x04050607u, System.BitConverter.ToUInt32(bytes, 4));
        Assert.Equal(0x1111UL, System.BitConverter.ToUInt64(bytes, 24));
        Assert.Equal(0x2222UL, System.BitConverter.ToUInt64(bytes, 32));
        Assert.Equal(0xAu, System.BitConverter.ToUInt32(bytes, 40));
        Assert.Equal(0xFu, System.BitConverter.ToUInt32(bytes, 60));
    }
}
