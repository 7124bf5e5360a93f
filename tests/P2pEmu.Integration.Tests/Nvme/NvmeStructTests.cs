using System.Runtime.CompilerServices;
using P2pEmu.Emulator.Devices.Nvme;
using Xunit;

namespace P2pEmu.Integration.Tests.Nvme;

public sealed class NvmeStructTests
{
    [Fact]
    public void NvmeCommand_IsSixtyFourBytes() => Assert.Equal(64, Unsafe.SizeOf<NvmeCommand>());

    [Fact]
    public void NvmeCompletion_IsSixteenBytes() => Assert.Equal(16, Unsafe.SizeOf<NvmeCompletion>());

    [Fact]
    public void NvmeCommand_FieldsSitAtTheirSpecDwords()
    {
        var command = new NvmeCommand { Opcode = 0x02, Cid = 0xBEEF, Nsid = 7, Prp1 = 0x1111, Prp2 = 0x2222, Cdw10 = 0xA, Cdw15 = 0xF };
        byte[] bytes = new byte[64];
        System.Runtime.InteropServices.MemoryMarshal.Write(bytes, in command);

        Assert.Equal(0x02, bytes[0]);
        Assert.Equal(0xBEEF, System.BitConverter.ToUInt16(bytes, 2));
        Assert.Equal(7u, System.BitConverter.ToUInt32(bytes, 4));
        Assert.Equal(0x1111UL, System.BitConverter.ToUInt64(bytes, 24));
        Assert.Equal(0x2222UL, System.BitConverter.ToUInt64(bytes, 32));
        Assert.Equal(0xAu, System.BitConverter.ToUInt32(bytes, 40));
        Assert.Equal(0xFu, System.BitConverter.ToUInt32(bytes, 60));
    }

    [Fact]
    public void NvmeCompletion_DecodesStatusField()
    {
        // P=1, SC=0x0C, SCT=1, DNR=1.
        var completion = new NvmeCompletion { StatusPhase = (ushort)(1 | (0x0C << 1) | (1 << 9) | (1 << 15)) };

        Assert.True(completion.Phase);
        Assert.Equal(0x0C, completion.StatusCode);
        Assert.Equal(1, completion.StatusCodeType);
        Assert.True(completion.DoNotRetry);
    }
}
