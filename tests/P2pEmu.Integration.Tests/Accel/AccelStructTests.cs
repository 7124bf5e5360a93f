using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using P2pEmu.Emulator.Devices.Accel;
using Xunit;

namespace P2pEmu.Integration.Tests.Accel;

public sealed class AccelStructTests
{
    [Fact]
    public void AccelDescriptor_IsThirtyTwoBytes_WithTheDocumentedOffsets()
    {
        Assert.Equal(AccelDescriptor.SizeBytes, Unsafe.SizeOf<AccelDescriptor>());
        Assert.Equal(32, AccelDescriptor.SizeBytes);
        Assert.Equal(0, (int)Marshal.OffsetOf<AccelDescriptor>(nameof(AccelDescriptor.Source)));
        Assert.Equal(8, (int)Marshal.OffsetOf<AccelDescriptor>(nameof(AccelDescriptor.Destination)));
        Assert.Equal(16, (int)Marshal.OffsetOf<AccelDescriptor>(nameof(AccelDescriptor.Length)));
        Assert.Equal(20, (int)Marshal.OffsetOf<AccelDescriptor>(nameof(AccelDescriptor.Flags)));
        Assert.Equal(AccelDescriptor.StatusOffset, (int)Marshal.OffsetOf<AccelDescriptor>(nameof(AccelDescriptor.Status)));
        Assert.Equal(AccelDescriptor.BytesDoneOffset, (int)Marshal.OffsetOf<AccelDescriptor>(nameof(AccelDescriptor.BytesDone)));
    }
}
