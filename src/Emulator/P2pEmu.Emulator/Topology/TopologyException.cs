using System;

namespace P2pEmu.Emulator.Topology;

/// <summary>
/// A topology file or dump that cannot describe a machine. The message names the JSON path (or dump
/// location) and what is wrong; no partial machine exists after it is thrown.
/// </summary>
public sealed class TopologyException : Exception
{
    public TopologyException(string path, string problem)
        : base($"{path}: {problem}")
    {
        Path = path;
        Problem = problem;
    }

    public TopologyException()
        : this("$", "invalid topology")
    {
    }

    public TopologyException(string message)
        : this("$", message)
    {
    }

    public TopologyException(string message, Exception innerException)
        : base(message, innerException)
    {
        Path = "$";
        Problem = message;
    }

    /// <summary>The JSON path (e.g. <c>$.hostBridges[0].devices[2].kind</c>) or dump location of the mistake.</summary>
    public string Path { get; }

    /// <summary>What is wrong, without the path.</summary>
    public string Problem { get; }
}
