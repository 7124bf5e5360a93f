using System;
using System.Collections.Generic;
using System.Globalization;
using P2pEmu.Emulator.Host;
using P2pEmu.Emulator.Pci;

namespace P2pEmu.Dma.P2pDma;

/// <summary>
/// The sysfs group <c>/sys/bus/pci/devices/&lt;bdf&gt;/p2pmem</c> of a device with a p2pmem pool (spec §4.4),
/// created by the first <c>pci_p2pdma_add_resource</c>. Like the kernel's show functions, every value is
/// read from the device's P2PDMA state at the time of the read, never cached.
/// </summary>
/// <remarks>
/// The group's fourth file, the binary attribute <c>allocate</c> (<see cref="Allocate"/>), supports only mmap:
/// mapping it allocates p2pmem into a user address space. Provider teardown removes <c>allocate</c> first
/// (zapping every mapping of it), and the whole group at its end; a removed file no longer opens (ENOENT).
/// </remarks>
public sealed class P2pmemSysfs
{
    /// <summary>The group's directory name.</summary>
    public const string GroupName = "p2pmem";

    private readonly P2pDmaHost _host;
    private volatile bool _removed;

    internal P2pmemSysfs(P2pDmaHost host, PciFunction device)
    {
        _host = host;
        Device = device;
        Allocate = new P2pmemAllocateFile(host, device);
    }

    /// <summary>The files of the group, in the kernel's order (the binary attribute last).</summary>
    public static IReadOnlyList<string> AttributeNames { get; } = new[] { "size", "available", "published", "allocate" };

    /// <summary>The device the group belongs to.</summary>
    public PciFunction Device { get; }

    /// <summary>The <c>allocate</c> file, opened: map it with <see cref="Mm.MmStruct.Mmap"/> (MAP_SHARED, offset 0).</summary>
    public P2pmemAllocateFile Allocate { get; }

    /// <summary>True once teardown removed the group (<c>sysfs_remove_group</c> in <c>pci_p2pdma_release</c>).</summary>
    public bool IsRemoved => _removed;

    /// <summary><c>size</c>: total bytes added to the pool (0 once the device has no pool).</summary>
    public ulong Size => _host.GetP2pdma(Device)?.Pool?.SizeBytes ?? 0;

    /// <summary><c>available</c>: free bytes in the pool (0 once the device has no pool).</summary>
    public ulong Available => _host.GetP2pdma(Device)?.Pool?.AvailableBytes ?? 0;

    /// <summary><c>published</c>: whether <c>pci_p2pmem_publish</c> made the memory findable.</summary>
    public bool Published => _host.GetP2pdma(Device)?.P2pmemPublished ?? false;

    /// <summary>
    /// What <c>cat p2pmem/&lt;name&gt;</c> prints: <c>"%zd\n"</c> for <c>size</c> and <c>available</c>,
    /// <c>"%d\n"</c> for <c>published</c>. Errors are what read(2) would fail with: ENOENT for a name the
    /// group does not have, or no longer has after teardown removed it (the open fails), EIO for
    /// <c>allocate</c> (a binary attribute without a read operation).
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="name"/> is null.</exception>
    public Result<string> ReadAttribute(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (_removed || (name == "allocate" && Allocate.IsRemoved))
        {
            return Errno.ENOENT;
        }

        return name switch
        {
            "size" => Result.Ok(FormatSize(Size)),
            "available" => Result.Ok(FormatSize(Available)),
            "published" => Result.Ok(Published ? "1\n" : "0\n"),
            "allocate" => Errno.EIO,
            _ => Errno.ENOENT,
        };
    }

    public override string ToString() => $"{Device.Address}/{GroupName}";

    /// <summary>Teardown's removal of the group; <see cref="Allocate"/> was removed before.</summary>
    internal void MarkRemoved() => _removed = true;

    // "%zd" prints a size_t as signed.
    private static string FormatSize(ulong bytes) => unchecked((long)bytes).ToString(CultureInfo.InvariantCulture) + "\n";
}
