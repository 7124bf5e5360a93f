using System.Threading;
using P2pEmu.Emulator.Execution;
using P2pEmu.Emulator.Registers;

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

    private readonly Bar0 _bar0;
    private DeviceEngine? _engine;
    private int _stopped;

    /// <summary>Set under <see cref="_lock"/> by a register write that gives the engine work; the BAR0 access kicks it after unlocking.</summary>
    private bool _kick;

    /// <summary>How the device's ring processing runs: inline in the doorbell write, or on its own thread.</summary>
    public ExecutionMode Mode { get; }

    /// <summary>Rounds of ring processing run so far (one per batch of doorbell writes the engine picked up).</summary>
    public long EngineRounds => _engine?.Rounds ?? 0;

    /// <summary>
    /// Stops ring processing: waits for the descriptor in progress (a concurrent engine's thread ends), and later
    /// doorbells are ignored, as for a device that lost power. Idempotent; <see cref="Dispose"/> calls it too. Call
    /// before the fabric that routes this device's DMA is disposed.
    /// </summary>
    public void Stop()
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 0)
        {
            _engine?.Dispose();
        }
    }

    /// <summary>
    /// Waits until the engine has nothing pending or running (at once in deterministic mode), for hosts that poll
    /// rather than wait for the interrupt.
    /// </summary>
    /// <returns>False when <paramref name="timeout"/> passed first, or the engine is stopped.</returns>
    public bool WaitIdle(System.TimeSpan timeout) => _engine?.WaitIdle(timeout) ?? true;

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

    /// <summary>
    /// The handler behind BAR0: the register block under the device lock, kicking the engine after a doorbell; the
    /// space above the register block reads 0 and ignores writes.
    /// </summary>
    private sealed class Bar0 : IMmioHandler
    {
        private readonly AccelDevice _device;

        public Bar0(AccelDevice device)
        {
            _device = device;
        }

        public ulong Read(ulong offset, int sizeBytes)
        {
            AccelDevice d = _device;
            if (offset >= RegisterBytes)
            {
                return 0;
            }

            if (offset >= MsiXTableOffset)
            {
                return d._regs.Read(offset, sizeBytes);
            }

            lock (d._lock)
            {
                return d._regs.Read(offset, sizeBytes);
            }
        }

        public void Write(ulong offset, int sizeBytes, ulong value)
        {
            AccelDevice d = _device;
            if (offset >= RegisterBytes)
            {
                return;
            }

            if (offset >= MsiXTableOffset)
            {
                d._regs.Write(offset, sizeBytes, value);
                return;
            }

            bool kick;
            lock (d._lock)
            {
                d._regs.Write(offset, sizeBytes, value);
                kick = d._kick;
                d._kick = false;
            }

            if (kick)
            {
                d.KickEngine();
            }
        }
    }
}
