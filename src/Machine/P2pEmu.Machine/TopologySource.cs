using System;
using System.IO;
using P2pEmu.Emulator.Topology;
using P2pEmu.Emulator.Topology.Json;
using P2pEmu.Emulator.Topology.Lspci;

namespace P2pEmu.Machine;

/// <summary>
/// Where a topology comes from: a built-in example by name, a JSON topology file, or a real machine's
/// <c>lspci -xxxx</c> dump (recognised by its content, not its name).
/// </summary>
public static class TopologySource
{
    /// <summary>Loads a built-in topology by name, or a topology file or lspci dump by path.</summary>
    /// <exception cref="TopologyException">The file is missing or does not describe a machine.</exception>
    public static TopologyDescription Load(string nameOrPath)
    {
        ArgumentNullException.ThrowIfNull(nameOrPath);
        if (!File.Exists(nameOrPath) && BuiltInTopologies.TryGet(nameOrPath, out string? json))
        {
            return TopologyJsonReader.Parse(json!);
        }

        if (!File.Exists(nameOrPath))
        {
            throw new TopologyException(nameOrPath, $"no such file, and no built-in topology of that name (built-in: {string.Join(", ", BuiltInTopologies.Names)})");
        }

        string text = TopologyFile.ReadAllText(nameOrPath, "topology file");
        return LooksLikeJson(text) ? TopologyJsonReader.Parse(text) : LspciDumpReader.Parse(text, nameOrPath);
    }

    /// <summary>True when the text starts like JSON (an object, or a comment before it) rather than an lspci dump.</summary>
    public static bool LooksLikeJson(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        ReadOnlySpan<char> trimmed = text.AsSpan().TrimStart();
        return trimmed.StartsWith("{") || trimmed.StartsWith("//") || trimmed.StartsWith("/*");
    }
}
