using System.Threading;
using P2pEmu.Emulator.Execution;

namespace P2pEmu.Emulator.Devices.Accel;

/// <content>
/// BAR0 as the host reaches it, and the engine's lifetime. Host register accesses come from any host thread; the engine
/// runs inline (deterministic) or on its own thread (concurrent), see <see cref="DeviceEngine"/>.
/// </content>
public sealed partial class AccelDevice
{
    /// <summary>
    /// Serializes the device's state: every host access to BAR0 below the MSI-X table, and each descriptor the engine
    /// processes. Never held while the interrupt message goes out, so an interrupt handler may take its own locks and
    /// ring the doorbell. The MSI-X table and PBA are outside it (<see cref="Pci.MsiXTable"/> keeps its own state safe).
    /// </summary>
    private readonly Lock _lock = new();

    /// <summary>
    /// BAR0 as the host reaches it: the register block under <see cref="_lock"/> below the MSI-X table, kicking the engine
    /// after a doorbell; the space above the register block reads 0 and ignores writes.
    /// </summary>
    private readonly LockedRegisterBar _bar0;

    private readonly EngineHandle _engine = new();

    /// <summary>Set under <see cref="_lock"/> by a register write that gives the engine work; the BAR0 access kicks it after unlocking.</summary>
    private bool _kick;

    /// <summary>How the device's ring processing runs: inline in the doorbell write, or on its own thread.</summary>
    public ExecutionMode Mode { get; }

    /// <summary>Rounds of ring processing run so far (one per batch of doorbell writes the engine picked up).</summary>
    public long EngineRounds => _engine.Rounds;

    /// <summary>
    /// Stops ring processing: waits for the descriptor in progress (a concurrent engine's thread ends), and later
    /// doorbells are ignored, as for a device that lost power. Idempotent; <see cref="Dispose"/> calls it too. Call
    /// before the fabric that routes this device's DMA is disposed.
    /// </summary>
    public void Stop() => _engine.Dispose();

    /// <summary>
    /// Waits until the engine has nothing pending or running (at once in deterministic mode), for hosts that poll
    /// rather than wait for the interrupt.
    /// </summary>
    /// <returns>False when <paramref name="timeout"/> passed first, or the engine is stopped.</returns>
    public bool WaitIdle(System.TimeSpan timeout) => _engine.WaitIdle(timeout);

    /// <summary>Under <see cref="_lock"/>, after a BAR0 write: whether it gave the engine work.</summary>
    private bool TakeKick()
    {
        bool kick = _kick;
        _kick = false;
        return kick;
    }
}
