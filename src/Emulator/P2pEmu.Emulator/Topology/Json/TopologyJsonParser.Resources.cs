using System.Collections.Generic;
using System.Globalization;
using System.Numerics;
using System.Text.Json;

namespace P2pEmu.Emulator.Topology.Json;

/// <summary>What hangs off a function: ACS, BARs, NVMe namespaces.</summary>
internal sealed partial class TopologyJsonParser
{
    private const int BarCount = 6;
    private const ulong MaxBarIndex = BarCount - 1;

    // PCI base spec, "Base Address Registers": bits 6:4 of a memory BAR are reserved-zero, so 128 bytes is
    // the smallest size this emulator accepts; a 32-bit BAR decodes at most 2 GiB.
    private const ulong MinBarBytes = 128;
    private const ulong Max32BitBarBytes = 1UL << 31;
    private const ulong NamespaceBlockBytes = 512;
    private const ulong MaxEgress = uint.MaxValue;
    private const ulong MaxEgressBits = 256;

    private static readonly string[] s_sizeOnlyProperties = ["size"];
    private static readonly string[] s_barProperties = ["index", "size", "prefetchable", "bits", "backing"];
    private static readonly string[] s_namespaceProperties = ["size", "file", "ram"];
    private static readonly string[] s_acsProperties = ["cap", "ctrl", "egress", "egressBits"];

    private static AcsDescription ReadAcs(JsonElement value, string path)
    {
        JsonValues.RequireObject(value, path, "'acs'", s_acsProperties);
        AcsFlags capability = value.TryGetProperty("cap", out JsonElement capValue)
            ? AcsText.Read(capValue, JsonValues.PropertyPath(path, "cap"), "cap")
            : AcsFlags.All;
        string ctrlPath = JsonValues.PropertyPath(path, "ctrl");
        AcsFlags control = value.TryGetProperty("ctrl", out JsonElement ctrlValue)
            ? AcsText.Read(ctrlValue, ctrlPath, "ctrl")
            : AcsFlags.None;
        if ((control & ~capability) != 0)
        {
            throw new TopologyException(
                ctrlPath,
                $"'ctrl' enables {AcsText.Describe(control & ~capability)}, which 'cap' does not offer (cap: {AcsText.Describe(capability)})");
        }

        bool hasEgressControl = (capability & AcsFlags.EC) != 0;
        uint egress = 0;
        string egressPath = JsonValues.PropertyPath(path, "egress");
        if (value.TryGetProperty("egress", out JsonElement egressValue))
        {
            if (!hasEgressControl)
            {
                throw new TopologyException(
                    egressPath,
                    $"'egress' needs EC (P2P Egress Control) in 'cap' (cap: {AcsText.Describe(capability)})");
            }

            egress = (uint)JsonValues.ReadInteger(egressValue, egressPath, "egress", MaxEgress);
        }

        var acs = new AcsDescription(capability, control, egress);
        if (value.TryGetProperty("egressBits", out JsonElement bitsValue))
        {
            string bitsPath = JsonValues.PropertyPath(path, "egressBits");
            if (!hasEgressControl)
            {
                throw new TopologyException(
                    bitsPath,
                    $"'egressBits' needs EC (P2P Egress Control) in 'cap' (cap: {AcsText.Describe(capability)})");
            }

            int bits = (int)JsonValues.ReadInteger(bitsValue, bitsPath, "egressBits", MaxEgressBits);
            if (bits == 0)
            {
                throw new TopologyException(bitsPath, "'egressBits' must be 1..256");
            }

            if (bits < 32 && (egress >> bits) != 0)
            {
                throw new TopologyException(
                    egressPath,
                    string.Create(CultureInfo.InvariantCulture, $"'egress' 0x{egress:x} has bits above the {bits} bits 'egressBits' allows"));
            }

            acs = acs with { EgressVectorBits = bits };
        }

        return acs;
    }

