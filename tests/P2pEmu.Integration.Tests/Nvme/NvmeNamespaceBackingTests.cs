using System;
using System.IO;
using P2pEmu.Emulator.Devices.Nvme;
using Xunit;

namespace P2pEmu.Integration.Tests.Nvme;

public sealed class NvmeNamespaceBackingTests
{
    [Fact]
    public void Default_IsATemporaryFile_MappedButAlreadyUnlinked()
    {
        using var ns = new NvmeNamespace(1, 1UL << 40);

        Assert.True(ns.IsFileBacked);
        Assert.Equal(1UL << 31, ns.BlockCount);
        string path = ns.Memory.BackingPath!;
        Assert.StartsWith(Path.GetTempPath(), path, StringComparison.Ordinal);
        Assert.False(File.Exists(path));
        Assert.Contains(path + " (deleted)", File.ReadAllText("/proc/self/maps"), StringComparison.Ordinal);
        ns.Memory.GetSpan((1UL << 40) - 512, 512).Fill(0x5A);
        Assert.Equal(0x5A, ns.Memory.GetSpan((1UL << 40) - 1, 1)[0]);
    }

    [Fact]
    public void InRam_IsAnonymousMemory()
    {
        using var ns = new NvmeNamespace(1, 1 << 20, inRam: true);

        Assert.False(ns.IsFileBacked);
        Assert.Null(ns.Memory.BackingPath);
    }

    [Fact]
    public void AGivenFile_KeepsWhatWasWritten_AfterTheNamespaceIsGone()
    {
        string path = Path.Combine(Path.GetTempPath(), $"p2pemu-test-{Guid.NewGuid():N}.img");
        try
        {
            using (var ns = new NvmeNamespace(1, 8192, path))
            {
                Assert.True(ns.IsFileBacked);
                ns.Memory.GetSpan(4096, 4).Fill(0xC3);
            }

            byte[] bytes = File.ReadAllBytes(path);
            Assert.Equal(8192, bytes.Length);
            Assert.Equal(new byte[] { 0xC3, 0xC3, 0xC3, 0xC3 }, bytes[4096..4100]);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
