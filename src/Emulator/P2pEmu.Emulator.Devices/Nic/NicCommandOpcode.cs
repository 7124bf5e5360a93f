namespace P2pEmu.Emulator.Devices.Nic;

/// <summary>Opcodes of the command block (byte 0); docs/nic.md gives each command's fields.</summary>
public enum NicCommandOpcode : byte
{
    CreateCq = 0x01,
    DestroyCq = 0x02,
    CreateQp = 0x03,
    ModifyQp = 0x04,
    DestroyQp = 0x05,
    CreateMkey = 0x06,
    DestroyMkey = 0x07,
    UpdateMtt = 0x08,
}