    private static List<BarDescription> ReadBars(JsonElement value, string path)
    {
        JsonValues.RequireArray(value, path, "bars");
        int[] owner = [-1, -1, -1, -1, -1, -1];
        var bars = new List<BarDescription>();
        int item = 0;
        foreach (JsonElement barValue in value.EnumerateArray())
        {
            string barPath = JsonValues.ItemPath(path, item);
            JsonValues.RequireObject(barValue, barPath, "a BAR", s_barProperties);
            if (!barValue.TryGetProperty("index", out JsonElement indexValue))
            {
                throw Missing(barPath, "index", "the BAR number, 0..5");
            }

            if (!barValue.TryGetProperty("size", out JsonElement sizeValue))
            {
                throw Missing(barPath, "size", "a power of two of at least 128 bytes, e.g. \"16MiB\"");
            }

            string indexPath = JsonValues.PropertyPath(barPath, "index");
            string sizePath = JsonValues.PropertyPath(barPath, "size");
            int index = (int)JsonValues.ReadInteger(indexValue, indexPath, "index", MaxBarIndex);
            ulong sizeBytes = JsonValues.ReadSize(sizeValue, sizePath, "size");
            if (!BitOperations.IsPow2(sizeBytes) || sizeBytes < MinBarBytes)
            {
                throw new TopologyException(
                    sizePath,
                    $"BAR size {SizeText.Format(sizeBytes)} ({sizeBytes} bytes) must be a power of two of at least 128 bytes");
            }

            bool prefetchable = barValue.TryGetProperty("prefetchable", out JsonElement prefetchValue)
                && JsonValues.ReadBool(prefetchValue, JsonValues.PropertyPath(barPath, "prefetchable"), "prefetchable");
            bool is64Bit = prefetchable;
            if (barValue.TryGetProperty("bits", out JsonElement bitsValue))
            {
                string bitsPath = JsonValues.PropertyPath(barPath, "bits");
                ulong bits = JsonValues.ReadInteger(bitsValue, bitsPath, "bits", 64);
                if (bits is not (32 or 64))
                {
                    throw new TopologyException(bitsPath, $"'bits' must be 32 or 64, not {bits}");
                }

                is64Bit = bits == 64;
            }

            if (is64Bit && index == BarCount - 1)
            {
                throw new TopologyException(
                    indexPath,
                    "BAR 5 cannot be 64-bit: a 64-bit BAR also takes the next index, and there is no BAR 6");
            }

            if (!is64Bit && sizeBytes > Max32BitBarBytes)
            {
                throw new TopologyException(
                    sizePath,
                    $"a 32-bit BAR can be at most 2GiB, not {SizeText.Format(sizeBytes)}; use \"bits\": 64");
            }

            for (int taken = index; taken <= index + (is64Bit ? 1 : 0); taken++)
            {
                if (owner[taken] >= 0)
                {
                    BarDescription other = bars[owner[taken]];
                    string what = other.Index == taken
                        ? $"bars[{owner[taken]}] is already BAR {taken}"
                        : $"bars[{owner[taken]}] is a 64-bit BAR {other.Index}, which also takes index {taken}";
                    throw new TopologyException(
                        indexPath,
                        string.Create(
                            CultureInfo.InvariantCulture,
                            $"BAR {index}{(is64Bit ? " (64-bit, so also index " + (index + 1).ToString(CultureInfo.InvariantCulture) + ")" : string.Empty)} overlaps another BAR: {what}"));
                }

                owner[taken] = item;
            }

            string? backing = null;
            if (barValue.TryGetProperty("backing", out JsonElement backingValue))
            {
                backing = ReadPath(backingValue, JsonValues.PropertyPath(barPath, "backing"), "backing");
            }

            bars.Add(new BarDescription(index, sizeBytes, prefetchable, is64Bit, backing));
            item++;
        }

        return bars;
    }

    private static List<NamespaceDescription> ReadNamespaces(JsonElement value, string path)
    {
        JsonValues.RequireArray(value, path, "namespaces");
        var namespaces = new List<NamespaceDescription>();
        int item = 0;
        foreach (JsonElement nsValue in value.EnumerateArray())
        {
            string nsPath = JsonValues.ItemPath(path, item);
            JsonValues.RequireObject(nsValue, nsPath, "a namespace", s_namespaceProperties);
            if (!nsValue.TryGetProperty("size", out JsonElement sizeValue))
            {
                throw Missing(nsPath, "size", "the namespace size, e.g. \"1GiB\"");
            }

            string sizePath = JsonValues.PropertyPath(nsPath, "size");
            ulong sizeBytes = JsonValues.ReadSize(sizeValue, sizePath, "size");
            if (sizeBytes % NamespaceBlockBytes != 0)
            {
                throw new TopologyException(
                    sizePath,
                    $"namespace size {sizeBytes} bytes must be a whole number of 512-byte logical blocks");
            }

            string? file = nsValue.TryGetProperty("file", out JsonElement fileValue)
                ? ReadPath(fileValue, JsonValues.PropertyPath(nsPath, "file"), "file")
                : null;
            bool inRam = nsValue.TryGetProperty("ram", out JsonElement ramValue)
                && JsonValues.ReadBool(ramValue, JsonValues.PropertyPath(nsPath, "ram"), "ram");
            if (inRam && file is not null)
            {
                throw new TopologyException(JsonValues.PropertyPath(nsPath, "ram"), "a namespace is backed by RAM or by a 'file', not both");
            }

            namespaces.Add(new NamespaceDescription(sizeBytes, file, nsPath) { InRam = inRam });
            item++;
        }

        return namespaces;
    }

    private static string ReadPath(JsonElement value, string path, string property)
    {
        string text = JsonValues.ReadString(value, path, property);
        if (text.Length == 0)
        {
            throw new TopologyException(path, $"'{property}' must be a file path, not an empty string");
        }

        return text;
    }
}
