using System;
using System.Threading;
using P2pEmu.Emulator.Execution;

namespace P2pEmu.Emulator.Devices;

/// <summary>
/// A device model's <see cref="DeviceEngine"/> with the device's power: created when the device is attached, disposed
/// (stopped after the round in progress) once, and from then on every kick is ignored, as for a device that lost power.
/// </summary>
internal sealed class EngineHandle : IDisposable
{
    private DeviceEngine? _engine;
    private int _stopped;

    /// <summary>Rounds run so far.</summary>
    public long Rounds => Volatile.Read(ref _engine)?.Rounds ?? 0;

    /// <summary>Creates the engine (on attach, once the device's function name is known).</summary>
    public void Start(string name, ExecutionMode mode, Action work) => _engine = new DeviceEngine(name, mode, work);

    /// <summary>Stops the engine after the round in progress (the device lost power); idempotent.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 0)
        {
            Volatile.Read(ref _engine)?.Dispose();
        }
    }

    /// <summary>Asks for a round; ignored once stopped or before the engine exists.</summary>
    public void Kick()
    {
        if (Volatile.Read(ref _stopped) != 0)
        {
            return;
        }

        try
        {
            Volatile.Read(ref _engine)?.Kick();
        }
        catch (ObjectDisposedException) when (Volatile.Read(ref _stopped) != 0)
        {
            // Stopped between the check and the kick: the doorbell is ignored, as after a stop.
        }
    }

    /// <summary>Waits until no round is pending or running; true at once without an engine.</summary>
    public bool WaitIdle(TimeSpan timeout) => Volatile.Read(ref _engine)?.WaitIdle(timeout) ?? true;
}
