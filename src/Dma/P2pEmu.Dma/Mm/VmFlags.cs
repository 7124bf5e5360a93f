using System;

namespace P2pEmu.Dma.Mm;

/// <summary>Linux <c>VM_*</c> flags of a <see cref="VmAreaStruct"/> (<c>vm_flags</c>), with their values.</summary>
[Flags]
#pragma warning disable CA1711 // Linux's name.
public enum VmFlags : ulong
#pragma warning restore CA1711
{
    None = 0,

    /// <summary><c>VM_READ</c>.</summary>
    Read = 0x1,

    /// <summary><c>VM_WRITE</c>.</summary>
    Write = 0x2,

    /// <summary><c>VM_EXEC</c>.</summary>
    Exec = 0x4,

    /// <summary><c>VM_SHARED</c>: a shared, writable-through mapping.</summary>
    Shared = 0x8,

    /// <summary><c>VM_MAYREAD</c>.</summary>
    MayRead = 0x10,

    /// <summary><c>VM_MAYWRITE</c>.</summary>
    MayWrite = 0x20,

    /// <summary><c>VM_MAYEXEC</c>.</summary>
    MayExec = 0x40,

    /// <summary><c>VM_MAYSHARE</c>: mapped with MAP_SHARED (set even when the mapping is read-only).</summary>
    MayShare = 0x80,

    /// <summary><c>VM_PFNMAP</c>: raw page frames without struct pages; GUP refuses it.</summary>
    PfnMap = 0x400,

    /// <summary><c>VM_IO</c>: memory-mapped I/O; GUP refuses it.</summary>
    Io = 0x4000,

    /// <summary><c>VM_DONTEXPAND</c>.</summary>
    DontExpand = 0x40000,

    /// <summary><c>VM_MIXEDMAP</c>: pages inserted by a driver (<c>vm_insert_page</c>).</summary>
    MixedMap = 0x10000000,
}
