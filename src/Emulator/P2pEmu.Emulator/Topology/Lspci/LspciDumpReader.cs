using System;
using System.Collections.Generic;
using System.Globalization;
using P2pEmu.Emulator.Pci;

namespace P2pEmu.Emulator.Topology.Lspci;

/// <summary>
/// Rebuilds a <see cref="TopologyDescription"/> from an <c>lspci -xxxx</c> dump: the text
/// <see cref="LspciDumpWriter"/> writes, or a real machine's <c>lspci -xxxx</c> / <c>lspci -xxx</c> output,
/// with or without the domain prefix, so that <c>FabricBuilder.Build</c> recreates the machine with the same
/// addresses (BDFs).
/// </summary>
/// <remarks>
/// <para>
/// <b>Text.</b> A block is a header line starting with <c>[dddd:]bb:dd.f</c> (the class and vendor text
/// after it is ignored) followed by rows <c>oo: xx xx … xx</c> of exactly 16 bytes, in order from offset 0;
/// a blank line ends a block. Lines that start with white space (the decoded text of <c>lspci -v -xxx</c>)
/// are skipped. A block needs at least 64 bytes (the standard header); 256-byte <c>-xxx</c> blocks are
/// accepted but carry no extended capabilities, so they yield no ACS (and no SR-IOV, so no VFs).
/// </para>
/// <para>
/// <b>Tree.</b> Per domain, a root bus is a bus no bridge's [secondary, subordinate] range covers; each
/// (domain, root bus) becomes a host bridge named <c>hb&lt;dddd&gt;:&lt;bb&gt;</c> with the IOMMU off and
/// <c>RootComplexP2p</c> false: neither is visible in config space, so edit the description (or the
/// topology file made from it) when the machine's values matter. A type 1 function with PCI Express port
/// type Root Port (or, on a root bus, a bridge without a PCI Express capability) becomes a root port; an
/// Upstream Port with Downstream Ports on its secondary bus becomes a switch. A type 0 function of class
/// 06 00 at 00.0 of a root bus becomes a host-bridge function; every other type 0 function is a generic
/// endpoint keeping its vendor, device and class code. Functions sharing a bus and device number form one
/// entry with <see cref="DeviceDescription.Functions"/>. A function that reads Vendor ID <c>ffff</c> at one
/// of a PF's SR-IOV VF routing IDs (First VF Offset, VF Stride, NumVFs) counts toward the PF's
/// <see cref="DeviceDescription.Vfs"/>. Every function is named by its address (<c>0000:03:00.0</c>), a switch
/// by <c>sw</c> and its upstream port's address; slots and secondary bus numbers are fixed from the dump.
/// </para>
/// <para>
/// <b>Deviations.</b> A dump holds BAR addresses but not BAR sizes (lspci reads sizes from sysfs). Each
/// assigned memory BAR's size is inferred as the largest power of two its address is aligned to, capped so
/// that it does not reach the next resource above it in the domain (another BAR, an SR-IOV VF BAR, a bridge
/// window) or run past the window of the bridge above it, at most 1 GiB where nothing bounds it, and at
/// least 4 KiB. I/O BARs and unassigned (zero) BARs are skipped. Subordinate bus numbers are not fixed:
/// enumeration recomputes them, so a dump with buses reserved for hot plug rebuilds with tighter ranges.
/// The emulator places VFs right after the PF's device's last function with stride 1; a dump with another
/// VF layout rebuilds with the same VF count at different routing IDs. The emulator models a switch's
/// ports and a root port at function 0 only: a switch port at another function is reported here as
/// unsupported, and <c>FabricBuilder</c> refuses a root port at another function (e.g. Intel's 00:1c.4).
/// </para>
/// <para>
/// <b>Errors.</b> Anything the reader cannot turn into a machine is one <see cref="TopologyException"/>
/// whose <see cref="TopologyException.Path"/> is <c>&lt;source&gt;:line N</c> (a text error: that line; a
/// function's problem: its header line) and whose problem names the function's address where it has one.
/// </para>
/// </remarks>
public static class LspciDumpReader
{
    /// <summary>Bytes in the standard (type 0/1) header: the least a dump block must hold.</summary>
    public const int MinimumFunctionBytes = 64;

