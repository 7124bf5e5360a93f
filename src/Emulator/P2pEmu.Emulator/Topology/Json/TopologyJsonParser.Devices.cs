using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text.Json;

namespace P2pEmu.Emulator.Topology.Json;

/// <summary>Device entries: functions, root ports, switches and their ports.</summary>
internal sealed partial class TopologyJsonParser
{
    private const ulong MaxId = 0xFFFF;
    private const ulong MaxClassCode = 0xFF_FFFF;
    private const ulong MaxVfs = 255;
    private const int MaxDevFn = 0xFF;

    private static readonly string[] s_entryProperties =
    [
        "name", "kind", "slot", "vendorId", "deviceId", "classCode", "acs", "children", "secondaryBus",
        "upstream", "ports", "bars", "functions", "vfs", "cmb", "namespaces", "memory", "link",
    ];

    private static readonly string[] s_portProperties = ["name", "acs", "vendorId", "deviceId", "slot", "secondaryBus", "children"];
    private static readonly string[] s_upstreamProperties = ["name", "acs", "vendorId", "deviceId", "slot", "secondaryBus"];

    private static bool IsEndpointKind(DeviceKind kind) =>
        kind is DeviceKind.Endpoint or DeviceKind.Nvme or DeviceKind.Nic or DeviceKind.Accelerator;

    /// <summary>"an nvme", "a switch", for messages.</summary>
    private static string WithArticle(DeviceKind kind)
    {
        string text = TopologyJsonNames.KindText(kind);

        // By sound: "an endpoint", "an accelerator", "an nvme" (en-vee-em-ee).
        bool an = kind is DeviceKind.Endpoint or DeviceKind.Accelerator or DeviceKind.Nvme;
        return (an ? "an " : "a ") + text;
    }

    /// <summary>Reads one entry of a <c>devices</c>, <c>children</c> or <c>functions</c> array.</summary>
    /// <param name="value">The entry.</param>
    /// <param name="path">Its JSON path.</param>
    /// <param name="place">Where it sits, which limits its kind.</param>
    /// <param name="index">Its position in its array.</param>
    /// <param name="bus">The slots taken on the bus the entry sits on.</param>
    /// <param name="parent">For an extra function: the device it belongs to.</param>
    private DeviceDescription ReadEntry(
        JsonElement value,
        string path,
        EntryPlace place,
        int index,
        SlotMap bus,
        (string Name, PciSlot? Slot)? parent)
    {
        JsonValues.RequireObject(value, path, place == EntryPlace.Function ? "a function" : "a device", s_entryProperties);
        if (!value.TryGetProperty("name", out JsonElement nameValue))
        {
            throw Missing(path, "name", "every device needs a unique name");
        }

        string namePath = JsonValues.PropertyPath(path, "name");
        string name = JsonValues.ReadName(nameValue, namePath);
        if (!value.TryGetProperty("kind", out JsonElement kindValue))
        {
            throw Missing(path, "kind", $"one of {KindList()}");
        }

        string kindPath = JsonValues.PropertyPath(path, "kind");
        DeviceKind kind = JsonValues.ReadEnum(kindValue, kindPath, "kind", TopologyJsonNames.KindsAccepted);
        CheckPlace(kind, place, kindPath, name);
        CheckKindProperties(value, path, kind, place, name);
        _names.Add(name, $"at {namePath}", namePath);

        PciSlot? slot = ReadEntrySlot(value, path, kind, place, index, bus, name, parent);
        DeviceDescription device = new(name, kind, path)
        {
            Slot = slot,
            VendorId = ReadVendorId(value, path),
            DeviceId = ReadOptionalId(value, path, "deviceId"),
            ClassCode = value.TryGetProperty("classCode", out JsonElement classValue)
                ? (uint)JsonValues.ReadInteger(classValue, JsonValues.PropertyPath(path, "classCode"), "classCode", MaxClassCode)
                : null,
            Acs = value.TryGetProperty("acs", out JsonElement acsValue) ? ReadAcs(acsValue, JsonValues.PropertyPath(path, "acs")) : null,
        };

        switch (kind)
        {
            case DeviceKind.RootPort:
                device = device with
                {
                    SecondaryBus = ReadSecondaryBus(value, path),
                    Children = value.TryGetProperty("children", out JsonElement children)
                        ? ReadEntries(children, JsonValues.PropertyPath(path, "children"), "children", EntryPlace.BelowPort)
                        : Array.Empty<DeviceDescription>(),
                };
                break;
            case DeviceKind.Switch:
                device = ReadSwitch(value, path, device);
                break;
            case DeviceKind.Endpoint:
            case DeviceKind.Nvme:
            case DeviceKind.Nic:
            case DeviceKind.Accelerator:
                device = ReadFunction(value, path, place, bus, device);
                break;
            default:
                break;
        }

        return device;
    }

