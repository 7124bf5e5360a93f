namespace P2pEmu.Emulator.Devices.Net;

/// <summary>
/// AETH syndrome values (IBA vol. 1, 9.7.5.1 "AETH Format", table "AETH Syndrome Field"): bit 7 is reserved,
/// bits 6:5 the type (00b ACK, 01b RNR NAK, 11b NAK) and bits 4:0 the credit count, RNR timer or NAK code.
/// Names follow Linux rxe's <c>enum aeth_syndrome</c> (rxe_hdr.h).
/// </summary>
public static class AethSyndrome
{
    /// <summary>Bits 6:5, the syndrome type.</summary>
    public const byte TypeMask = 0x60;

    /// <summary>Bits 4:0: credit count, RNR timer or NAK code.</summary>
    public const byte ValueMask = 0x1F;

    /// <summary>ACK type; OR in a credit count (<see cref="AckUnlimitedCredits"/> when end-to-end credits are not used).</summary>
    public const byte Ack = 0x00;

    /// <summary>An ACK with credit count 11111b, "invalid credit count": the requester ignores credits (rxe's <c>AETH_ACK_UNLIMITED</c>).</summary>
    public const byte AckUnlimitedCredits = 0x1F;

    /// <summary>RNR NAK type; OR in the 5-bit RNR timer code.</summary>
    public const byte RnrNak = 0x20;

    /// <summary>NAK type; the 5-bit value is the NAK code.</summary>
    public const byte Nak = 0x60;

    /// <summary>NAK code 0: PSN sequence error.</summary>
    public const byte NakPsnSequenceError = 0x60;

    /// <summary>NAK code 1: invalid request.</summary>
    public const byte NakInvalidRequest = 0x61;

    /// <summary>NAK code 2: remote access error.</summary>
    public const byte NakRemoteAccessError = 0x62;

    /// <summary>NAK code 3: remote operational error.</summary>
    public const byte NakRemoteOperationalError = 0x63;

    /// <summary>NAK code 4: invalid RD request (reliable datagram only).</summary>
    public const byte NakInvalidRdRequest = 0x64;
}