    private const int BytesPerRow = 16;

    /// <summary>Parses dump text into a topology description.</summary>
    /// <param name="text">The dump: one block per function, as <c>lspci -xxxx</c> (or <c>-xxx</c>) prints it.</param>
    /// <param name="sourceName">What to call the text in error locations (a file name); defaults to "dump".</param>
    /// <returns>The description, with one host bridge per (domain, root bus) in ascending order.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="text"/> or <paramref name="sourceName"/> is null.</exception>
    /// <exception cref="TopologyException">
    /// The text is malformed (a header that is not an address, a bad hex byte, a partial or out-of-order row,
    /// a truncated block, a duplicate address, no functions at all) or describes a hierarchy the emulator cannot
    /// build (a bridge with a bad secondary bus, a bridge kind it does not model, a bus no bridge leads to).
    /// The path is "&lt;sourceName&gt;:line N", or <paramref name="sourceName"/> alone when there are no functions.
    /// </exception>
    public static TopologyDescription Parse(string text, string sourceName = "dump")
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(sourceName);
        List<DumpFunction> functions = ReadBlocks(text, sourceName);
        if (functions.Count == 0)
        {
            throw new TopologyException(sourceName, "no functions: expected blocks of a header line '[dddd:]bb:dd.f <class>: <device>' and hex rows, as lspci -xxxx prints them");
        }

