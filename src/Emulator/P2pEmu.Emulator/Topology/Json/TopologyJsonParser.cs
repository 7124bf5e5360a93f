using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text.Json;

namespace P2pEmu.Emulator.Topology.Json;

/// <summary>
/// Turns a parsed topology document into description records, checking everything that can be checked
/// without numbering buses. One instance reads one document (it remembers the names seen so far).
/// </summary>
internal sealed partial class TopologyJsonParser
{
    // x86 display family: base family (<= 0xf) plus extended family (<= 0xff).
    private const ulong MaxCpuFamily = 0x10E;
    private const ulong MaxSegment = 0xFFFF;
    private const ulong MaxBus = 0xFF;

    private static readonly string[] s_rootProperties = ["platform", "hostBridges"];
    private static readonly string[] s_platformProperties = ["cpu", "kernel", "ram", "iommuStrict"];
    private static readonly string[] s_cpuProperties = ["vendor", "family"];
    private static readonly string[] s_hostBridgeProperties = ["name", "segment", "bus", "iommu", "rootComplexP2p", "devices"];

    private readonly NameRegistry _names = new();
    private readonly HashSet<string> _nics = new(StringComparer.Ordinal);
    private readonly List<(string From, string To, string Path)> _links = new();

    private TopologyJsonParser()
    {
    }

    /// <summary>Reads the document whose root element is <paramref name="root"/>.</summary>
    /// <exception cref="TopologyException">The document does not describe a valid topology.</exception>
    public static TopologyDescription Read(JsonElement root) => new TopologyJsonParser().ReadTopology(root);

    private static TopologyException Missing(string path, string property, string hint) =>
        new(path, $"missing required property '{property}' ({hint})");

    private TopologyDescription ReadTopology(JsonElement root)
    {
        const string Path = "$";
        JsonValues.RequireObject(root, Path, "the topology", s_rootProperties);
        PlatformDescription platform = root.TryGetProperty("platform", out JsonElement platformValue)
            ? ReadPlatform(platformValue, JsonValues.PropertyPath(Path, "platform"))
            : PlatformDescription.Default;

        if (!root.TryGetProperty("hostBridges", out JsonElement bridgesValue))
        {
            throw Missing(Path, "hostBridges", "a topology needs at least one host bridge");
        }

        string bridgesPath = JsonValues.PropertyPath(Path, "hostBridges");
        JsonValues.RequireArray(bridgesValue, bridgesPath, "hostBridges");
        if (bridgesValue.GetArrayLength() == 0)
        {
            throw new TopologyException(bridgesPath, "'hostBridges' must list at least one host bridge");
        }

        var rootBuses = new Dictionary<(int Segment, int Bus), (string Name, string Path)>();
        var bridges = new List<HostBridgeDescription>();
        int index = 0;
        foreach (JsonElement bridge in bridgesValue.EnumerateArray())
        {
            bridges.Add(ReadHostBridge(bridge, JsonValues.ItemPath(bridgesPath, index), index, rootBuses));
            index++;
        }

        CheckLinks();
        return new TopologyDescription(platform, bridges);
    }

    /// <summary>
    /// Each <c>link</c> names another nic, and a nic is cabled to one peer at most (naming each other from both sides is
    /// allowed, and means the same cable).
    /// </summary>
    private void CheckLinks()
    {
        var peers = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach ((string from, string to, string path) in _links)
        {
            if (!_nics.Contains(to))
            {
                throw new TopologyException(path, $"'link' of '{from}' names '{to}', which is not a nic in this topology");
            }

            if (from == to)
            {
                throw new TopologyException(path, $"'link' of '{from}' names the nic itself; a link joins two nics");
            }

            foreach ((string end, string other) in new[] { (from, to), (to, from) })
            {
                if (peers.TryGetValue(end, out string? existing) && existing != other)
                {
                    throw new TopologyException(path, $"'{end}' is already linked to '{existing}'; a nic has one port");
                }

                peers[end] = other;
            }
        }
    }

