namespace P2pEmu.Emulator.Devices.Nic;

/// <summary>Which multi-packet message the responder is in the middle of.</summary>
internal enum NicResponderKind
{
    None,
    Write,
    Send,
}
