using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using P2pEmu.Emulator.Execution;
using P2pEmu.Emulator.Topology;
using P2pEmu.Emulator.Topology.Json;

namespace P2pEmu.Machine.Scenarios.Workload;

/// <summary>
/// Reads scenario files (docs/scenarios.md): a topology — a built-in name, a file, or inline — and a workload of
/// transfers and faults, as JSON with comments and trailing commas. Every mistake is one <see cref="TopologyException"/>
/// naming the JSON path of the offending value; what needs the machine (device names, capacities) is checked by
/// <see cref="ScenarioValidator"/> before anything runs.
/// </summary>
public static class ScenarioFile
{
    private static readonly string[] s_root = ["name", "topology", "iommu", "executionMode", "seed", "transfers", "faults"];
    private static readonly string[] s_transfer = ["name", "path", "from", "to", "size", "chunk", "queueDepth", "offset"];
    private static readonly string[] s_fault = ["action", "device", "transfer", "afterChunk", "bits"];

    private static readonly KeyValuePair<string, TransferKind>[] s_kinds =
    [
        new("dma", TransferKind.Dma), new("storage", TransferKind.Storage), new("pgmap", TransferKind.Pgmap),
        new("rdma", TransferKind.Rdma), new("dmabuf", TransferKind.Dmabuf),
    ];

    private static readonly KeyValuePair<string, FaultAction>[] s_actions =
    [
        new("remove-provider", FaultAction.RemoveProvider), new("revoke-dmabuf", FaultAction.RevokeDmabuf),
        new("reset-device", FaultAction.ResetDevice), new("flip-acs", FaultAction.FlipAcs),
    ];

    private static readonly KeyValuePair<string, IommuMode>[] s_iommu =
    [
        new("off", IommuMode.Off), new("passthrough", IommuMode.Passthrough), new("translate", IommuMode.Translate),
    ];

    private static readonly KeyValuePair<string, ExecutionMode>[] s_modes =
    [
        new("deterministic", ExecutionMode.Deterministic), new("concurrent", ExecutionMode.Concurrent),
    ];

    /// <summary>The largest queue depth a transfer may ask for.</summary>
    public const int MaxQueueDepth = 256;

    /// <summary>True when <paramref name="json"/> is a scenario (an object with <c>transfers</c>) rather than a topology file.</summary>
    public static bool LooksLikeScenario(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        try
        {
            using JsonDocument document = TopologyJsonReader.ParseDocument(json);
            return document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty("transfers", out _);
        }
        catch (TopologyException)
        {
            return false;
        }
    }

    /// <summary>Reads and checks the scenario file at <paramref name="path"/>; a topology it names by path is found relative to the file.</summary>
    /// <exception cref="TopologyException">The file cannot be read, or its text is not a valid scenario.</exception>
    public static ScenarioDescription Load(string path)
    {
        string text = TopologyFile.ReadAllText(path, "scenario file");
        return Parse(text, Path.GetFileNameWithoutExtension(path), Path.GetDirectoryName(Path.GetFullPath(path)) ?? ".");
    }

    /// <summary>Checks the text of a scenario; <paramref name="baseDirectory"/> resolves a topology given by path.</summary>
    /// <exception cref="TopologyException">The text is not a valid scenario.</exception>
    public static ScenarioDescription Parse(string json, string name, string baseDirectory)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(baseDirectory);
        using JsonDocument document = TopologyJsonReader.ParseDocument(json);
        JsonElement root = document.RootElement;
        JsonValues.RequireObject(root, "$", "a scenario", s_root);
        if (root.TryGetProperty("name", out JsonElement nameValue))
        {
            name = JsonValues.ReadName(nameValue, "$.name");
        }

        if (!root.TryGetProperty("topology", out JsonElement topologyValue))
        {
            throw new TopologyException("$", "a scenario needs a 'topology': a built-in name, a topology file, or an inline topology object");
        }

        TopologyDescription topology = ReadTopology(topologyValue, baseDirectory);
        if (root.TryGetProperty("iommu", out JsonElement iommu))
        {
            IommuMode mode = JsonValues.ReadEnum(iommu, "$.iommu", "iommu", s_iommu);
            topology = topology with { HostBridges = [.. topology.HostBridges.Select(hb => hb with { Iommu = mode })] };
        }

