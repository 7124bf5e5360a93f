using P2pEmu.Emulator.Pci;

namespace P2pEmu.Emulator.Fabric;

/// <summary>
/// How a function's own untranslated requests for addresses outside its host bridge's windows travel to the root
/// complex: which root port they enter it by, decided once per configuration generation instead of per request.
/// </summary>
/// <remarks>
/// Such an address can match no BAR and no bridge window below the host bridge as long as every BAR and window the
/// climb compares with lies inside the host bridge's windows (the enumerated layout always does; software may program
/// a window elsewhere, and then no climb is cached). What is left of the climb — Bus Master Enable on the way and ACS
/// Source Validation — does not depend on the address. Any config write in the hierarchy makes the climb stale.
/// </remarks>
internal sealed class UpstreamClimb
{
    /// <param name="generation">The host bridge's configuration generation the climb was computed at.</param>
    /// <param name="usable">False when requests of this function cannot take the cached path in this generation.</param>
    /// <param name="ingressPort">The root port the requests reach the root complex by; null for a root-complex integrated endpoint.</param>
    public UpstreamClimb(long generation, bool usable, PciBridge? ingressPort)
    {
        Generation = generation;
        Usable = usable;
        IngressPort = ingressPort;
    }

    public long Generation { get; }

    public bool Usable { get; }

    public PciBridge? IngressPort { get; }
}
