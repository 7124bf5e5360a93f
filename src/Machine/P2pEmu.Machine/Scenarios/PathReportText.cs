using System.Globalization;

namespace P2pEmu.Machine.Scenarios;

/// <summary>A path of the report as a person reads it: its name, then its map types, bytes, time, rate, copies and verdict.</summary>
internal static class PathReportText
{
    /// <summary>How a path reads in the text report.</summary>
    public static string Format(PathReport p)
    {
        string verdict = !p.ChecksumOk ? "FAILED: " + string.Join("; ", p.Errors)
            : p.Errors.Count > 0 ? "stopped as Linux stops it: " + string.Join("; ", p.Errors)
            : "checksum ok";
        string text = string.Create(CultureInfo.InvariantCulture,
            $"  {p.Name}\n      {p.MapType,-60} {p.Bytes,9} B  {p.Seconds * 1e3,8:F2} ms  {p.Gbps,6:F2} GB/s  {p.CopiesPerByte:F2} copies/byte  {verdict}");
        return p.Explanation is null ? text : text + "\n      why: " + p.Explanation;
    }
}