    private static string KindList() =>
        string.Join(", ", Array.ConvertAll(TopologyJsonNames.KindsAccepted, k => k.Key));

    private static void CheckPlace(DeviceKind kind, EntryPlace place, string kindPath, string name)
    {
        string? problem = (kind, place) switch
        {
            (_, EntryPlace.Function) when !IsEndpointKind(kind) =>
                $"extra function '{name}' must be an endpoint, nvme, nic or accelerator, not {WithArticle(kind)}",
            (DeviceKind.HostBridge, not EntryPlace.RootBus) =>
                $"host-bridge '{name}' must be directly in a host bridge's 'devices' (on the root bus, at slot 00.0)",
            (DeviceKind.RootPort, not EntryPlace.RootBus) =>
                $"root-port '{name}' must be directly in a host bridge's 'devices'; below a port, use a switch",
            (DeviceKind.Switch, EntryPlace.RootBus) =>
                $"switch '{name}' must hang below a root port or a switch downstream port ('children'), not directly on the root bus",
            _ => null,
        };
        if (problem is not null)
        {
            throw new TopologyException(kindPath, problem);
        }
    }

    /// <summary>Rejects properties that exist in the format but not for this kind or place.</summary>
    private static void CheckKindProperties(JsonElement value, string path, DeviceKind kind, EntryPlace place, string name)
    {
        string what = $"'{name}' is {WithArticle(kind)}";
        foreach (JsonProperty property in value.EnumerateObject())
        {
            string p = property.Name;
            string? problem = p switch
            {
                "children" when kind != DeviceKind.RootPort =>
                    kind == DeviceKind.Switch
                        ? $"'children' is not allowed on a switch ('{name}'); put devices in the 'children' of its 'ports'"
                        : $"'children' is only allowed on a root-port or a switch port, and {what}",
                "secondaryBus" when kind != DeviceKind.RootPort =>
                    $"'secondaryBus' is only allowed on a root-port or a switch port, and {what}",
                "upstream" or "ports" when kind != DeviceKind.Switch =>
                    $"'{p}' is only allowed on a switch, and {what}",
                "bars" when kind != DeviceKind.Endpoint =>
                    $"'bars' is only allowed on an endpoint (nvme, nic and accelerator models define their own BARs), and {what}",
                "functions" when place == EntryPlace.Function =>
                    $"extra function '{name}' cannot have functions of its own; list them all on the device at function 0",
                "functions" or "vfs" when !IsEndpointKind(kind) =>
                    $"'{p}' is only allowed on an endpoint, nvme, nic or accelerator, and {what}",
                "cmb" or "namespaces" when kind != DeviceKind.Nvme =>
                    $"'{p}' is only allowed on an nvme, and {what}",
                "memory" when kind is not (DeviceKind.Nic or DeviceKind.Accelerator) =>
                    $"'memory' is only allowed on a nic or an accelerator, and {what}",
                "link" when kind != DeviceKind.Nic =>
                    $"'link' (the NIC at the other end of the cable) is only allowed on a nic, and {what}",
                "acs" when kind == DeviceKind.Switch =>
                    $"'acs' is not allowed on a switch ('{name}'); put it on its 'upstream' or 'ports' entries",
                _ => null,
            };
            if (problem is not null)
            {
                throw new TopologyException(JsonValues.PropertyPath(path, p), problem);
            }
        }
    }