        ExecutionMode execution = root.TryGetProperty("executionMode", out JsonElement modeValue)
            ? JsonValues.ReadEnum(modeValue, "$.executionMode", "executionMode", s_modes)
            : ExecutionMode.Deterministic;
        int seed = root.TryGetProperty("seed", out JsonElement seedValue) ? (int)JsonValues.ReadInteger(seedValue, "$.seed", "seed", int.MaxValue) : 1;
        if (!root.TryGetProperty("transfers", out JsonElement transfersValue))
        {
            throw new TopologyException("$", "a scenario needs 'transfers': an array of at least one transfer");
        }

        List<WorkloadTransfer> transfers = ReadTransfers(transfersValue);
        List<FaultInjection> faults = root.TryGetProperty("faults", out JsonElement faultsValue) ? ReadFaults(faultsValue, transfers) : [];
        return new ScenarioDescription(name, topology, execution, seed, transfers, faults);
    }

    private static TopologyDescription ReadTopology(JsonElement value, string baseDirectory)
    {
        if (value.ValueKind == JsonValueKind.Object)
        {
            return TopologyJsonReader.Read(value, "$.topology");
        }

        string source = JsonValues.ReadString(value, "$.topology", "topology");
        string relative = Path.Combine(baseDirectory, source);
        try
        {
            return TopologySource.Load(File.Exists(relative) ? relative : source);
        }
        catch (TopologyException e)
        {
            throw new TopologyException("$.topology", $"'{source}': {e.Message}");
        }
    }

    private static List<WorkloadTransfer> ReadTransfers(JsonElement value)
    {
        JsonValues.RequireArray(value, "$.transfers", "transfers");
        if (value.GetArrayLength() == 0)
        {
            throw new TopologyException("$.transfers", "a scenario needs at least one transfer");
        }

        var transfers = new List<WorkloadTransfer>();
        int index = 0;
        foreach (JsonElement item in value.EnumerateArray())
        {
            string path = JsonValues.ItemPath("$.transfers", index++);
            JsonValues.RequireObject(item, path, "a transfer", s_transfer);
            string name = item.TryGetProperty("name", out JsonElement n) ? JsonValues.ReadName(n, JsonValues.PropertyPath(path, "name")) : $"t{index - 1}";
            if (transfers.Find(t => t.Name == name) is { } other)
            {
                throw new TopologyException(JsonValues.PropertyPath(path, "name"), $"transfer name '{name}' is taken by {other.JsonPath}");
            }

            TransferKind kind = JsonValues.ReadEnum(Required(item, path, "path"), JsonValues.PropertyPath(path, "path"), "path", s_kinds);
            string from = JsonValues.ReadName(Required(item, path, "from"), JsonValues.PropertyPath(path, "from"));
            string to = JsonValues.ReadName(Required(item, path, "to"), JsonValues.PropertyPath(path, "to"));
            ulong size = JsonValues.ReadSize(Required(item, path, "size"), JsonValues.PropertyPath(path, "size"), "size");
            ulong chunk = item.TryGetProperty("chunk", out JsonElement c) ? JsonValues.ReadSize(c, JsonValues.PropertyPath(path, "chunk"), "chunk") : size;
            if (chunk > size)
            {
                throw new TopologyException(JsonValues.PropertyPath(path, "chunk"), $"a chunk of {chunk} bytes is larger than the transfer's {size}");
            }

            if (size / chunk > 1 << 20)
            {
                throw new TopologyException(JsonValues.PropertyPath(path, "chunk"), $"{size} bytes in chunks of {chunk} is more than {1 << 20} chunks");
            }

            int depth = item.TryGetProperty("queueDepth", out JsonElement q) ? (int)JsonValues.ReadInteger(q, JsonValues.PropertyPath(path, "queueDepth"), "queueDepth", MaxQueueDepth) : 1;
            if (depth < 1)
            {
                throw new TopologyException(JsonValues.PropertyPath(path, "queueDepth"), $"'queueDepth' must be 1 to {MaxQueueDepth}");
            }

            if (depth > 1 && kind is TransferKind.Dma or TransferKind.Pgmap)
            {
                throw new TopologyException(JsonValues.PropertyPath(path, "queueDepth"), $"a {JsonValues.EnumText(s_kinds, kind)} transfer runs one chunk at a time (a DMA engine's descriptor, a process's O_DIRECT call): 'queueDepth' must be 1");
            }

            ulong offset = item.TryGetProperty("offset", out JsonElement o) ? JsonValues.ReadInteger(o, JsonValues.PropertyPath(path, "offset"), "offset", 1UL << 40) : 0;
            if (kind is TransferKind.Storage or TransferKind.Pgmap)
            {
                RequireBlocks(item, path, size, chunk, offset);
            }

            transfers.Add(new WorkloadTransfer(name, kind, from, to, size, chunk, depth, offset, path));
        }

        return transfers;
    }

    /// <summary>O_DIRECT and bios move whole logical blocks at block-aligned positions.</summary>
    private static void RequireBlocks(JsonElement item, string path, ulong size, ulong chunk, ulong offset)
    {
        const ulong Block = 512;
        foreach ((string property, ulong value) in new[] { ("size", size), ("chunk", chunk), ("offset", offset) })
        {
            if (value % Block != 0)
            {
                string where = item.TryGetProperty(property, out _) ? JsonValues.PropertyPath(path, property) : JsonValues.PropertyPath(path, "size");
                throw new TopologyException(where, $"'{property}' {value} is not a whole number of {Block}-byte logical blocks (O_DIRECT needs them: EINVAL)");
            }
        }
    }

    private static List<FaultInjection> ReadFaults(JsonElement value, List<WorkloadTransfer> transfers)
    {
        JsonValues.RequireArray(value, "$.faults", "faults");
        var faults = new List<FaultInjection>();
        int index = 0;
        foreach (JsonElement item in value.EnumerateArray())
        {
            string path = JsonValues.ItemPath("$.faults", index++);
            JsonValues.RequireObject(item, path, "a fault", s_fault);
            FaultAction action = JsonValues.ReadEnum(Required(item, path, "action"), JsonValues.PropertyPath(path, "action"), "action", s_actions);
            string device = JsonValues.ReadName(Required(item, path, "device"), JsonValues.PropertyPath(path, "device"));
            string transferPath = JsonValues.PropertyPath(path, "transfer");
            string transferName = JsonValues.ReadName(Required(item, path, "transfer"), transferPath);
            WorkloadTransfer transfer = transfers.Find(t => t.Name == transferName)
                ?? throw new TopologyException(transferPath, $"no transfer named '{transferName}' (transfers: {string.Join(", ", transfers.Select(t => t.Name))})");
            string afterPath = JsonValues.PropertyPath(path, "afterChunk");
            int after = -1;
            if (item.TryGetProperty("afterChunk", out JsonElement a))
            {
                if (a.ValueKind != JsonValueKind.Number || !a.TryGetInt32(out after) || after < -1 || after >= transfer.Chunks)
                {
                    throw new TopologyException(afterPath, $"'afterChunk' must be -1 (before the first chunk) to {transfer.Chunks - 1}: transfer '{transfer.Name}' has {transfer.Chunks} chunks");
                }
            }

            AcsFlags bits = AcsFlags.RR | AcsFlags.CR;
            if (item.TryGetProperty("bits", out JsonElement b))
            {
                if (action != FaultAction.FlipAcs)
                {
                    throw new TopologyException(JsonValues.PropertyPath(path, "bits"), "'bits' belongs to a flip-acs fault");
                }

                bits = AcsText.Read(b, JsonValues.PropertyPath(path, "bits"), "bits");
            }

            if (action == FaultAction.RevokeDmabuf && (transfer.Kind != TransferKind.Dmabuf || transfer.To != device))
            {
                throw new TopologyException(JsonValues.PropertyPath(path, "device"), $"revoke-dmabuf revokes the dma-buf of a dmabuf transfer: '{device}' must be the 'to' of one, and transfer '{transfer.Name}' is a {JsonValues.EnumText(s_kinds, transfer.Kind)} transfer to '{transfer.To}'");
            }

            faults.Add(new FaultInjection(action, device, transfer.Name, after, bits, path));
        }

        return faults;
    }

    private static JsonElement Required(JsonElement item, string path, string name) =>
        item.TryGetProperty(name, out JsonElement value) ? value : throw new TopologyException(path, $"'{name}' is missing");

    /// <summary>The file spelling of a path kind (<c>dma</c>, <c>storage</c>, ...).</summary>
    public static string KindText(TransferKind kind) => JsonValues.EnumText(s_kinds, kind);
}
