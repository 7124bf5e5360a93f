using System;
using System.Buffers;
using System.Collections.Generic;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace P2pEmu.Emulator.Topology.Json;

/// <summary>
/// Writes a <see cref="TopologyDescription"/> as a topology file that <see cref="TopologyJsonReader"/>
/// reads back to equal records (used, for example, to turn an lspci dump into an editable file).
/// </summary>
public static class TopologyJsonWriter
{
    // AcsDescription.EgressVectorBits when nothing sets it (and the reader's default for 'egressBits').
    private const int DefaultEgressVectorBits = 32;

    private static readonly JsonWriterOptions s_options = new()
    {
        Indented = true,
        IndentSize = 2,
        NewLine = "\n",

        // A file for people to edit, not HTML: keep '+', '<' and non-ASCII names readable.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>Writes <paramref name="topology"/> as indented JSON ending in a newline.</summary>
    /// <param name="topology">The description to write.</param>
    /// <returns>The file's text. Optional values are written only when they are set.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="topology"/> is null.</exception>
    /// <remarks>
    /// Values the reader would reject (say, children on an endpoint) are written as they are, so the
    /// reader's error names the problem; the writer does not validate.
    /// </remarks>
    public static string Write(TopologyDescription topology)
    {
        ArgumentNullException.ThrowIfNull(topology);
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, s_options))
        {
            writer.WriteStartObject();
            WritePlatform(writer, topology.Platform);
            writer.WriteStartArray("hostBridges");
            foreach (HostBridgeDescription bridge in topology.HostBridges)
            {
                WriteHostBridge(writer, bridge);
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan) + "\n";
    }

    private static void WritePlatform(Utf8JsonWriter writer, PlatformDescription platform)
    {
        writer.WriteStartObject("platform");
        writer.WriteStartObject("cpu");
        writer.WriteString("vendor", JsonValues.EnumText(TopologyJsonNames.CpuVendors, platform.CpuVendor));
        writer.WriteString("family", Hex(platform.CpuFamily, 2));
        writer.WriteEndObject();
        writer.WriteString("kernel", JsonValues.EnumText(TopologyJsonNames.Kernels, platform.Kernel));
        writer.WriteString("ram", SizeText.Format(platform.RamBytes));
        if (platform.IommuStrict)
        {
            writer.WriteBoolean("iommuStrict", true);
        }

        writer.WriteEndObject();
    }

    private static void WriteHostBridge(Utf8JsonWriter writer, HostBridgeDescription bridge)
    {
        writer.WriteStartObject();
        writer.WriteString("name", bridge.Name);
        writer.WriteNumber("segment", bridge.Segment);
        writer.WriteNumber("bus", bridge.Bus);
        writer.WriteString("iommu", JsonValues.EnumText(TopologyJsonNames.IommuModes, bridge.Iommu));
        writer.WriteBoolean("rootComplexP2p", bridge.RootComplexP2p);
        WriteDevices(writer, "devices", bridge.Devices);
        writer.WriteEndObject();
    }

    private static void WriteDevices(Utf8JsonWriter writer, string property, IReadOnlyList<DeviceDescription> devices)
    {
        writer.WriteStartArray(property);
        foreach (DeviceDescription device in devices)
        {
            WriteDevice(writer, device);
        }

        writer.WriteEndArray();
    }

