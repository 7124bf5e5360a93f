using System.Threading;
using P2pEmu.Emulator.Execution;
using P2pEmu.Emulator.Registers;

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

    private readonly Bar0 _bar0;
    private DeviceEngine? _engine;
    private int _stopped;

    /// <summary>How the controller's queue processing runs: inline in the doorbell write, or on its own thread.</summary>
    public ExecutionMode Mode { get; }

    /// <summary>Rounds of queue processing run so far (one per batch of doorbell writes the engine picked up).</summary>
    public long EngineRounds => _engine?.Rounds ?? 0;

    /// <summary>Creates the engine once the controller knows its function's name.</summary>
    private void StartEngine(string name) => _engine = new DeviceEngine(name, Mode, RunQueues);

    /// <summary>
    /// Stops queue processing: waits for the command in progress (a concurrent engine's thread ends), and later
    /// doorbells are ignored, as for a device that lost power. Idempotent; <see cref="Dispose"/> calls it too.
    /// </summary>
    public void Stop()
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 0)
        {
            _engine?.Dispose();
        }
    }

    private void KickEngine()
    {
        if (Volatile.Read(ref _stopped) != 0)
        {
            return;
        }

        try
        {
            _engine?.Kick();
        }
        catch (System.ObjectDisposedException) when (Volatile.Read(ref _stopped) != 0)
        {
            // Stopped between the check and the kick: the doorbell is ignored, as after Stop.
        }
    }

    /// <summary>The handler behind BAR0: the register block under the controller lock, kicking the engine after a doorbell.</summary>
    private sealed class Bar0 : IMmioHandler
    {
        private readonly NvmeController _controller;

        public Bar0(NvmeController controller)
        {
            _controller = controller;
        }

        public ulong Read(ulong offset, int sizeBytes)
        {
            NvmeController c = _controller;
            if (offset >= MsiXTableOffset)
            {
                return c._regs.Read(offset, sizeBytes);
            }

            lock (c._lock)
            {
                return c._regs.Read(offset, sizeBytes);
            }
        }

        public void Write(ulong offset, int sizeBytes, ulong value)
        {
            NvmeController c = _controller;
            if (offset >= MsiXTableOffset)
            {
                c._regs.Write(offset, sizeBytes, value);
                return;
            }

            bool kick;
            lock (c._lock)
            {
                c._regs.Write(offset, sizeBytes, value);
                kick = c._kick;
                c._kick = false;
            }

            if (kick)
            {
                c.KickEngine();
            }
        }
    }
}