        return BuildTopology(functions);
    }

    /// <summary>Reads and parses a dump file.</summary>
    /// <param name="path">The file's path; it is also the source name in error locations.</param>
    /// <returns>The description (see <see cref="Parse"/>).</returns>
    /// <exception cref="ArgumentException"><paramref name="path"/> is null or empty.</exception>
    /// <exception cref="TopologyException">
    /// The file does not exist or cannot be read (<see cref="TopologyException.Path"/> is then the file path),
    /// or its text is not a usable dump (see <see cref="Parse"/>).
    /// </exception>
    public static TopologyDescription Load(string path)
    {
        string text = TopologyFile.ReadAllText(path, "lspci dump");

        return Parse(text, path);
    }

    private static TopologyDescription BuildTopology(List<DumpFunction> functions)
    {
        functions.Sort((a, b) => a.Domain != b.Domain ? a.Domain.CompareTo(b.Domain) : a.RoutingId.CompareTo(b.RoutingId));
        var hostBridges = new List<HostBridgeDescription>();
        int start = 0;
        while (start < functions.Count)
        {
            int end = start;
            while (end < functions.Count && functions[end].Domain == functions[start].Domain)
            {
                end++;
            }

            hostBridges.AddRange(new DumpDomain(functions.GetRange(start, end - start)).BuildHostBridges());
            start = end;
        }

        return new TopologyDescription(PlatformDescription.Default, hostBridges);
    }

    private static List<DumpFunction> ReadBlocks(string text, string sourceName)
    {
        var functions = new List<DumpFunction>();
        var byAddress = new Dictionary<string, DumpFunction>(StringComparer.Ordinal);
        byte[] buffer = new byte[ConfigSpace.Size];
        DumpFunction? current = null;
        int lineNumber = 0;
        foreach (string rawLine in text.Split('\n'))
        {
            lineNumber++;
            string line = rawLine.TrimEnd();
            if (line.Length == 0)
            {
                Close(current, buffer);
                current = null;
                continue;
            }

            if (char.IsWhiteSpace(line[0]))
            {
                continue;
            }

            if (TryParseRowOffset(line, out int offset, out int dataStart))
            {
                if (current is null)
                {
                    throw new TopologyException(Location(sourceName, lineNumber), $"config-space row '{Shorten(line)}' has no function header line above it");
                }

                ReadRow(line, dataStart, offset, current, buffer, sourceName, lineNumber);
                continue;
            }

            Close(current, buffer);
            current = ParseHeader(line, Location(sourceName, lineNumber));
            if (!byAddress.TryAdd(current.Address, current))
            {
                throw new TopologyException(current.Location, $"duplicate function {current.Address}: it already appeared at {byAddress[current.Address].Location}");
            }

            functions.Add(current);
        }

        Close(current, buffer);
        return functions;
    }

    private static void Close(DumpFunction? function, byte[] buffer)
    {
        if (function is null)
        {
            return;
        }

        if (function.LengthBytes < MinimumFunctionBytes)
        {
            throw new TopologyException(function.Location, $"function {function.Address} is truncated: {function.LengthBytes} bytes of config space, at least {MinimumFunctionBytes} (lspci -x) are needed");
        }

        function.Config.Load(buffer.AsSpan(0, function.LengthBytes));
    }

    /// <summary>True for a row prefix: 2 or 3 hex digits, a colon, then a space or the end of the line.</summary>
    private static bool TryParseRowOffset(string line, out int offset, out int dataStart)
    {
        offset = 0;
        dataStart = 0;
        int colon = line.IndexOf(':', StringComparison.Ordinal);
        if (colon is < 2 or > 3 || (colon + 1 < line.Length && line[colon + 1] != ' '))
        {
            return false;
        }

        if (!int.TryParse(line.AsSpan(0, colon), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out offset))
        {
            return false;
        }

        dataStart = colon + 1;
        return true;
    }

    private static void ReadRow(string line, int dataStart, int offset, DumpFunction function, byte[] buffer, string sourceName, int lineNumber)
    {
        if (offset != function.LengthBytes)
        {
            string problem = offset % BytesPerRow != 0
                ? $"row offset {offset:x2} is not a multiple of 16"
                : $"row offset {offset:x2} is out of order: function {function.Address} continues at {function.LengthBytes:x2}";
            throw new TopologyException(Location(sourceName, lineNumber), problem);
        }

        string[] tokens = line[dataStart..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        for (int i = 0; i < tokens.Length && i < BytesPerRow; i++)
        {
            string token = tokens[i];
            if (token.Length != 2 || !byte.TryParse(token, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out byte value))
            {
                throw new TopologyException(Location(sourceName, lineNumber), $"bad hex byte '{Shorten(token)}' at offset {offset + i:x2} of {function.Address}");
            }

            buffer[offset + i] = value;
        }

        if (tokens.Length != BytesPerRow)
        {
            string what = tokens.Length < BytesPerRow ? "partial row" : "overlong row";
            throw new TopologyException(Location(sourceName, lineNumber), $"{what} at offset {offset:x2} of {function.Address}: {tokens.Length} bytes, a row holds 16");
        }

        function.LengthBytes = offset + BytesPerRow;
    }

    private static DumpFunction ParseHeader(string line, string location)
    {
        int end = line.IndexOfAny([' ', '\t']);
        string token = end < 0 ? line : line[..end];
        string[] parts = token.Split(':');
        string[] devFn = parts[^1].Split('.');
        bool shaped = parts.Length is 2 or 3 && devFn.Length == 2
            && parts[^2].Length == 2 && devFn[0].Length == 2 && devFn[1].Length == 1
            && (parts.Length == 2 || parts[0].Length is >= 4 and <= 6);
        int domain = 0;
        if (!shaped
            || (parts.Length == 3 && !TryHex(parts[0], out domain))
            || !TryHex(parts[^2], out int bus)
            || !TryHex(devFn[0], out int device)
            || !TryHex(devFn[1], out int function)
            || device > 0x1F
            || function > 7)
        {
            throw new TopologyException(location, $"'{Shorten(token)}' is not a function address: a block starts with '[dddd:]bb:dd.f', device 00-1f and function 0-7, then the class and device text");
        }

        return new DumpFunction(domain, bus, device, function, location);
    }

    private static bool TryHex(string text, out int value) =>
        int.TryParse(text, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value);

    private static string Location(string sourceName, int lineNumber) =>
        string.Create(CultureInfo.InvariantCulture, $"{sourceName}:line {lineNumber}");

    private static string Shorten(string text) => text.Length <= 40 ? text : string.Concat(text.AsSpan(0, 37), "...");
}