    private static void WriteDevice(Utf8JsonWriter writer, DeviceDescription device)
    {
        writer.WriteStartObject();
        writer.WriteString("name", device.Name);
        writer.WriteString("kind", TopologyJsonNames.KindText(device.Kind));
        if (device.Slot is { } slot)
        {
            writer.WriteString("slot", slot.ToString());
        }

        WriteIds(writer, device.VendorId, device.DeviceId);
        if (device.ClassCode is { } classCode)
        {
            writer.WriteString("classCode", Hex(classCode, 6));
        }

        WriteAcs(writer, device.Acs);
        if (device.SecondaryBus is { } secondaryBus)
        {
            writer.WriteNumber("secondaryBus", secondaryBus);
        }

        if (device.Children.Count > 0)
        {
            WriteDevices(writer, "children", device.Children);
        }

        if (device.Upstream is { } upstream)
        {
            writer.WritePropertyName("upstream");
            WritePort(writer, upstream);
        }

        if (device.Ports.Count > 0)
        {
            writer.WriteStartArray("ports");
            foreach (PortDescription port in device.Ports)
            {
                WritePort(writer, port);
            }

            writer.WriteEndArray();
        }

        if (device.Bars.Count > 0)
        {
            WriteBars(writer, device.Bars);
        }

        if (device.Functions.Count > 0)
        {
            WriteDevices(writer, "functions", device.Functions);
        }

        if (device.Vfs > 0)
        {
            writer.WriteNumber("vfs", device.Vfs);
        }

        if (device.CmbBytes > 0)
        {
            writer.WriteStartObject("cmb");
            writer.WriteString("size", SizeText.Format(device.CmbBytes));
            writer.WriteEndObject();
        }

        if (device.Namespaces.Count > 0)
        {
            writer.WriteStartArray("namespaces");
            foreach (NamespaceDescription ns in device.Namespaces)
            {
                writer.WriteStartObject();
                writer.WriteString("size", SizeText.Format(ns.SizeBytes));
                if (ns.BackingPath is not null)
                {
                    writer.WriteString("file", ns.BackingPath);
                }

                if (ns.InRam)
                {
                    writer.WriteBoolean("ram", true);
                }

                writer.WriteEndObject();
            }

            writer.WriteEndArray();
        }

        if (device.MemoryBytes > 0)
        {
            writer.WriteString("memory", SizeText.Format(device.MemoryBytes));
        }

        if (device.Link is not null)
        {
            writer.WriteString("link", device.Link);
        }

        writer.WriteEndObject();
    }

    private static void WritePort(Utf8JsonWriter writer, PortDescription port)
    {
        writer.WriteStartObject();
        writer.WriteString("name", port.Name);
        if (port.Slot is { } slot)
        {
            writer.WriteString("slot", slot.ToString());
        }

        WriteIds(writer, port.VendorId, port.DeviceId);
        WriteAcs(writer, port.Acs);
        if (port.SecondaryBus is { } secondaryBus)
        {
            writer.WriteNumber("secondaryBus", secondaryBus);
        }

        if (port.Children.Count > 0)
        {
            WriteDevices(writer, "children", port.Children);
        }

        writer.WriteEndObject();
    }

    private static void WriteIds(Utf8JsonWriter writer, ushort? vendorId, ushort? deviceId)
    {
        if (vendorId is { } vendor)
        {
            writer.WriteString("vendorId", Hex(vendor, 4));
        }

        if (deviceId is { } device)
        {
            writer.WriteString("deviceId", Hex(device, 4));
        }
    }

    private static void WriteAcs(Utf8JsonWriter writer, AcsDescription? acs)
    {
        if (acs is null)
        {
            return;
        }

        writer.WriteStartObject("acs");
        if (acs.Capability != AcsFlags.All)
        {
            WriteAcsBits(writer, "cap", acs.Capability);
        }

        WriteAcsBits(writer, "ctrl", acs.Control);
        if (acs.EgressVector != 0)
        {
            writer.WriteString("egress", Hex(acs.EgressVector, 8));
        }

        if (acs.EgressVectorBits != DefaultEgressVectorBits)
        {
            writer.WriteNumber("egressBits", acs.EgressVectorBits);
        }

        writer.WriteEndObject();
    }

    private static void WriteAcsBits(Utf8JsonWriter writer, string property, AcsFlags flags)
    {
        if ((flags & ~AcsFlags.All) != 0)
        {
            // Bits no mnemonic names: written as the register value so nothing is silently dropped.
            writer.WriteString(property, Hex((ushort)flags, 2));
            return;
        }

        writer.WriteStartArray(property);
        foreach (string mnemonic in AcsText.Mnemonics(flags))
        {
            writer.WriteStringValue(mnemonic);
        }

        writer.WriteEndArray();
    }

    private static void WriteBars(Utf8JsonWriter writer, IReadOnlyList<BarDescription> bars)
    {
        writer.WriteStartArray("bars");
        foreach (BarDescription bar in bars)
        {
            writer.WriteStartObject();
            writer.WriteNumber("index", bar.Index);
            writer.WriteString("size", SizeText.Format(bar.SizeBytes));
            writer.WriteBoolean("prefetchable", bar.Prefetchable);
            writer.WriteNumber("bits", bar.Is64Bit ? 64 : 32);
            if (bar.BackingPath is not null)
            {
                writer.WriteString("backing", bar.BackingPath);
            }

            writer.WriteEndObject();
        }

        writer.WriteEndArray();
    }

    private static string Hex(long value, int digits) =>
        "0x" + value.ToString("x" + digits.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
}
