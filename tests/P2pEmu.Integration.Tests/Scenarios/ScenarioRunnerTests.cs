using System;
using System.IO;
using System.Linq;
using P2pEmu.Machine.Scenarios;
using P2pEmu.Machine.Scenarios.Workload;
using P2pEmu.Testing;
using Xunit;

namespace P2pEmu.Integration.Tests.Scenarios;

/// <summary>
/// Scenarios run: every path kind delivers and checks its bytes, and faults injected at many points leave the delivered
/// part intact, the rest refused and reported, and nothing landed after the fault returned.
/// </summary>
public sealed class ScenarioRunnerTests
{
    private static ScenarioReport Run(string transfers, string faults = "[]", string iommu = "translate") =>
        ScenarioRunner.Run(ScenarioFile.Parse($$"""{ "topology": "default", "iommu": "{{iommu}}", "transfers": [ {{transfers}} ], "faults": {{faults}} }""", "test", Path.GetTempPath()));

    private static PathReport Only(ScenarioReport report) => Assert.Single(report.Paths);

    [Theory]
    [InlineData("""{ "name": "a", "path": "dma", "from": "nic1", "to": "host", "size": 12345, "chunk": 1000, "offset": 3 }""", "NONE")]
    [InlineData("""{ "name": "a", "path": "dma", "from": "nvme0", "to": "nic0", "size": 65537, "chunk": 4095, "offset": 4095 }""", "BUS_ADDR")]
    [InlineData("""{ "name": "a", "path": "dma", "from": "nic1", "to": "nvme1", "size": 70000, "chunk": 7000 }""", "THRU_HOST_BRIDGE")]
    [InlineData("""{ "name": "a", "path": "storage", "from": "nvme0n1", "to": "nvme1", "size": "1MiB", "chunk": "96KiB", "queueDepth": 8, "offset": 1536 }""", "THRU_HOST_BRIDGE")]
    [InlineData("""{ "name": "a", "path": "storage", "from": "nic0", "to": "nvme0n1", "size": "512KiB", "chunk": "64KiB", "queueDepth": 4 }""", "BUS_ADDR")]
    [InlineData("""{ "name": "a", "path": "storage", "from": "host", "to": "nvme1n1", "size": "256KiB", "chunk": "12KiB", "queueDepth": 3 }""", "NONE")]
    [InlineData("""{ "name": "a", "path": "pgmap", "from": "nvme0n1", "to": "nvme0", "size": "256KiB", "chunk": "20KiB", "offset": 512 }""", "BUS_ADDR")]
    [InlineData("""{ "name": "a", "path": "pgmap", "from": "host", "to": "nvme1n1", "size": "128KiB", "chunk": "8KiB" }""", "NONE")]
    [InlineData("""{ "name": "a", "path": "rdma", "from": "nic0", "to": "nvme1", "size": 300001, "chunk": 65536, "queueDepth": 4, "offset": 9 }""", "THRU_HOST_BRIDGE")]
    [InlineData("""{ "name": "a", "path": "rdma", "from": "nic1", "to": "nic0", "size": "1MiB", "chunk": "100KiB", "queueDepth": 16 }""", "BUS_ADDR")]
    [InlineData("""{ "name": "a", "path": "dmabuf", "from": "nic1", "to": "accel0", "size": 99999, "chunk": 10000, "queueDepth": 2, "offset": 1 }""", "BUS_ADDR")]
    public void EveryPathKind_DeliversEveryByte_AndSaysItsMapType(string transfer, string mapType)
    {
        PathReport path = Only(Run(transfer));

        Assert.True(path.ChecksumOk, string.Join("; ", path.Errors));
        Assert.Empty(path.Errors);
        Assert.Equal(mapType, path.MapType);
        Assert.Equal(System.Text.Json.JsonDocument.Parse(transfer).RootElement.GetProperty("size") is { ValueKind: System.Text.Json.JsonValueKind.Number } n ? n.GetInt64() : path.Bytes, path.Bytes);
        Assert.True(path.Bytes > 0);
    }

    public static TheoryData<int> PgmapPoints => new() { -1, 0, 1, 7, 14, 15 };

    [Theory]
    [MemberData(nameof(PgmapPoints))]
    public void ProviderRemovalDuringPgmapReads_KeepsWhatLanded_FailsEveryLaterCallWithEfault_AndNothingLandsAfter(int after)
    {
        PathReport path = Only(Run(
            """{ "name": "p", "path": "pgmap", "from": "nvme0n1", "to": "nvme1", "size": "256KiB", "chunk": "16KiB" }""",
            $$"""[ { "action": "remove-provider", "device": "nvme1", "transfer": "p", "afterChunk": {{after}} } ]"""));

        Assert.True(path.ChecksumOk, string.Join("; ", path.Errors));
        Assert.Equal((after + 1) * 16384L, path.Bytes);
        if (after < 15)
        {
            Assert.Equal([after == 14 ? "chunk 15: -EFAULT" : $"chunks {after + 1}-15: -EFAULT"], path.Errors);
        }
        else
        {
            Assert.Empty(path.Errors);
        }
    }

    public static TheoryData<int, int> RevokePoints => new() { { -1, 1 }, { 0, 1 }, { 4, 1 }, { 4, 4 }, { 10, 8 }, { 15, 4 } };

