using System;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Memory;
using P2pEmu.Emulator.Pci;

namespace P2pEmu.Benchmarks;

/// <summary>
/// <c>--startup-check</c>: builds the 64 GiB machine of <see cref="BenchTopologies.Large"/> and prints the
/// build time (cold, then warm) and the growth of resident memory (VmRSS from /proc/self/status) after the
/// build and after touching a known number of bytes, to show that memory is committed only when touched.
/// </summary>
internal static class StartupCheck
{
    /// <summary>Bytes touched in one BAR after the build.</summary>
    private const ulong TouchBytes = 256 * BenchTopologies.MiB;

    /// <summary>Build time budget ("well under a second").</summary>
    private const double BudgetMilliseconds = 250;

    /// <summary>Allowed resident growth of a build, beyond what is touched.</summary>
    private const long RssSlackBytes = 64L << 20;

    /// <summary>Runs the check; returns the process exit code (0 when both budgets hold).</summary>
    public static int Run()
    {
        ulong total = BenchTopologies.LargeTotalBytes;
        Console.WriteLine(Invariant($"startup-check: {total >> 30} GiB machine (RAM {BenchTopologies.LargeRamBytes >> 30} GiB + {BenchTopologies.LargeEndpoints} x {BenchTopologies.LargeBarBytes >> 30} GiB prefetchable BARs)"));

        long rss0 = ReadRssBytes();
        var watch = Stopwatch.StartNew();
        PcieFabric fabric = FabricBuilder.Build(BenchTopologies.Large());
        double coldMs = watch.Elapsed.TotalMilliseconds;
        long rss1 = ReadRssBytes();
        long buildGrowth = rss1 - rss0;

        BarRegion bar = ((PciEndpoint)fabric["gpu0"]).Bars[0].Memory!;
        bar.Fill(0, TouchBytes, 0x5A);
        long rss2 = ReadRssBytes();
        long touchGrowth = rss2 - rss1;

        watch.Restart();
        fabric.Dispose();
        double disposeMs = watch.Elapsed.TotalMilliseconds;
        long rss3 = ReadRssBytes();

        // Warm: the code is jitted now; what remains is the cost of the build itself.
        watch.Restart();
        PcieFabric warm = FabricBuilder.Build(BenchTopologies.Large());
        double warmMs = watch.Elapsed.TotalMilliseconds;
        warm.Dispose();

        Console.WriteLine(Invariant($"  build (cold, incl. JIT)  {coldMs,10:F1} ms"));
        Console.WriteLine(Invariant($"  build (warm)             {warmMs,10:F1} ms"));
        Console.WriteLine(Invariant($"  dispose                  {disposeMs,10:F1} ms"));
        Console.WriteLine(Invariant($"  VmRSS before build       {Mib(rss0),10:F1} MiB"));
        Console.WriteLine(Invariant($"  VmRSS after build        {Mib(rss1),10:F1} MiB  (+{Mib(buildGrowth):F1} MiB for {total >> 30} GiB mapped)"));
        Console.WriteLine(Invariant($"  VmRSS after touch        {Mib(rss2),10:F1} MiB  (+{Mib(touchGrowth):F1} MiB for {TouchBytes >> 20} MiB written into gpu0 BAR0)"));
        Console.WriteLine(Invariant($"  VmRSS after dispose      {Mib(rss3),10:F1} MiB"));

        bool timeOk = coldMs < BudgetMilliseconds;
        bool rssOk = buildGrowth < RssSlackBytes && touchGrowth < (long)TouchBytes + RssSlackBytes;
        Console.WriteLine(Invariant($"  build time: {(timeOk ? "met" : "MISSED")} (budget {BudgetMilliseconds} ms, cold); resident memory grows with what is touched: {(rssOk ? "met" : "MISSED")}"));
        return timeOk && rssOk ? 0 : 1;
    }

    /// <summary>VmRSS of this process in bytes (Linux); -1 where /proc is not available.</summary>
    private static long ReadRssBytes()
    {
        const string Path = "/proc/self/status";
        if (!File.Exists(Path))
        {
            return -1;
        }

        foreach (string line in File.ReadLines(Path))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                // "VmRSS:     123456 kB"
                string[] parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                return long.Parse(parts[1], CultureInfo.InvariantCulture) * 1024;
            }
        }

        return -1;
    }

    private static double Mib(long bytes) => bytes / (double)(1 << 20);

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
