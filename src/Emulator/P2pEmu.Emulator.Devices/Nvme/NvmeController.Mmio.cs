using System.Threading;
using P2pEmu.Emulator.Execution;

namespace P2pEmu.Emulator.Devices.Nvme;

/// <content>
/// BAR0 as the host reaches it, and the engine that processes the queues. Host register accesses come from any host
/// thread; the engine runs inline (deterministic) or on its own thread (concurrent), see <see cref="DeviceEngine"/>.
/// </content>
public sealed partial class NvmeController
{
    /// <summary>
    /// Serializes the controller's state: every host access to BAR0 below the MSI-X table, and each command the engine
    /// processes. It is never held while an interrupt message goes out, so an interrupt handler may take its own locks
    /// and ring doorbells. The MSI-X table and PBA are outside it: <see cref="Pci.MsiXTable"/> keeps its own state safe, and
    /// an unmask that sends a pending message must not run the handler under this lock.
    /// </summary>
    private readonly Lock _lock = new();

    /// <summary>BAR0 as the host reaches it: the register block under <see cref="_lock"/> below the MSI-X table, kicking the engine after a doorbell.</summary>
    private readonly LockedRegisterBar _bar0;

    private readonly EngineHandle _engine = new();

    /// <summary>How the controller's queue processing runs: inline in the doorbell write, or on its own thread.</summary>
    public ExecutionMode Mode { get; }

    /// <summary>Rounds of queue processing run so far (one per batch of doorbell writes the engine picked up).</summary>
    public long EngineRounds => _engine.Rounds;

    /// <summary>Creates the engine once the controller knows its function's name.</summary>
    private void StartEngine(string name) => _engine.Start(name, Mode, RunQueues);

    /// <summary>
    /// Stops queue processing: waits for the command in progress (a concurrent engine's thread ends), and later
    /// doorbells are ignored, as for a device that lost power. Idempotent; <see cref="Dispose"/> calls it too.
    /// </summary>
    public void Stop() => _engine.Dispose();

    /// <summary>Under <see cref="_lock"/>, after a BAR0 write: whether it gave the engine work.</summary>
    private bool TakeKick()
    {
        bool kick = _kick;
        _kick = false;
        return kick;
    }
}
