using System.Collections.Generic;
using System.IO;
using P2pEmu.Machine.Scenarios.Workload;
using Xunit;

namespace P2pEmu.Integration.Tests.Integrity;

/// <summary>
/// Every path of the default run as scenario transfers — P2P by bus address and through the host bridge, storage into
/// host pages and p2pmem, pgmap, RDMA into host RAM and a peer's CMB, the DMABUF import — under every IOMMU mode, with
/// unaligned offsets, odd sizes and several seeds. Each transfer's target is compared with the seeded source and its
/// old contents (<see cref="DeliveryCheck"/>).
/// </summary>
public sealed class PathMatrixTests
{
    private static readonly Dictionary<string, string[]> s_paths = new()
    {
        ["dma-bus-addr"] = ["\"path\": \"dma\", \"from\": \"nvme0\", \"to\": \"nic0\""],
        ["dma-thru-host-bridge"] = ["\"path\": \"dma\", \"from\": \"nic1\", \"to\": \"nvme0\""],
        ["dma-host"] = ["\"path\": \"dma\", \"from\": \"accel0\", \"to\": \"host\""],
        ["storage"] = ["\"path\": \"storage\", \"from\": \"nvme0n1\", \"to\": \"nvme1\"", "\"path\": \"storage\", \"from\": \"host\", \"to\": \"nvme1n1\""],
        ["pgmap"] = ["\"path\": \"pgmap\", \"from\": \"nvme1n1\", \"to\": \"nvme1\"", "\"path\": \"pgmap\", \"from\": \"nic0\", \"to\": \"nvme0n1\""],
        ["rdma"] = ["\"path\": \"rdma\", \"from\": \"nic0\", \"to\": \"nvme1\"", "\"path\": \"rdma\", \"from\": \"nic1\", \"to\": \"host\""],
        ["dmabuf"] = ["\"path\": \"dmabuf\", \"from\": \"nic1\", \"to\": \"accel0\""],
    };

    public static TheoryData<string, string> Cases()
    {
        var cases = new TheoryData<string, string>();
        foreach (string iommu in new[] { "off", "passthrough", "translate" })
        {
            foreach (string path in s_paths.Keys)
            {
                cases.Add(iommu, path);
            }
        }

        return cases;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void EveryShape_OfThePath_DeliversExactlyItsBytes(string iommu, string path)
    {
        bool blocks = path is "storage" or "pgmap";
        (long Offset, long Size, long Chunk, int Depth)[] shapes = blocks
            ? [(0, 4096, 4096, 1), (512, 12800, 1536, 1), (3584, 300032, 65536, 4), (1536, 1 << 20, 131072, 8)]
            : [(0, 1, 1, 1), (1, 4097, 1000, 1), (4095, 12345, 4096, 1), (17, 300001, 65535, 4)];
        var transfers = new List<string>();
        foreach (string ends in s_paths[path])
        {
            foreach ((long offset, long size, long chunk, int depth) in shapes)
            {
                bool oneAtATime = ends.Contains("\"dma\"", System.StringComparison.Ordinal) || ends.Contains("\"pgmap\"", System.StringComparison.Ordinal);
                transfers.Add($$"""{ "name": "t{{transfers.Count}}", {{ends}}, "size": {{size}}, "chunk": {{chunk}}, "offset": {{offset}}, "queueDepth": {{(oneAtATime ? 1 : depth)}} }""");
            }
        }

        foreach (int seed in new[] { 1, 2, 3 })
        {
            string json = $$"""{ "topology": "default", "iommu": "{{iommu}}", "seed": {{seed}}, "transfers": [ {{string.Join(", ", transfers)}} ] }""";

            ScenarioReport report = ScenarioRunner.Run(ScenarioFile.Parse(json, $"{path}-{iommu}-{seed}", Path.GetTempPath()));

            Assert.All(report.Paths, p => Assert.True(p.ChecksumOk && p.Errors.Count == 0, $"{report.Name}: {p.Name}: {string.Join("; ", p.Errors)}"));
            Assert.Equal(transfers.Count, report.Paths.Count);
            Assert.All(report.Paths, p => Assert.True(p.Bytes > 0, p.Name));
        }
    }
}
