namespace P2pEmu.Emulator.Pci;

/// <summary>What became of one interrupt a device model signalled through its <see cref="MsiXTable"/>.</summary>
public enum MsiXSignal : byte
{
    /// <summary>The message write was issued and delivered by the fabric.</summary>
    Sent,

    /// <summary>The vector or the function is masked: the vector's Pending bit is set, and it is sent on unmask.</summary>
    Pending,

    /// <summary>MSI-X Enable is clear (or the table is not attached): no message, nothing pending.</summary>
    Disabled,

    /// <summary>The message write failed (Bus Master Enable clear, ACS, unclaimed address): the interrupt is lost.</summary>
    Failed,
}
