using System.IO.Hashing;
using System.Linq;
using P2pEmu.Dma.Block;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Host;
using Xunit;

namespace P2pEmu.Integration.Tests;

/// <summary>What a drive holds, read back through host pages with the block layer's kernel read.</summary>
internal static class DiskContents
{
    public static ulong Hash(Machine.Machine machine, BlockDevice disk, long position, int length)
    {
        int order = HostPageAllocator.OrderForBytes((ulong)length);
        ulong pages = machine.Pages.AllocPages(order).Value;
        try
        {
            var list = Enumerable.Range(0, length / 4096).Select(i => new PhysAddress(pages + ((ulong)i * 4096))).ToList();
            Assert.Equal(length, disk.ReadDirect(position, list, 0, (ulong)length).Value);
            byte[] bytes = new byte[length];
            Assert.True(machine.Fabric.TryHostRead(pages, bytes));
            return XxHash3.HashToUInt64(bytes);
        }
        finally
        {
            machine.Pages.FreePages(pages, order);
        }
    }
}
