using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using P2pEmu.Emulator.Fabric;
using P2pEmu.Emulator.Pci;

namespace P2pEmu.Emulator.Tests.Topology.Lspci;

/// <summary>
/// The text <c>lspci -t</c> prints for a fabric, computed from the fabric's buses and bridges with the
/// drawing rules of pciutils' ls-tree.c: "-[dddd:bb]-" per root bus ("+-"/"\-" when there are several),
/// "+-dd.f" / "\-dd.f" per function of a bus with several, "--dd.f" for a lone one, "-[ss-uu]-" (or
/// "-[ss]-") after a bridge, and, for each printed line, "+" and "|" carried down as "|" with everything
/// else blanked.
/// </summary>
internal sealed class LspciTreeExpectation
{
    private readonly StringBuilder _output = new();
    private readonly char[] _line = new char[512];

    private LspciTreeExpectation()
    {
    }

    public static string For(PcieFabric fabric)
    {
        var expectation = new LspciTreeExpectation();
        List<HostBridge> roots = fabric.HostBridges.OrderBy(hb => hb.Segment).ThenBy(hb => hb.RootBus.Number).ToList();
        int p = expectation.Put(0, "-");
        if (roots.Count == 1)
        {
            p = expectation.Put(p, Root(roots[0]));
            expectation.Bus(roots[0].RootBus, p);
        }
        else
        {
            for (int i = 0; i < roots.Count; i++)
            {
                int k = expectation.Put(p, (i < roots.Count - 1 ? "+-" : "\\-") + Root(roots[i]));
                expectation.Bus(roots[i].RootBus, k);
            }
        }

        return expectation._output.ToString();
    }

    private static string Root(HostBridge hb) => string.Create(CultureInfo.InvariantCulture, $"[{hb.Segment:x4}:{hb.RootBus.Number:x2}]-");

    private void Bus(PciBus bus, int p)
    {
        List<PciFunction> functions = bus.Functions.OrderBy(f => f.DevFn).ToList();
        if (functions.Count == 0)
        {
            Print(p);
        }
        else if (functions.Count == 1)
        {
            Device(functions[0], Put(p, "--"));
        }
        else
        {
            for (int i = 0; i < functions.Count - 1; i++)
            {
                Device(functions[i], Put(p, "+-"));
            }

            Device(functions[^1], Put(p, "\\-"));
        }
    }

    private void Device(PciFunction function, int p)
    {
        p = Put(p, string.Create(CultureInfo.InvariantCulture, $"{function.DevFn >> 3:x2}.{function.DevFn & 7:x1}"));
        if (function is PciBridge bridge)
        {
            p = Put(p, bridge.SecondaryBusNumber == bridge.SubordinateBusNumber
                ? string.Create(CultureInfo.InvariantCulture, $"-[{bridge.SecondaryBusNumber:x2}]-")
                : string.Create(CultureInfo.InvariantCulture, $"-[{bridge.SecondaryBusNumber:x2}-{bridge.SubordinateBusNumber:x2}]-"));
            Bus(bridge.SecondaryBus, Put(p, "-"));
            return;
        }

        Print(p);
    }

    private int Put(int p, string text)
    {
        text.CopyTo(0, _line, p, text.Length);
        return p + text.Length;
    }

    private void Print(int p)
    {
        _output.Append(_line, 0, p).Append('\n');
        for (int i = 0; i <= p; i++)
        {
            _line[i] = _line[i] is '+' or '|' ? '|' : ' ';
        }
    }
}
