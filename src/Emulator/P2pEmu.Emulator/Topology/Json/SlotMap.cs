using System.Collections.Generic;

namespace P2pEmu.Emulator.Topology.Json;

/// <summary>
/// The routing IDs (device/function numbers) already taken on one bus, so two entries that name the same
/// slot, or a slot that one of a PF's VFs would take, are caught while reading.
/// </summary>
internal sealed class SlotMap
{
    private readonly Dictionary<int, (string Owner, string Path)> _taken = [];

    /// <summary>
    /// Takes <paramref name="devFn"/> for <paramref name="owner"/>; returns false and the earlier owner
    /// (with where it was declared) when it is already taken.
    /// </summary>
    public bool TryTake(int devFn, string owner, string path, out string previousOwner, out string previousPath)
    {
        if (_taken.TryGetValue(devFn, out (string Owner, string Path) previous))
        {
            previousOwner = previous.Owner;
            previousPath = previous.Path;
            return false;
        }

        _taken.Add(devFn, (owner, path));
        previousOwner = string.Empty;
        previousPath = string.Empty;
        return true;
    }
}
