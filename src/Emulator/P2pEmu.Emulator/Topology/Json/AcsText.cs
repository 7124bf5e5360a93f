using System;
using System.Collections.Generic;
using System.Text.Json;

namespace P2pEmu.Emulator.Topology.Json;

/// <summary>ACS bit sets in topology and scenario files: a list of mnemonics (SV TB RR CR UF EC DT) or a hex string.</summary>
public static class AcsText
{
    private static readonly (string Mnemonic, AcsFlags Bit)[] s_bits =
    [
        ("SV", AcsFlags.SV),
        ("TB", AcsFlags.TB),
        ("RR", AcsFlags.RR),
        ("CR", AcsFlags.CR),
        ("UF", AcsFlags.UF),
        ("EC", AcsFlags.EC),
        ("DT", AcsFlags.DT),
    ];

    /// <summary>"SV, TB, RR, CR, UF, EC, DT", for error messages.</summary>
    public static string AllMnemonics { get; } = string.Join(", ", Array.ConvertAll(s_bits, b => b.Mnemonic));

    /// <summary>Reads <c>cap</c> or <c>ctrl</c>.</summary>
    public static AcsFlags Read(JsonElement value, string path, string name)
    {
        if (value.ValueKind == JsonValueKind.String)
        {
            string text = value.GetString()!;
            if (!JsonValues.TryParseHex(text, out ulong bits))
            {
                throw new TopologyException(
                    path,
                    $"'{name}' must be a list of ACS mnemonics like [\"RR\", \"CR\"] or a hex string like \"0x1d\", got \"{text}\"");
            }

            if ((bits & ~(ulong)AcsFlags.All) != 0)
            {
                throw new TopologyException(
                    path,
                    $"'{name}' {text} has bits outside {AllMnemonics} (mask 0x7f)");
            }

            return (AcsFlags)bits;
        }

        if (value.ValueKind != JsonValueKind.Array)
        {
            throw new TopologyException(
                path,
                $"'{name}' must be a list of ACS mnemonics like [\"RR\", \"CR\"] or a hex string like \"0x1d\", not {JsonValues.Describe(value.ValueKind)}");
        }

        AcsFlags result = AcsFlags.None;
        int index = 0;
        foreach (JsonElement item in value.EnumerateArray())
        {
            string itemPath = JsonValues.ItemPath(path, index++);
            string mnemonic = JsonValues.ReadString(item, itemPath, name + " entry");
            AcsFlags bit = AcsFlags.None;
            foreach ((string known, AcsFlags knownBit) in s_bits)
            {
                if (string.Equals(known, mnemonic, StringComparison.OrdinalIgnoreCase))
                {
                    bit = knownBit;
                }
            }

            if (bit == AcsFlags.None)
            {
                throw new TopologyException(
                    itemPath,
                    $"unknown ACS mnemonic '{mnemonic}'; expected one of {AllMnemonics}");
            }

            if ((result & bit) != 0)
            {
                throw new TopologyException(itemPath, $"ACS mnemonic '{mnemonic}' is listed twice in '{name}'");
            }

            result |= bit;
        }

        return result;
    }

    /// <summary>The mnemonics of <paramref name="flags"/> in register order.</summary>
    public static List<string> Mnemonics(AcsFlags flags)
    {
        var names = new List<string>();
        foreach ((string mnemonic, AcsFlags bit) in s_bits)
        {
            if ((flags & bit) != 0)
            {
                names.Add(mnemonic);
            }
        }

        return names;
    }

    /// <summary>"RR CR", or "none", for error messages.</summary>
    public static string Describe(AcsFlags flags)
    {
        List<string> names = Mnemonics(flags);
        return names.Count == 0 ? "none" : string.Join(" ", names);
    }
}
