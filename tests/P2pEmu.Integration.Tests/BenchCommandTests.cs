using System;
using System.Linq;
using System.Text.Json;
using P2pEmu.Cli;
using Xunit;

namespace P2pEmu.Integration.Tests;

/// <summary><c>p2pemu bench</c>: the macro figures, each beside its same-run memcpy (values are not asserted: they are measurements).</summary>
public sealed class BenchCommandTests
{
    [Fact]
    public void Bench_Json_HasAThroughputRowPerPathAndSize_AndAnIopsRowPerDepth_EachWithItsMemcpyRatio()
    {
        (int exit, string output, string error) = CliRunner.Run("bench", "--sizes", "64KiB,128KiB", "--depths", "1,4", "--json");

        Assert.Equal(Commands.ExitOk, exit);
        Assert.Equal(string.Empty, error);
        using var json = JsonDocument.Parse(output);
        JsonElement root = json.RootElement;
        Assert.Equal(Environment.ProcessorCount, root.GetProperty("machine").GetProperty("processors").GetInt32());
        JsonElement[] rows = [.. root.GetProperty("throughput").EnumerateArray()];
        Assert.Equal(6, rows.Length); // P2P offload, bounce, pgmap at each size
        Assert.Equal([65536L, 65536, 65536, 131072, 131072, 131072], rows.Select(r => r.GetProperty("bytes").GetInt64()));
        Assert.Equal([2.0, 3.0, 1.0, 2.0, 3.0, 1.0], rows.Select(r => Math.Round(r.GetProperty("copiesPerByte").GetDouble(), 2)));
        Assert.All(rows, r =>
        {
            double gbps = r.GetProperty("gbps").GetDouble();
            double memcpy = r.GetProperty("memcpyGbps").GetDouble();
            Assert.True(gbps > 0 && memcpy > 0);
            Assert.Equal(gbps / memcpy, r.GetProperty("ratio").GetDouble(), 9);
        });
        JsonElement[] iops = [.. root.GetProperty("iops").EnumerateArray()];
        Assert.Equal([1, 4], iops.Select(i => i.GetProperty("queueDepth").GetInt32()));
        Assert.All(iops, i => Assert.Equal(i.GetProperty("iops").GetDouble() / i.GetProperty("memcpyCopiesPerSecond").GetDouble(), i.GetProperty("ratio").GetDouble(), 9));
        Assert.All(iops, i => Assert.Equal("nvme0n1", i.GetProperty("disk").GetString()));
    }

    [Fact]
    public void Bench_Plot_WritesAnSvgWithALinePerPathAndOneForMemcpy()
    {
        string file = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"p2pemu-plot-{Guid.NewGuid():N}.svg");
        try
        {
            (int exit, _, _) = CliRunner.Run("bench", "--sizes", "64KiB,128KiB", "--depths", "1", "--plot", file);

            Assert.Equal(Commands.ExitOk, exit);
            var svg = System.Xml.Linq.XDocument.Load(file);
            System.Xml.Linq.XNamespace ns = "http://www.w3.org/2000/svg";
            System.Xml.Linq.XElement[] lines = [.. svg.Descendants(ns + "polyline")];
            Assert.Equal(4, lines.Length);
            Assert.All(lines, l => Assert.Equal(2, l.Attribute("points")!.Value.Split(' ').Length)); // two sizes each
            Assert.Single(lines, l => l.Attribute("stroke-dasharray") is not null); // memcpy
            Assert.Contains(svg.Descendants(ns + "text"), t => t.Value == "128 KiB");
        }
        finally
        {
            System.IO.File.Delete(file);
        }
    }

    [Theory]
    [InlineData("bench", "--sizes", "1000")]
    [InlineData("bench", "--sizes", "lots")]
    [InlineData("bench", "--depths", "0")]
    [InlineData("bench", "--depths", "257")]
    [InlineData("bench", "--bogus")]
    public void BadBenchOptions_ExitWithUsage(params string[] args)
    {
        (int exit, string output, string error) = CliRunner.Run(args);

        Assert.Equal(Commands.ExitUsage, exit);
        Assert.Equal(string.Empty, output);
        Assert.Contains("Usage:", error, StringComparison.Ordinal);
    }
}
