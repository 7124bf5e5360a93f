using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Pci;

namespace P2pEmu.Emulator.Topology.Lspci;

/// <summary>
/// Writes a fabric's configuration spaces as <c>lspci -D -nn -xxxx</c> prints a real machine's: one block
/// per function, sorted by domain, bus, device and function, each a header line
/// <c>dddd:bb:dd.f &lt;class name&gt; [cccc]: Device [vvvv:dddd] (rev rr)</c>, then the 4096 bytes of
/// configuration space as 256 rows of 16 hex bytes (<c>00:</c> to <c>f0:</c>, then 3-digit offsets
/// <c>100:</c> to <c>ff0:</c>), then a blank line.
/// </summary>
/// <remarks>
/// <para>
/// The real <c>lspci -F FILE</c> (pciutils' dump back end) reads this text: it recognises a header by
/// the address followed by a space (the class and vendor text after it are ignored; a bare address line
/// without the space is silently skipped), and rows by a 2- or 3-digit offset, a colon and a space.
/// <c>lspci -F FILE -t</c> then shows the fabric's tree and <c>-vvv</c> decodes IDs, bus numbers, bridge
/// windows, BAR addresses and the PCI Express, ACS and SR-IOV capabilities. BAR sizes are not in config
/// space (lspci takes them from sysfs), so a dump shows BAR addresses without sizes.
/// </para>
/// <para>
/// SR-IOV VFs are written with the bytes the hardware returns: Vendor and Device ID read <c>ffff</c>.
/// Their header line names the PF's vendor and the SR-IOV VF Device ID, as the kernel reports them.
/// Names are not part of the text (pci.ids does not know emulated parts); <see cref="LspciDumpReader"/>
/// names each function by its address.
/// </para>
/// </remarks>
public static class LspciDumpWriter
{
    private const int BytesPerRow = 16;
    private const string HexDigits = "0123456789abcdef";

    /// <summary>Writes every function of <paramref name="fabric"/>, VFs included, as an lspci -xxxx dump.</summary>
    /// <param name="fabric">An enumerated fabric (bus numbers, windows and BARs as software programmed them).</param>
    /// <returns>The dump text, lines separated by <c>\n</c>, ending with a blank line as lspci's output does.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="fabric"/> is null.</exception>
    public static string Write(PcieFabric fabric)
    {
        ArgumentNullException.ThrowIfNull(fabric);
        var functions = new List<PciFunction>(fabric.Functions);
        functions.Sort(CompareAddress);

        // 256 rows of "fff:" + 16 × " xx" + "\n" per function, plus the header.
        var text = new StringBuilder(functions.Count * ((ConfigSpace.Size / BytesPerRow * 53) + 128));
        foreach (PciFunction function in functions)
        {
            WriteHeader(text, function);
            WriteRows(text, function.Config.Bytes);
            text.Append('\n');
        }

        return text.ToString();
    }

    private static int CompareAddress(PciFunction a, PciFunction b)
    {
        int bySegment = a.HostBridge.Segment.CompareTo(b.HostBridge.Segment);
        return bySegment != 0 ? bySegment : a.Bdf.Value.CompareTo(b.Bdf.Value);
    }

    private static void WriteHeader(StringBuilder text, PciFunction function)
    {
        ConfigSpace config = function.Config;
        int classCode = config.Read16(PciConfig.ClassDevice);
        ushort vendorId = config.Read16(PciConfig.VendorId);
        ushort deviceId = config.Read16(PciConfig.DeviceId);
        if (function is PciEndpoint { IsVirtualFunction: true } vf && vf.PhysicalFunction is PciEndpoint { SriovCapabilityOffset: > 0 } pf)
        {
            vendorId = pf.Config.Read16(PciConfig.VendorId);
            deviceId = pf.Config.Read16(pf.SriovCapabilityOffset + SriovConfig.VfDeviceId);
        }

        text.Append(
            CultureInfo.InvariantCulture,
            $"{function.Address} {PciClassNames.Of(classCode)} [{classCode:x4}]: Device [{vendorId:x4}:{deviceId:x4}] (rev {config.Read8(PciConfig.RevisionId):x2})\n");
    }

    private static void WriteRows(StringBuilder text, ReadOnlySpan<byte> bytes)
    {
        for (int row = 0; row < bytes.Length; row += BytesPerRow)
        {
            // lspci prints offsets with "%02x:", so rows of the extended space get three digits.
            text.Append(row.ToString("x2", CultureInfo.InvariantCulture)).Append(':');
            foreach (byte value in bytes.Slice(row, BytesPerRow))
            {
                text.Append(' ').Append(HexDigits[value >> 4]).Append(HexDigits[value & 0xF]);
            }

            text.Append('\n');
        }
    }
}
