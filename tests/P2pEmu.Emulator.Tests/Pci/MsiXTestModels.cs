using System;
using System.Collections.Generic;
using System.Linq;
using P2pEmu.Emulator.Pci;
using P2pEmu.Emulator.Registers;
using P2pEmu.Emulator.Topology;

namespace P2pEmu.Emulator.Tests.Pci;

/// <summary>
/// Default endpoint models, except that the named devices get a 16 KiB register BAR0 holding an <see cref="MsiXTable"/>
/// (table at 0x2000, PBA at 0x3000) and an MSI-X capability that points at it.
/// </summary>
internal sealed class MsiXTestModels : IEndpointModelFactory
{
    public const uint BarBytes = 16 << 10;
    public const uint TableOffset = 0x2000;
    public const uint PbaOffset = 0x3000;

    private readonly int _vectors;
    private readonly string[] _names;
    private readonly Dictionary<string, MsiXTable> _tables = new(StringComparer.Ordinal);

    public MsiXTestModels(int vectors, params string[] names)
    {
        _vectors = vectors;
        _names = names;
    }

    public IReadOnlyDictionary<string, MsiXTable> Tables => _tables;

    public EndpointIdentity Describe(DeviceDescription device)
    {
        EndpointIdentity identity = DefaultEndpointModels.Instance.Describe(device);
        if (!_names.Contains(device.Name, StringComparer.Ordinal))
        {
            return identity;
        }

        var registers = new RegisterBlock(BarBytes);
        var table = new MsiXTable(registers, TableOffset, PbaOffset, _vectors);
        _tables.Add(device.Name, table);
        var bars = new List<BarSpec> { new(0, BarBytes, true, false, null, registers) };
        bars.AddRange(identity.Bars.Where(bar => bar.Index > 1));
        return identity with { Bars = bars, MsiX = table.Describe(bar: 0) };
    }
}
