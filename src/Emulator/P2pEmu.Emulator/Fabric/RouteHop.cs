namespace P2pEmu.Emulator.Fabric;

/// <summary>One step of a traced route: where, and what happened there.</summary>
public sealed record RouteHop(string Where, string What)
{
    public override string ToString() => $"{Where}: {What}";
}