    [Theory]
    [MemberData(nameof(RevokePoints))]
    public void ARevokeDuringDmabufWrites_KeepsWhatLanded_FailsTheNextWithRemAccessErr_AndNothingLandsAfter(int after, int depth)
    {
        ScenarioReport report = Run(
            $$"""{ "name": "d", "path": "dmabuf", "from": "nic1", "to": "accel0", "size": "512KiB", "chunk": "32KiB", "queueDepth": {{depth}} }""",
            $$"""[ { "action": "revoke-dmabuf", "device": "accel0", "transfer": "d", "afterChunk": {{after}} } ]""");
        PathReport path = Only(report);

        Assert.True(path.ChecksumOk, string.Join("; ", path.Errors));
        Assert.Equal((after + 1) * 32768L, path.Bytes);
        Assert.Equal("vfio device closed: its dma-bufs revoked", Assert.Single(report.Faults).Result);
        if (after < 15)
        {
            Assert.Equal($"chunk {after + 1}: IB_WC_REM_ACCESS_ERR", path.Errors[0]);
        }
        else
        {
            Assert.Empty(path.Errors);
        }
    }

    [Fact]
    public void RemovingAProviderWhoseKernelP2pmemATransferHolds_WaitsUntilTheTransferFreesIt_AndTheWritesGoOn()
    {
        ScenarioReport report = Run(
            """{ "name": "w", "path": "dma", "from": "nic1", "to": "nvme1", "size": "64KiB", "chunk": "8KiB" }""",
            """[ { "action": "remove-provider", "device": "nvme1", "transfer": "w", "afterChunk": 2 } ]""");

        PathReport path = Only(report);
        Assert.True(path.ChecksumOk, string.Join("; ", path.Errors));
        Assert.Equal(64L << 10, path.Bytes);
        Assert.StartsWith("still waiting after 2 s: pci_p2pdma_release waits", report.Faults[0].Result, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("translate", 5)]
    [InlineData("off", 12)]
    public void FlippingAcsRedirectUnderABusAddrTransfer_SendsItUpstream_WhereTheIommuFaultsIt_OrTheRootComplexForwardsIt(string iommu, int lastDelivered)
    {
        ScenarioReport report = Run(
            """{ "name": "f", "path": "dma", "from": "nvme0", "to": "nic0", "size": 100003, "chunk": 8191, "offset": 17 }""",
            """[ { "action": "flip-acs", "device": "sw0.dp0", "transfer": "f", "afterChunk": 5, "bits": ["RR"] } ]""",
            iommu);
        PathReport path = Only(report);

        Assert.True(path.ChecksumOk, string.Join("; ", path.Errors));
        Assert.Equal("BUS_ADDR", path.MapType); // the cached verdict, as Linux keeps it
        Assert.Equal(Math.Min(100003L, (lastDelivered + 1) * 8191L), path.Bytes);
        Assert.Equal(iommu == "off" ? [] : ["chunks 6-12: IommuFault (IommuFault)"], path.Errors);
        Assert.StartsWith("ACS control none -> RR;", report.Faults[0].Result, StringComparison.Ordinal);
    }

    [Fact]
    public void AResetMidRun_RevokesForTheReset_ThenTheImporterMapsAgain_AndTheWritesGoOn()
    {
        ScenarioReport report = Run(
            """{ "name": "r", "path": "dmabuf", "from": "nic1", "to": "accel0", "size": "256KiB", "chunk": "32KiB" }""",
            """[ { "action": "reset-device", "device": "accel0", "transfer": "r", "afterChunk": 3 } ]""");
        PathReport path = Only(report);

        Assert.True(path.ChecksumOk, string.Join("; ", path.Errors));
        Assert.Equal("VFIO_DEVICE_RESET: dma-bufs revoked for the reset, then restored", report.Faults[0].Result);
        Assert.Equal(256L << 10, path.Bytes);
    }

    [Fact]
    public void TheSameScenario_MovesTheSameBytes_AtAnyQueueDepth()
    {
        const string Transfers = """
            { "name": "q1", "path": "storage", "from": "nvme0n1", "to": "host", "size": "256KiB", "chunk": "16KiB", "queueDepth": 1 },
            { "name": "q8", "path": "storage", "from": "host", "to": "nvme1n1", "size": "256KiB", "chunk": "16KiB", "queueDepth": 8 }
            """;

        ScenarioReport report = Run(Transfers);

        Assert.All(report.Paths, p => Assert.True(p.ChecksumOk, string.Join("; ", p.Errors)));
        Assert.All(report.Paths, p => Assert.Equal(256L << 10, p.Bytes));
    }

    [Fact]
    public void EveryExampleScenario_RunsWithItsIntegrityIntact()
    {
        string[] files = Directory.GetFiles(Path.Combine(RepositoryPaths.Root, "examples", "scenarios"), "*.jsonc");

        Assert.True(files.Length >= 5);
        foreach (string file in files)
        {
            ScenarioReport report = ScenarioRunner.Run(ScenarioFile.Load(file));
            Assert.True(report.IntegrityOk, $"{file}: {string.Join("; ", report.Paths.SelectMany(p => p.Errors))}");
            Assert.Equal(Path.GetFileNameWithoutExtension(file), report.Name);
        }
    }
}
