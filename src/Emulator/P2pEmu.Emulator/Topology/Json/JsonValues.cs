using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text.Json;

namespace P2pEmu.Emulator.Topology.Json;

/// <summary>
/// Typed reads of the JSON values of topology and scenario files. Every failure is a <see cref="TopologyException"/>
/// naming the JSON path of the offending value.
/// </summary>
public static class JsonValues
{
    /// <summary>The path of property <paramref name="name"/> of the object at <paramref name="path"/>.</summary>
    public static string PropertyPath(string path, string name)
    {
        bool plain = name.Length > 0 && (char.IsAsciiLetter(name[0]) || name[0] is '_' or '$');
        foreach (char c in name)
        {
            plain &= char.IsAsciiLetterOrDigit(c) || c is '_' or '$';
        }

        return plain ? $"{path}.{name}" : $"{path}['{name.Replace("'", "\\'", StringComparison.Ordinal)}']";
    }

    /// <summary>The path of element <paramref name="index"/> of the array at <paramref name="path"/>.</summary>
    public static string ItemPath(string path, int index) => string.Create(CultureInfo.InvariantCulture, $"{path}[{index}]");

    /// <summary>"a string", "a number", ... for error messages.</summary>
    public static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => "nothing",
    };

    /// <summary>
    /// Checks that <paramref name="value"/> is an object whose property names are all in
    /// <paramref name="allowed"/>, each at most once.
    /// </summary>
    public static void RequireObject(JsonElement value, string path, string what, string[] allowed)
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            throw new TopologyException(path, $"{what} must be an object, not {Describe(value.ValueKind)}");
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (JsonProperty property in value.EnumerateObject())
        {
            string propertyPath = PropertyPath(path, property.Name);
            if (Array.IndexOf(allowed, property.Name) < 0)
            {
                string? hint = Array.Find(allowed, a => string.Equals(a, property.Name, StringComparison.OrdinalIgnoreCase));
                string suggestion = hint is null ? string.Empty : $" (did you mean '{hint}'?)";
                throw new TopologyException(
                    propertyPath,
                    $"unknown property '{property.Name}'{suggestion}; allowed here: {string.Join(", ", allowed)}");
            }

            if (!seen.Add(property.Name))
            {
                throw new TopologyException(propertyPath, $"duplicate property '{property.Name}'");
            }
        }
    }

    /// <summary>Checks that <paramref name="value"/> is an array.</summary>
    public static void RequireArray(JsonElement value, string path, string name)
    {
        if (value.ValueKind != JsonValueKind.Array)
        {
            throw new TopologyException(path, $"'{name}' must be an array, not {Describe(value.ValueKind)}");
        }
    }

    /// <summary>Reads a JSON string.</summary>
    public static string ReadString(JsonElement value, string path, string name)
    {
        if (value.ValueKind != JsonValueKind.String)
        {
            throw new TopologyException(path, $"'{name}' must be a string, not {Describe(value.ValueKind)}");
        }

        return value.GetString()!;
    }

    /// <summary>Reads a device or port name: a non-empty string without whitespace.</summary>
    public static string ReadName(JsonElement value, string path)
    {
        string name = ReadString(value, path, "name");
        if (name.Length == 0)
        {
            throw new TopologyException(path, "'name' must not be empty");
        }

        foreach (char c in name)
        {
            if (char.IsWhiteSpace(c) || char.IsControl(c))
            {
                throw new TopologyException(path, $"name '{name}' must not contain whitespace or control characters");
            }
        }

        return name;
    }

    /// <summary>Reads a JSON boolean.</summary>
    public static bool ReadBool(JsonElement value, string path, string name) => value.ValueKind switch
    {
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => throw new TopologyException(path, $"'{name}' must be true or false, not {Describe(value.ValueKind)}"),
    };

    /// <summary>
    /// Reads an unsigned integer in 0..<paramref name="max"/> given as a JSON number or a hex string
    /// such as "0x8086".
    /// </summary>
    public static ulong ReadInteger(JsonElement value, string path, string name, ulong max)
    {
        ulong result;
        if (value.ValueKind == JsonValueKind.Number)
        {
            if (!value.TryGetUInt64(out result))
            {
                throw new TopologyException(
                    path,
                    $"'{name}' must be a whole number in 0..{FormatMax(max)}, got {value.GetRawText()}");
            }
        }
        else if (value.ValueKind == JsonValueKind.String)
        {
            string text = value.GetString()!;
            if (!TryParseHex(text, out result))
            {
                throw new TopologyException(
                    path,
                    $"'{name}' must be a number or a hex string like \"0x1f\", got \"{text}\"");
            }
        }
        else
        {
            throw new TopologyException(
                path,
                $"'{name}' must be a number or a hex string like \"0x1f\", not {Describe(value.ValueKind)}");
        }

        if (result > max)
        {
            throw new TopologyException(path, $"'{name}' {FormatValue(value)} is out of range 0..{FormatMax(max)}");
        }

        return result;
    }

    /// <summary>Reads a size in bytes: a positive JSON number or a string such as "64MiB".</summary>
    public static ulong ReadSize(JsonElement value, string path, string name)
    {
        if (value.ValueKind == JsonValueKind.Number)
        {
            if (!value.TryGetUInt64(out ulong bytes) || bytes == 0)
            {
                throw new TopologyException(
                    path,
                    $"'{name}' must be a positive whole number of bytes, got {value.GetRawText()}");
            }

            return bytes;
        }

        if (value.ValueKind == JsonValueKind.String)
        {
            string text = value.GetString()!;
            if (!SizeText.TryParse(text, out ulong bytes, out string? problem))
            {
                throw new TopologyException(path, $"bad size for '{name}': {problem}");
            }

            return bytes;
        }

        throw new TopologyException(
            path,
            $"'{name}' must be a size such as \"64MiB\" or a number of bytes, not {Describe(value.ValueKind)}");
    }

    /// <summary>Reads one of a fixed set of strings (case-insensitive), listing the allowed values on a mistake.</summary>
    public static T ReadEnum<T>(JsonElement value, string path, string name, IReadOnlyList<KeyValuePair<string, T>> table)
    {
        var allowed = new List<string>(table.Count);
        foreach (KeyValuePair<string, T> entry in table)
        {
            allowed.Add($"\"{entry.Key}\"");
        }

        if (value.ValueKind != JsonValueKind.String)
        {
            throw new TopologyException(
                path,
                $"'{name}' must be one of {string.Join(", ", allowed)}, not {Describe(value.ValueKind)}");
        }

        string text = value.GetString()!;
        foreach (KeyValuePair<string, T> entry in table)
        {
            if (string.Equals(entry.Key, text, StringComparison.OrdinalIgnoreCase))
            {
                return entry.Value;
            }
        }

        throw new TopologyException(path, $"unknown {name} \"{text}\"; expected one of {string.Join(", ", allowed)}");
    }

    /// <summary>The table's text for <paramref name="value"/>.</summary>
    public static string EnumText<T>(IReadOnlyList<KeyValuePair<string, T>> table, T value)
    {
        foreach (KeyValuePair<string, T> entry in table)
        {
            if (EqualityComparer<T>.Default.Equals(entry.Value, value))
            {
                return entry.Key;
            }
        }

        throw new ArgumentOutOfRangeException(nameof(value), value, "no topology-file spelling for this value");
    }

    /// <summary>Parses "0x" followed by 1 to 16 hex digits.</summary>
    public static bool TryParseHex(string text, out ulong value)
    {
        value = 0;
        return text.Length > 2 && text.Length <= 18
            && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')
            && ulong.TryParse(text.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value);
    }

    private static string FormatValue(JsonElement value) =>
        value.ValueKind == JsonValueKind.String ? $"\"{value.GetString()}\"" : value.GetRawText();

    private static string FormatMax(ulong max) =>
        max > 255 ? string.Create(CultureInfo.InvariantCulture, $"0x{max:x}") : max.ToString(CultureInfo.InvariantCulture);
}
