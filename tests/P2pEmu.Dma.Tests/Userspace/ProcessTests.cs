using System;
using System.Collections.Generic;
using P2pEmu.Dma.Userspace;
using P2pEmu.Emulator.Host;
using Xunit;

namespace P2pEmu.Dma.Tests.Userspace;

public sealed class ProcessTests
{
    private sealed class CountingOps : IFileOperations
    {
        public List<OpenFile> Released { get; } = new();

        public void Release(OpenFile file) => Released.Add(file);
    }

    [Fact]
    public void FdInstall_TakesTheLowestFreeDescriptor()
    {
        var ops = new CountingOps();
        var process = new Process();

        int a = process.FdInstall(new OpenFile(ops, "a")).Value;
        int b = process.FdInstall(new OpenFile(ops, "b")).Value;
        process.Close(a);
        int c = process.FdInstall(new OpenFile(ops, "c")).Value;

        Assert.Equal((0, 1, 0), (a, b, c));
        Assert.Equal(2, process.OpenCount);
    }

    [Fact]
    public void FdInstall_AtTheLimit_ReturnsEmfile_AndTheCallerKeepsItsReference()
    {
        var ops = new CountingOps();
        var process = new Process(maxFiles: 2);
        process.FdInstall(new OpenFile(ops, "a"));
        process.FdInstall(new OpenFile(ops, "b"));
        var third = new OpenFile(ops, "c");

        Assert.Equal(Errno.EMFILE, process.FdInstall(third).Error);

        Assert.Equal(1, third.Count);
        Assert.Empty(ops.Released);
    }

    [Fact]
    public void Close_DropsTheDescriptorsReference_TheLastOneReleases_AndAClosedDescriptorIsEbadf()
    {
        var ops = new CountingOps();
        var process = new Process();
        var file = new OpenFile(ops, "x");
        int fd = process.FdInstall(file).Value;
        OpenFile got = process.Fget(fd)!;

        Assert.Equal(Errno.None, process.Close(fd));
        Assert.Empty(ops.Released);
        got.Put();

        Assert.Equal(new[] { file }, ops.Released);
        Assert.Equal(Errno.EBADF, process.Close(fd));
        Assert.Null(process.Fget(fd));
        Assert.Throws<InvalidOperationException>(() => file.Put());
        Assert.Throws<InvalidOperationException>(() => file.Get());
        Assert.False(file.TryGetActive());
    }

    [Fact]
    public void Exit_ClosesEveryDescriptor()
    {
        var ops = new CountingOps();
        var process = new Process();
        process.FdInstall(new OpenFile(ops, "a"));
        process.FdInstall(new OpenFile(ops, "b"), Process.OCloexec);

        process.Exit();

        Assert.Equal(2, ops.Released.Count);
        Assert.Equal(0, process.OpenCount);
    }
}
