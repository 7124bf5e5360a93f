using System;
using System.Text.Json;

namespace P2pEmu.Emulator.Topology.Json;

/// <summary>
/// Reads topology files (DESIGN.md, "Topology file"): JSON with comments and trailing commas, validated
/// into <see cref="TopologyDescription"/> records that each carry the JSON path they came from.
/// </summary>
/// <remarks>
/// Every mistake is one <see cref="TopologyException"/> whose <see cref="TopologyException.Path"/> is the
/// JSON path of the offending value (e.g. <c>$.hostBridges[0].devices[1].kind</c>) and whose
/// <see cref="TopologyException.Problem"/> says what is wrong and, for an enum value, what is allowed.
/// Bus numbering is not checked here; the machine builder reports a topology with too many buses.
/// </remarks>
public static class TopologyJsonReader
{
    private static readonly JsonDocumentOptions s_options = new()
    {
        CommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
    };

    /// <summary>Parses and validates the text of a topology file.</summary>
    /// <param name="json">The file's text.</param>
    /// <returns>The validated description.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="json"/> is null.</exception>
    /// <exception cref="TopologyException">
    /// The text is not JSON (path <c>$</c>, with the line and byte of the error) or does not describe a
    /// valid topology.
    /// </exception>
    public static TopologyDescription Parse(string json)
    {
        using JsonDocument document = ParseDocument(json);
        return TopologyJsonParser.Read(document.RootElement);
    }

    /// <summary>
    /// Validates a topology object found inside another document (a scenario's inline <c>topology</c>): as
    /// <see cref="Parse"/>, with every error path under <paramref name="path"/> instead of <c>$</c>.
    /// </summary>
    /// <exception cref="TopologyException">The object does not describe a valid topology.</exception>
    public static TopologyDescription Read(JsonElement value, string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        try
        {
            return TopologyJsonParser.Read(value);
        }
        catch (TopologyException e) when (e.Path.StartsWith('$'))
        {
            throw new TopologyException(path + e.Path[1..], e.Problem);
        }
    }

    /// <summary>Parses JSON the way topology files are read: comments and trailing commas allowed.</summary>
    /// <exception cref="TopologyException">The text is not JSON (path <c>$</c>, with the line and byte of the error).</exception>
    public static JsonDocument ParseDocument(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        try
        {
            return JsonDocument.Parse(json, s_options);
        }
        catch (JsonException ex)
        {
            throw new TopologyException("$", DescribeSyntaxError(ex));
        }
    }

    /// <summary>Reads, parses and validates a topology file.</summary>
    /// <param name="path">The file's path.</param>
    /// <returns>The validated description.</returns>
    /// <exception cref="ArgumentException"><paramref name="path"/> is null or empty.</exception>
    /// <exception cref="TopologyException">
    /// The file does not exist or cannot be read (<see cref="TopologyException.Path"/> is then the file
    /// path), or its text is not a valid topology (see <see cref="Parse"/>).
    /// </exception>
    public static TopologyDescription Load(string path)
    {
        string json = TopologyFile.ReadAllText(path, "topology file");

        return Parse(json);
    }

    private static string DescribeSyntaxError(JsonException ex)
    {
        // JsonException messages end in " LineNumber: n | BytePositionInLine: m."; the position is
        // restated 1-based, the way editors count.
        string message = ex.Message;
        int cut = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
        if (cut >= 0)
        {
            message = message[..cut];
        }

        if (ex.LineNumber is long line && ex.BytePositionInLine is long bytePosition)
        {
            return $"not valid JSON at line {line + 1}, byte {bytePosition + 1}: {message}";
        }

        return $"not valid JSON: {message}";
    }
}
