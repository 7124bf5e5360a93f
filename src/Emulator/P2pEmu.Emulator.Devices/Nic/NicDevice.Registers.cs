using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Registers;

namespace P2pEmu.Emulator.Devices.Nic;

/// <summary>The BAR0 register table, enable and reset.</summary>
public sealed partial class NicDevice
{
    private Register _control = null!;
    private RegisterField _ready = null!;
    private RegisterField _fatal = null!;
    private Register _ipv4 = null!;
    private Register64 _commandAddress = null!;
    private Register _commandStatus = null!;

    /// <summary>A doorbell was written: the engine runs once the register write has released the lock.</summary>
    private bool _kick;

    /// <summary>Receive WQEs were posted: a requester on the peer may be waiting out an RNR NAK.</summary>
    private bool _kickPeer;

    /// <summary>STATUS.RDY.</summary>
    public bool IsReady => _ready.IsSet;

    /// <summary>STATUS.FATAL.</summary>
    public bool IsFatal => _fatal.IsSet;

    /// <summary>The port's IPv4 address as the driver programmed it (first octet in bits 31:24).</summary>
    public uint Ipv4Address => _ipv4.Value;

    private void DefineRegisters()
    {
        _regs.Define(NicRegister.Version, 0x0001_0000).WithField(0, 32, FieldMode.Read);
        _regs.Define(NicRegister.MaxQp, MaxQps).WithField(0, 32, FieldMode.Read);
        _regs.Define(NicRegister.MaxCq, MaxCqs).WithField(0, 32, FieldMode.Read);
        _regs.Define(NicRegister.MaxMkey, MaxMkeys).WithField(0, 32, FieldMode.Read);
        _regs.Define(NicRegister.MaxQueueEntries, MaxQueueEntries).WithField(0, 32, FieldMode.Read);
        _control = _regs.Define(NicRegister.Control)
            .WithFlag(0, FieldMode.ReadWrite, "EN")
            .WithFlag(1, FieldMode.ReadWrite, "RST")
            .WithReservedBits(2, 30)
            .OnWrite(OnControlWrite);
        _regs.Define(NicRegister.Status)
            .WithFlag(0, FieldMode.Read, out _ready, "RDY")
            .WithFlag(1, FieldMode.Read, out _fatal, "FATAL")
            .WithReservedBits(2, 30);
        _regs.Define(NicRegister.MacLow, unchecked((uint)Mac.Value)).WithField(0, 32, FieldMode.Read);
        _regs.Define(NicRegister.MacHigh, (uint)(Mac.Value >> 32) & 0xFFFF).WithField(0, 16, FieldMode.Read).WithReservedBits(16, 16);
        _ipv4 = _regs.Define(NicRegister.Ipv4).WithField(0, 32, FieldMode.ReadWrite);

        _commandAddress = _regs.Define64(NicRegister.CommandAddress).WithReservedBits(0, 6).WithField(6, 58, FieldMode.ReadWrite);
        _regs.Define(NicRegister.CommandDoorbell).WithField(0, 32, FieldMode.Write).OnWrite((_, now) =>
        {
            if ((now & 1) != 0)
            {
                _commandStatus.Value = (uint)ExecuteCommand(new DmaAddress(_commandAddress.Value));
            }
        });
        _commandStatus = _regs.Define(NicRegister.CommandStatus).WithField(0, 32, FieldMode.Read);

        DefineEventQueueRegisters();
        DefineEthernetRegisters();

        _regs.DefineArray(NicRegister.QpDoorbells, 2 * MaxQps, 4, name: "QP_DB")
            .WithField(0, 32, FieldMode.Write)
            .OnWrite(OnQpDoorbell);
        _regs.DefineArray(NicRegister.CqDoorbells, MaxCqs, 4, name: "CQ_DB")
            .WithField(0, 32, FieldMode.Write)
            .OnWrite((index, _, now) =>
            {
                if (_cqs[index] is NicCq cq)
                {
                    cq.Consumer = now;
                }
            });
    }

    private void OnControlWrite(uint old, uint now)
    {
        if ((now & NicRegister.ControlReset) != 0)
        {
            ResetDevice();
            return;
        }

        bool enable = (now & NicRegister.ControlEnable) != 0;
        if (enable && (old & NicRegister.ControlEnable) == 0)
        {
            _ready.Value = 1;
        }
        else if (!enable && (old & NicRegister.ControlEnable) != 0)
        {
            ResetDevice();
        }
    }

    /// <summary>CTRL.RST or clearing CTRL.EN: every QP, CQ, key and ring is gone, registers are at reset values.</summary>
    private void ResetDevice()
    {
        System.Array.Clear(_qps);
        System.Array.Clear(_cqs);
        _mkeys.Clear();
        ResetEventQueue();
        ResetEthernet();
        _control.Value = 0;
        _ready.Value = 0;
        _fatal.Value = 0;
        _ipv4.Value = 0;
    }

    private void OnQpDoorbell(int index, uint old, uint now)
    {
        unchecked
        {
            if (_qps[index / 2] is not NicQp qp)
            {
                return;
            }

            if (index % 2 == 0)
            {
                qp.SqProducer = now;
                _kick = true;
            }
            else
            {
                qp.RqProducer = now;
                _kickPeer = true;
            }
        }
    }

    private void SetFatal() => _fatal.Value = 1;
}
