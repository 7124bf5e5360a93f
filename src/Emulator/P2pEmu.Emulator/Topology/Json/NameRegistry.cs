using System;
using System.Collections.Generic;

namespace P2pEmu.Emulator.Topology.Json;

/// <summary>
/// Every name in a topology (host bridges, functions, ports, generated VF names), which must be unique
/// because users and reports refer to devices by name.
/// </summary>
internal sealed class NameRegistry
{
    private readonly Dictionary<string, string> _where = new(StringComparer.Ordinal);

    /// <summary>Records a name; throws, naming the first declaration, when the name is already in use.</summary>
    /// <param name="name">The name.</param>
    /// <param name="where">How a later error refers to this declaration ("at $.x.name").</param>
    /// <param name="errorPath">The path a duplicate error is reported at.</param>
    /// <param name="subject">For a generated name, what would get it ("VF 1 of 'nic0'"); null for a declared name.</param>
    public void Add(string name, string where, string errorPath, string? subject = null)
    {
        if (_where.TryGetValue(name, out string? first))
        {
            throw new TopologyException(
                errorPath,
                subject is null
                    ? $"duplicate name '{name}'; it is first used {first}"
                    : $"duplicate name: {subject} would be named '{name}', which is first used {first}");
        }

        _where.Add(name, where);
    }
}