    /// <summary>Reads <c>slot</c> and takes it (and, for a host bridge, the implied 00.0) on the bus.</summary>
    private static PciSlot? ReadEntrySlot(
        JsonElement value,
        string path,
        DeviceKind kind,
        EntryPlace place,
        int index,
        SlotMap bus,
        string name,
        (string Name, PciSlot? Slot)? parent)
    {
        string slotPath = JsonValues.PropertyPath(path, "slot");
        PciSlot? slot = value.TryGetProperty("slot", out JsonElement slotValue) ? ReadSlot(slotValue, slotPath) : null;
        string errorPath = slot is null ? path : slotPath;
        if (kind == DeviceKind.HostBridge)
        {
            if (slot is null && index != 0)
            {
                throw new TopologyException(
                    path,
                    $"host-bridge '{name}' must be at slot 00.0: put it first in 'devices' or give it \"slot\": \"00.0\"");
            }

            if (slot is { } given && given != new PciSlot(0, 0))
            {
                throw new TopologyException(slotPath, $"host-bridge '{name}' must be at slot 00.0, not {given}");
            }

            slot = new PciSlot(0, 0);
        }

        if (place == EntryPlace.Function && slot is { } own && parent is { } owner)
        {
            if (owner.Slot is not { } parentSlot)
            {
                throw new TopologyException(
                    slotPath,
                    $"function '{name}' has a slot but its device '{owner.Name}' does not; give '{owner.Name}' a slot too, or drop this one");
            }

            if (own.Device != parentSlot.Device)
            {
                throw new TopologyException(
                    slotPath,
                    string.Create(
                        CultureInfo.InvariantCulture,
                        $"function '{name}' at {own} must be on device {parentSlot.Device:x2}, like '{owner.Name}' ({parentSlot})"));
            }
        }

        if (slot is { } taken && !bus.TryTake(taken.DevFn, name, path, out string previous, out string previousPath))
        {
            throw new TopologyException(errorPath, $"slot {taken} of '{name}' is already taken by '{previous}' ({previousPath})");
        }

        return slot;
    }

    private static PciSlot ReadSlot(JsonElement value, string path)
    {
        string text = JsonValues.ReadString(value, path, "slot");
        bool hexOnly = text.Length == 4 && char.IsAsciiHexDigit(text[0]) && char.IsAsciiHexDigit(text[1]) && char.IsAsciiHexDigit(text[3]);
        if (!hexOnly || !PciSlot.TryParse(text, out PciSlot slot))
        {
            throw new TopologyException(
                path,
                $"slot \"{text}\" is not \"dd.f\" (hex device 00..1f, a dot, function 0..7), e.g. \"04.0\"");
        }

        return slot;
    }

    private static ushort? ReadVendorId(JsonElement value, string path)
    {
        ushort? id = ReadOptionalId(value, path, "vendorId");
        if (id == 0xFFFF)
        {
            throw new TopologyException(
                JsonValues.PropertyPath(path, "vendorId"),
                "vendorId 0xffff is what a read of an absent function returns; use a real vendor ID");
        }

        return id;
    }

    private static ushort? ReadOptionalId(JsonElement value, string path, string property) =>
        value.TryGetProperty(property, out JsonElement idValue)
            ? (ushort)JsonValues.ReadInteger(idValue, JsonValues.PropertyPath(path, property), property, MaxId)
            : null;

    private static int? ReadSecondaryBus(JsonElement value, string path) =>
        value.TryGetProperty("secondaryBus", out JsonElement busValue)
            ? (int)JsonValues.ReadInteger(busValue, JsonValues.PropertyPath(path, "secondaryBus"), "secondaryBus", MaxBus)
            : null;

