using System;

namespace P2pEmu.Emulator.Registers;

/// <summary>A per-field write callback resolved at definition time: the field's mask and shift and the delegate.</summary>
internal readonly struct FieldCallback
{
    public FieldCallback(uint mask, int shift, Action<uint, uint> callback)
    {
        Mask = mask;
        Shift = shift;
        Callback = callback;
    }

    public uint Mask { get; }

    public int Shift { get; }

    public Action<uint, uint> Callback { get; }
}
