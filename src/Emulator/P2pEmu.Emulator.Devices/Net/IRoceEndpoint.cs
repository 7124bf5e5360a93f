using System;

namespace P2pEmu.Emulator.Devices.Net;

/// <summary>A link end that takes RoCE runs whole (see <see cref="RoceRun"/>) as well as frames.</summary>
public interface IRoceEndpoint : IWireEndpoint
{
    /// <summary>Processes the packets of <paramref name="run"/>, whose payloads are <paramref name="payload"/> back to back.</summary>
    void ReceiveRun(in RoceRun run, ReadOnlySpan<byte> payload);
}
