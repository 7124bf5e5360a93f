namespace P2pEmu.Emulator.Devices.Nic;

/// <summary>What an MTT lookup found.</summary>
internal enum NicMkeyLookup
{
    Ok,

    /// <summary>The entry was zapped: the access raises a page fault and waits for the driver to map it again.</summary>
    NotPresent,

    /// <summary>The driver marked the entry in error: the access fails with a protection or access error.</summary>
    Error,
}
