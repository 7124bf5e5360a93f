using System;

namespace P2pEmu.Dma.Mm;

/// <summary>Linux <c>PROT_*</c>: the access a mapping allows.</summary>
[Flags]
public enum Prot
{
    /// <summary><c>PROT_NONE</c>.</summary>
    None = 0,

    /// <summary><c>PROT_READ</c>.</summary>
    Read = 0x1,

    /// <summary><c>PROT_WRITE</c>.</summary>
    Write = 0x2,

    /// <summary><c>PROT_EXEC</c>.</summary>
    Exec = 0x4,
}