    private DeviceDescription ReadSwitch(JsonElement value, string path, DeviceDescription device)
    {
        string upstreamPath = JsonValues.PropertyPath(path, "upstream");
        PortDescription upstream;
        if (value.TryGetProperty("upstream", out JsonElement upstreamValue))
        {
            upstream = ReadPort(upstreamValue, upstreamPath, isUpstream: true, internalBus: null);
        }
        else
        {
            string defaultName = device.Name + ".up";
            _names.Add(
                defaultName,
                $"as the default upstream port name of switch '{device.Name}' ({path})",
                path,
                $"the upstream port of switch '{device.Name}' (no 'upstream' given)");
            upstream = new PortDescription(defaultName, null, Array.Empty<DeviceDescription>(), upstreamPath);
        }

        if (!value.TryGetProperty("ports", out JsonElement portsValue))
        {
            throw Missing(path, "ports", $"switch '{device.Name}' needs at least one downstream port");
        }

        string portsPath = JsonValues.PropertyPath(path, "ports");
        JsonValues.RequireArray(portsValue, portsPath, "ports");
        if (portsValue.GetArrayLength() == 0)
        {
            throw new TopologyException(portsPath, $"switch '{device.Name}' needs at least one downstream port in 'ports'");
        }

        var internalBus = new SlotMap();
        var ports = new List<PortDescription>();
        int index = 0;
        foreach (JsonElement port in portsValue.EnumerateArray())
        {
            ports.Add(ReadPort(port, JsonValues.ItemPath(portsPath, index), isUpstream: false, internalBus));
            index++;
        }

        return device with { Upstream = upstream, Ports = ports };
    }

    private PortDescription ReadPort(JsonElement value, string path, bool isUpstream, SlotMap? internalBus)
    {
        JsonValues.RequireObject(
            value,
            path,
            isUpstream ? "'upstream'" : "a switch port",
            isUpstream ? s_upstreamProperties : s_portProperties);
        if (!value.TryGetProperty("name", out JsonElement nameValue))
        {
            throw Missing(path, "name", "every port needs a unique name");
        }

        string namePath = JsonValues.PropertyPath(path, "name");
        string name = JsonValues.ReadName(nameValue, namePath);
        _names.Add(name, $"at {namePath}", namePath);

        string slotPath = JsonValues.PropertyPath(path, "slot");
        PciSlot? slot = value.TryGetProperty("slot", out JsonElement slotValue) ? ReadSlot(slotValue, slotPath) : null;
        if (slot is { } taken && internalBus is not null
            && !internalBus.TryTake(taken.DevFn, name, path, out string previous, out string previousPath))
        {
            throw new TopologyException(slotPath, $"slot {taken} of port '{name}' is already taken by '{previous}' ({previousPath})");
        }

        AcsDescription? acs = value.TryGetProperty("acs", out JsonElement acsValue)
            ? ReadAcs(acsValue, JsonValues.PropertyPath(path, "acs"))
            : null;
        ushort? vendorId = ReadVendorId(value, path);
        ushort? deviceId = ReadOptionalId(value, path, "deviceId");
        int? secondaryBus = ReadSecondaryBus(value, path);
        IReadOnlyList<DeviceDescription> children = value.TryGetProperty("children", out JsonElement childrenValue)
            ? ReadEntries(childrenValue, JsonValues.PropertyPath(path, "children"), "children", EntryPlace.BelowPort)
            : Array.Empty<DeviceDescription>();
        return new PortDescription(name, acs, children, path)
        {
            VendorId = vendorId,
            DeviceId = deviceId,
            SecondaryBus = secondaryBus,
            Slot = slot,
        };
    }