    private static PlatformDescription ReadPlatform(JsonElement value, string path)
    {
        JsonValues.RequireObject(value, path, "'platform'", s_platformProperties);
        PlatformDescription defaults = PlatformDescription.Default;
        CpuVendor vendor = defaults.CpuVendor;
        int family = defaults.CpuFamily;
        if (value.TryGetProperty("cpu", out JsonElement cpu))
        {
            string cpuPath = JsonValues.PropertyPath(path, "cpu");
            JsonValues.RequireObject(cpu, cpuPath, "'cpu'", s_cpuProperties);
            if (!cpu.TryGetProperty("vendor", out JsonElement vendorValue))
            {
                throw Missing(cpuPath, "vendor", "\"intel\", \"amd\", \"hygon\" or \"other\"");
            }

            if (!cpu.TryGetProperty("family", out JsonElement familyValue))
            {
                throw Missing(cpuPath, "family", "the CPU family, e.g. 6 or \"0x19\"");
            }

            vendor = JsonValues.ReadEnum(vendorValue, JsonValues.PropertyPath(cpuPath, "vendor"), "CPU vendor", TopologyJsonNames.CpuVendors);
            family = (int)JsonValues.ReadInteger(familyValue, JsonValues.PropertyPath(cpuPath, "family"), "family", MaxCpuFamily);
        }

        KernelProfile kernel = value.TryGetProperty("kernel", out JsonElement kernelValue)
            ? JsonValues.ReadEnum(kernelValue, JsonValues.PropertyPath(path, "kernel"), "kernel", TopologyJsonNames.Kernels)
            : defaults.Kernel;
        ulong ramBytes = value.TryGetProperty("ram", out JsonElement ramValue)
            ? JsonValues.ReadSize(ramValue, JsonValues.PropertyPath(path, "ram"), "ram")
            : PlatformDescription.DefaultRamBytes;
        bool iommuStrict = value.TryGetProperty("iommuStrict", out JsonElement strictValue)
            && JsonValues.ReadBool(strictValue, JsonValues.PropertyPath(path, "iommuStrict"), "iommuStrict");
        return new PlatformDescription(vendor, family, kernel, ramBytes) { IommuStrict = iommuStrict };
    }

    private HostBridgeDescription ReadHostBridge(
        JsonElement value,
        string path,
        int index,
        Dictionary<(int Segment, int Bus), (string Name, string Path)> rootBuses)
    {
        JsonValues.RequireObject(value, path, "a host bridge", s_hostBridgeProperties);
        string name;
        if (value.TryGetProperty("name", out JsonElement nameValue))
        {
            string namePath = JsonValues.PropertyPath(path, "name");
            name = JsonValues.ReadName(nameValue, namePath);
            _names.Add(name, $"at {namePath}", namePath);
        }
        else
        {
            name = string.Create(CultureInfo.InvariantCulture, $"hb{index}");
            _names.Add(name, $"as the default name of the host bridge at {path}", path, $"the host bridge at {path}");
        }

        string segmentPath = JsonValues.PropertyPath(path, "segment");
        bool hasSegment = value.TryGetProperty("segment", out JsonElement segmentValue);
        int segment = hasSegment ? (int)JsonValues.ReadInteger(segmentValue, segmentPath, "segment", MaxSegment) : 0;
        string busPath = JsonValues.PropertyPath(path, "bus");
        bool hasBus = value.TryGetProperty("bus", out JsonElement busValue);
        int bus = hasBus ? (int)JsonValues.ReadInteger(busValue, busPath, "bus", MaxBus) : 0;
        if (rootBuses.TryGetValue((segment, bus), out (string Name, string Path) other))
        {
            throw new TopologyException(
                hasBus ? busPath : hasSegment ? segmentPath : path,
                string.Create(
                    CultureInfo.InvariantCulture,
                    $"root bus {segment:x4}:{bus:x2} (segment {segment}, bus {bus}) already belongs to host bridge '{other.Name}' ({other.Path})"));
        }

        rootBuses.Add((segment, bus), (name, path));

        IommuMode iommu = value.TryGetProperty("iommu", out JsonElement iommuValue)
            ? JsonValues.ReadEnum(iommuValue, JsonValues.PropertyPath(path, "iommu"), "iommu mode", TopologyJsonNames.IommuModes)
            : IommuMode.Off;
        bool rootComplexP2p = value.TryGetProperty("rootComplexP2p", out JsonElement p2pValue)
            && JsonValues.ReadBool(p2pValue, JsonValues.PropertyPath(path, "rootComplexP2p"), "rootComplexP2p");

        IReadOnlyList<DeviceDescription> devices = Array.Empty<DeviceDescription>();
        if (value.TryGetProperty("devices", out JsonElement devicesValue))
        {
            devices = ReadEntries(devicesValue, JsonValues.PropertyPath(path, "devices"), "devices", EntryPlace.RootBus);
        }

        return new HostBridgeDescription(name, segment, bus, iommu, rootComplexP2p, devices, path);
    }

    /// <summary>Reads a <c>devices</c> or <c>children</c> array: the entries of one bus.</summary>
    private List<DeviceDescription> ReadEntries(JsonElement value, string path, string property, EntryPlace place)
    {
        JsonValues.RequireArray(value, path, property);
        var bus = new SlotMap();
        var entries = new List<DeviceDescription>();
        int index = 0;
        foreach (JsonElement entry in value.EnumerateArray())
        {
            entries.Add(ReadEntry(entry, JsonValues.ItemPath(path, index), place, index, bus, null));
            index++;
        }

        return entries;
    }
}
