namespace P2pEmu.Cli.Trace;

/// <summary>How many events of one kind the trace holds.</summary>
internal sealed record TraceEventCount(string Provider, string Name, long Count);