    /// <summary>The endpoint kinds: BARs, extra functions, VFs, and the NVMe / NIC / accelerator extras.</summary>
    private DeviceDescription ReadFunction(JsonElement value, string path, EntryPlace place, SlotMap bus, DeviceDescription device)
    {
        if (value.TryGetProperty("bars", out JsonElement barsValue))
        {
            device = device with { Bars = ReadBars(barsValue, JsonValues.PropertyPath(path, "bars")) };
        }

        if (value.TryGetProperty("functions", out JsonElement functionsValue))
        {
            string functionsPath = JsonValues.PropertyPath(path, "functions");
            JsonValues.RequireArray(functionsValue, functionsPath, "functions");
            var functions = new List<DeviceDescription>();
            int index = 0;
            foreach (JsonElement function in functionsValue.EnumerateArray())
            {
                functions.Add(ReadEntry(
                    function,
                    JsonValues.ItemPath(functionsPath, index),
                    EntryPlace.Function,
                    index,
                    bus,
                    (device.Name, device.Slot)));
                index++;
            }

            device = device with { Functions = functions };
        }

        if (value.TryGetProperty("vfs", out JsonElement vfsValue))
        {
            string vfsPath = JsonValues.PropertyPath(path, "vfs");
            int vfs = (int)JsonValues.ReadInteger(vfsValue, vfsPath, "vfs", MaxVfs);
            TakeVfs(device, vfs, vfsPath, place, bus);
            device = device with { Vfs = vfs };
        }

        if (value.TryGetProperty("cmb", out JsonElement cmbValue))
        {
            string cmbPath = JsonValues.PropertyPath(path, "cmb");
            JsonValues.RequireObject(cmbValue, cmbPath, "'cmb'", s_sizeOnlyProperties);
            if (!cmbValue.TryGetProperty("size", out JsonElement cmbSize))
            {
                throw Missing(cmbPath, "size", "the Controller Memory Buffer size, e.g. \"64MiB\"");
            }

            device = device with { CmbBytes = JsonValues.ReadSize(cmbSize, JsonValues.PropertyPath(cmbPath, "size"), "size") };
        }

        if (value.TryGetProperty("namespaces", out JsonElement namespacesValue))
        {
            device = device with { Namespaces = ReadNamespaces(namespacesValue, JsonValues.PropertyPath(path, "namespaces")) };
        }

        if (value.TryGetProperty("memory", out JsonElement memoryValue))
        {
            device = device with { MemoryBytes = JsonValues.ReadSize(memoryValue, JsonValues.PropertyPath(path, "memory"), "memory") };
        }

        if (device.Kind == DeviceKind.Nic)
        {
            _nics.Add(device.Name);
            if (value.TryGetProperty("link", out JsonElement linkValue))
            {
                string linkPath = JsonValues.PropertyPath(path, "link");
                string peer = JsonValues.ReadString(linkValue, linkPath, "link");
                _links.Add((device.Name, peer, linkPath));
                device = device with { Link = peer };
            }
        }

        return device;
    }

    /// <summary>Reserves the generated VF names and, when the routing IDs are known, the VFs' slots.</summary>
    private void TakeVfs(DeviceDescription pf, int vfs, string vfsPath, EntryPlace place, SlotMap bus)
    {
        for (int i = 1; i <= vfs; i++)
        {
            string vfName = string.Create(CultureInfo.InvariantCulture, $"{pf.Name}.vf{i}");
            _names.Add(vfName, $"as VF {i} of '{pf.Name}' ({vfsPath})", vfsPath, $"VF {i} of '{pf.Name}'");
        }

        // The builder gives a PF with F functions First VF Offset F and VF Stride 1 (SR-IOV capability),
        // so VF i has routing ID PF + F + i - 1 on the PF's bus. Only the function-0 entry's VFs are
        // checked here; VF routing IDs past devfn 0xff land on the next bus, which is the builder's business.
        if (place == EntryPlace.Function || pf.Slot is not { } pfSlot)
        {
            return;
        }

        int firstDevFn = pfSlot.DevFn + 1 + pf.Functions.Count;
        for (int i = 1; i <= vfs && firstDevFn + i - 1 <= MaxDevFn; i++)
        {
            int devFn = firstDevFn + i - 1;
            var vfSlot = new PciSlot(devFn >> 3, devFn & 7);
            string vfName = string.Create(CultureInfo.InvariantCulture, $"{pf.Name}.vf{i}");
            if (!bus.TryTake(devFn, vfName, vfsPath, out string previous, out string previousPath))
            {
                throw new TopologyException(
                    vfsPath,
                    $"VF {i} of '{pf.Name}' ('{vfName}') would take slot {vfSlot}, which is already taken by '{previous}' ({previousPath})");
            }
        }
    }
}
