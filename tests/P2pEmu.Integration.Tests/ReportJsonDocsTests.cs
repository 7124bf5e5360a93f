using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Text.RegularExpressions;
using P2pEmu.Testing;
using Xunit;

namespace P2pEmu.Integration.Tests;

/// <summary>docs/report-json.md names exactly the fields `p2pemu run --json` and `--soak --json` print, section by section.</summary>
public sealed partial class ReportJsonDocsTests
{
    private static readonly Dictionary<string, string[]> s_documented = Sections();

    [Fact]
    public void TheRunsFields_AreTheDocumentedOnes()
    {
        (int exit, string output, _) = CliRunner.Run("run", "--json");

        Assert.Equal(0, exit);
        using var json = JsonDocument.Parse(output);
        JsonElement root = json.RootElement;
        Assert.Equal(s_documented["The run"], Keys(root));
        foreach (string array in new[] { "transfers", "storage", "rdma", "paths" })
        {
            JsonElement[] items = [.. root.GetProperty(array).EnumerateArray()];
            Assert.NotEmpty(items);
            Assert.All(items, item => Assert.Equal(s_documented[$"`{array}[]`"], Keys(item)));
        }
    }

    [Fact]
    public void TheSoaksFields_AreTheDocumentedOnes()
    {
        (int exit, string output, _) = CliRunner.Run("run", "--soak", "--duration", "0.2", "--json");

        Assert.Equal(0, exit);
        using var json = JsonDocument.Parse(output);
        Assert.Equal(s_documented["The soak"], Keys(json.RootElement));
        Assert.All(json.RootElement.GetProperty("paths").EnumerateArray(), path => Assert.Equal(s_documented["`paths[]`"], Keys(path)));
    }

    [Fact]
    public void AScenariosFields_AreTheDocumentedOnes()
    {
        string file = Path.Combine(RepositoryPaths.Root, "examples", "scenarios", "pgmap-removal.jsonc");
        (int exit, string output, _) = CliRunner.Run("run", file, "--json");

        Assert.Equal(0, exit);
        using var json = JsonDocument.Parse(output);
        Assert.Equal(s_documented["A scenario"], Keys(json.RootElement));
        Assert.All(json.RootElement.GetProperty("paths").EnumerateArray(), path => Assert.Equal(s_documented["`paths[]`"], Keys(path)));
        Assert.All(json.RootElement.GetProperty("faults").EnumerateArray(), fault => Assert.Equal(s_documented["`faults[]`"], Keys(fault)));
        Assert.NotEmpty(json.RootElement.GetProperty("faults").EnumerateArray());
    }

    private static string[] Keys(JsonElement element) => [.. element.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal)];

    /// <summary>Each heading's table: the backquoted names in its first column.</summary>
    private static Dictionary<string, string[]> Sections()
    {
        var sections = new Dictionary<string, string[]>(StringComparer.Ordinal);
        string? heading = null;
        var fields = new List<string>();
        foreach (string line in File.ReadLines(Path.Combine(RepositoryPaths.Root, "docs", "report-json.md")).Append("# end"))
        {
            if (line.StartsWith('#'))
            {
                if (heading is not null && fields.Count > 0)
                {
                    sections[heading] = [.. fields.Order(StringComparer.Ordinal)];
                }

                heading = line.TrimStart('#', ' ');
                fields.Clear();
            }
            else if (FieldRow().Match(line) is { Success: true } row)
            {
                fields.Add(row.Groups[1].Value);
            }
        }

        return sections;
    }

    [GeneratedRegex(@"^\| `([a-zA-Z]+)` +\|")]
    private static partial Regex FieldRow();
}
