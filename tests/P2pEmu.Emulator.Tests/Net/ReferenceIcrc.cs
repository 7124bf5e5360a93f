using System;

namespace P2pEmu.Emulator.Tests.Net;

/// <summary>
/// An independent ICRC for a contiguous RoCEv2/IPv4 frame without IP options, straight from IBA annex A17:
/// the masked pseudo-packet built byte by byte and a bitwise reflected CRC-32 (no table, no System.IO.Hashing).
/// </summary>
internal static class ReferenceIcrc
{
    public static uint Compute(ReadOnlySpan<byte> frame)
    {
        uint crc = 0xFFFFFFFF;
        for (int i = 0; i < 8; i++)
        {
            crc = Update(crc, 0xFF);                          // the LRH RoCEv2 lacks, all ones
        }

        for (int i = 14; i < frame.Length - 4; i++)
        {
            int ip = i - 14;
            bool masked = ip == 1                             // IPv4 TOS
                || ip == 8                                    // IPv4 TTL
                || ip == 10 || ip == 11                       // IPv4 header checksum
                || ip == 20 + 6 || ip == 20 + 7               // UDP checksum
                || ip == 20 + 8 + 4;                          // BTH resv8a (FECN, BECN)
            crc = Update(crc, masked ? (byte)0xFF : frame[i]);
        }

        return ~crc;
    }

    private static uint Update(uint crc, byte value)
    {
        crc ^= value;
        for (int bit = 0; bit < 8; bit++)
        {
            crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320 : crc >> 1;
        }

        return crc;
    }
}
