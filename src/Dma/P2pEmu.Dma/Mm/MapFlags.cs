using System;

namespace P2pEmu.Dma.Mm;

/// <summary>Linux <c>MAP_*</c> flags of mmap(2), with their x86-64 values.</summary>
[Flags]
#pragma warning disable CA1711 // Linux's name.
public enum MapFlags
#pragma warning restore CA1711
{
    None = 0,

    /// <summary><c>MAP_SHARED</c>: stores reach the file, and the mapping is shareable.</summary>
    Shared = 0x01,

    /// <summary><c>MAP_PRIVATE</c>: a copy-on-write mapping.</summary>
    Private = 0x02,

    /// <summary><c>MAP_SHARED_VALIDATE</c>: <see cref="Shared"/>, rejecting unknown flags.</summary>
    SharedValidate = 0x03,

    /// <summary><c>MAP_TYPE</c>: the bits that hold the mapping type.</summary>
    TypeMask = 0x0f,

    /// <summary><c>MAP_FIXED</c>: exactly at the address given, replacing what was mapped there.</summary>
    Fixed = 0x10,

    /// <summary><c>MAP_ANONYMOUS</c>: zero-filled memory, no file.</summary>
    Anonymous = 0x20,

    /// <summary><c>MAP_POPULATE</c>: fault every page in at mmap time.</summary>
    Populate = 0x8000,
}
