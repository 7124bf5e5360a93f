using System;

namespace P2pEmu.Emulator.Registers;

/// <summary>
/// How a register field behaves when the guest reads or writes it, after Renode's <c>FieldMode</c>.
/// Combine one read behaviour with at most one write behaviour, e.g. <c>Read | WriteOneToClear</c>.
/// </summary>
/// <remarks>
/// A field without a write behaviour is read-only: guest writes to it are ignored. A field without a read
/// behaviour is write-only: it reads as zero. Device code bypasses all of this through
/// <see cref="Register.Value"/>.
/// </remarks>
[Flags]
public enum FieldMode
{
    /// <summary>The guest reads the field's current value.</summary>
    Read = 1 << 0,

    /// <summary>A guest write stores the written bits.</summary>
    Write = 1 << 1,

    /// <summary>Read and write: a plain read/write field.</summary>
    ReadWrite = Read | Write,

    /// <summary>Writing 1 to a bit sets it; writing 0 leaves it unchanged (RW1S).</summary>
    WriteOneToSet = 1 << 2,

    /// <summary>Writing 1 to a bit clears it; writing 0 leaves it unchanged (RW1C), e.g. status bits.</summary>
    WriteOneToClear = 1 << 3,

    /// <summary>Writing 0 to a bit clears it; writing 1 leaves it unchanged.</summary>
    WriteZeroToClear = 1 << 4,

    /// <summary>A guest read returns the field's value and then clears it (RC). Implies readable.</summary>
    ReadToClear = 1 << 5,
}
