using System.Diagnostics.CodeAnalysis;
using P2pEmu.Emulator.Addressing;
using P2pEmu.Emulator.Registers;

namespace P2pEmu.Emulator.Devices.Nvme;

/// <summary>The BAR0 register table and the CC state machine (NVMe base spec 2.0, §3.1).</summary>
public sealed partial class NvmeController
{
    /// <summary>CAP.TO in 500 ms units: 10 s.</summary>
    private const ulong TimeoutUnits = 20;

    /// <summary>CSTS.SHST = 10b, shutdown processing complete.</summary>
    private const uint ShutdownComplete = 2;

    /// <summary>CMBLOC: BIR 2 (the CMB is BAR2 from offset 0) and CDPMLS (bit 6).</summary>
    private const uint CmblocValue = 2 | (1u << 6);

    private const uint CmbscCre = 1;
    private const uint CmbscCmse = 2;

    private uint _interruptMask;
    private Register64 _asq;
    private Register64 _acq;
    private Register _aqa;
    private Register64? _cmbmsc;
    private RegisterField _ccMps;
    private RegisterField _ccCss;
    private RegisterField _ccAms;
    private RegisterField _ccIosqes;
    private RegisterField _ccIocqes;
    private RegisterField _rdy;
    private RegisterField _cfs;
    private RegisterField _shst;

    /// <summary>CSTS.RDY.</summary>
    public bool IsReady => _rdy.IsSet;

    /// <summary>CSTS.CFS: a fatal controller error (bad enable, or a failed queue fetch or completion post).</summary>
    public bool IsFatal => _cfs.IsSet;

    /// <summary>INTMS/INTMC's interrupt vector mask.</summary>
    public uint InterruptMask => _interruptMask;

    /// <summary>The CAP value the controller reports.</summary>
    public ulong Capabilities =>
        MaxQueueEntriesZeroBased
        | (1UL << 16) // CQR: queues must be physically contiguous
        | (TimeoutUnits << 24)
        | (1UL << 37) // CSS: NVM command set
        | (CmbBytes != 0 ? 1UL << 57 : 0); // CMBS; DSTRD, MPSMIN and MPSMAX are 0

    /// <summary>CMBSZ while the CMB is enabled: SQS, RDS, WDS and the size in SZU units.</summary>
    public uint CmbSizeRegister
    {
        get
        {
            if (CmbBytes == 0)
            {
                return 0;
            }

            // Largest unit (4 KiB × 16^SZU, SZU ≤ 6) that divides the size, so SZ stays small.
            int szu = 0;
            while (szu < 6 && (CmbBytes & (((ulong)PageBytes << (4 * (szu + 1))) - 1UL)) == 0)
            {
                szu++;
            }

            ulong sz = CmbBytes >> (12 + (4 * szu));
            return unchecked((uint)(sz << 12)) | ((uint)szu << 8) | (1u << 4) | (1u << 3) | 1u;
        }
    }

    [MemberNotNull(nameof(_asq), nameof(_acq), nameof(_aqa), nameof(_ccMps), nameof(_ccCss), nameof(_ccAms),
        nameof(_ccIosqes), nameof(_ccIocqes), nameof(_rdy), nameof(_cfs), nameof(_shst))]
    private void DefineRegisters()
    {
        _regs.Define64(NvmeRegister.Cap, Capabilities).WithField(0, 64, FieldMode.Read);
        _regs.Define(NvmeRegister.Vs, 0x0002_0000).WithField(0, 32, FieldMode.Read);

        // INTMS and INTMC are two write-1 views of one mask; both read it.
        Register intms = _regs.Define(NvmeRegister.Intms).WithField(0, 32, FieldMode.Write);
        intms.OnWrite((_, now) => { _interruptMask |= now; intms.Value = 0; }).OnRead(_ => _interruptMask);
        Register intmc = _regs.Define(NvmeRegister.Intmc).WithField(0, 32, FieldMode.Write);
        intmc.OnWrite((_, now) => { _interruptMask &= ~now; intmc.Value = 0; }).OnRead(_ => _interruptMask);

        _regs.Define(NvmeRegister.Cc)
            .WithFlag(0, FieldMode.ReadWrite, "EN")
            .WithReservedBits(1, 3)
            .WithValueField(4, 3, FieldMode.ReadWrite, out _ccCss, "CSS")
            .WithValueField(7, 4, FieldMode.ReadWrite, out _ccMps, "MPS")
            .WithValueField(11, 3, FieldMode.ReadWrite, out _ccAms, "AMS")
            .WithField(14, 2, FieldMode.ReadWrite, "SHN")
            .WithValueField(16, 4, FieldMode.ReadWrite, out _ccIosqes, "IOSQES")
            .WithValueField(20, 4, FieldMode.ReadWrite, out _ccIocqes, "IOCQES")
            .WithReservedBits(24, 8)
            .OnWrite(OnCcWrite);

        _regs.Define(NvmeRegister.Csts)
            .WithFlag(0, FieldMode.Read, out _rdy, "RDY")
            .WithFlag(1, FieldMode.Read, out _cfs, "CFS")
            .WithValueField(2, 2, FieldMode.Read, out _shst, "SHST")
            .WithReservedBits(4, 28);

        _aqa = _regs.Define(NvmeRegister.Aqa)
            .WithField(0, 12, FieldMode.ReadWrite, "ASQS")
            .WithReservedBits(12, 4)
            .WithField(16, 12, FieldMode.ReadWrite, "ACQS")
            .WithReservedBits(28, 4);
        _asq = _regs.Define64(NvmeRegister.Asq).WithReservedBits(0, 12).WithField(12, 52, FieldMode.ReadWrite, "ASQB");
        _acq = _regs.Define64(NvmeRegister.Acq).WithReservedBits(0, 12).WithField(12, 52, FieldMode.ReadWrite, "ACQB");

        if (CmbBytes != 0)
        {
            // CMBLOC/CMBSZ read 0 until the host sets CMBMSC.CRE (NVMe 1.4+), as Linux does before reading them.
            // CMBLOC: BAR2 at offset 0; CDPMLS set: a command's data may be in the CMB and in host memory, described by
            // PRP entries or SGL descriptors in host memory. CQMMS, CQPDS, CDPCILS, CDMMMS and CQDA are 0 (CMBSZ has no
            // CQS or LISTS, and there is no metadata).
            _regs.Define(NvmeRegister.Cmbloc, CmblocValue).WithField(0, 32, FieldMode.Read)
                .OnRead(value => CmbEnabled ? value : 0);
            _regs.Define(NvmeRegister.Cmbsz, CmbSizeRegister).WithField(0, 32, FieldMode.Read)
                .OnRead(value => CmbEnabled ? value : 0);
            _cmbmsc = _regs.Define64(CmbmscOffset)
                .WithFlag(0, FieldMode.ReadWrite, "CRE")
                .WithFlag(1, FieldMode.ReadWrite, "CMSE")
                .WithReservedBits(2, 10)
                .WithField(12, 52, FieldMode.ReadWrite, "CBA");
        }

        RegisterArray doorbells = _regs.DefineArray((uint)NvmeRegister.Sq0Tdbl, 2 * (MaxIoQueues + 1), 4, name: "DBL");
        doorbells.WithField(0, 16, FieldMode.Write).WithReservedBits(16, 16).OnWrite(OnDoorbellWrite);
    }

    /// <summary>CMBMSC, Controller Memory Buffer Memory Space Control (64-bit, NVMe 1.4+).</summary>
    private const uint CmbmscOffset = 0x50;

    private bool CmbEnabled => _cmbmsc is not null && (_cmbmsc.Value & CmbscCre) != 0;

    private void OnCcWrite(uint old, uint now)
    {
        bool wasEnabled = (old & 1) != 0;
        bool enabled = (now & 1) != 0;
        if (wasEnabled && !enabled)
        {
            ResetController();
            return;
        }

        if (!wasEnabled && enabled)
        {
            Enable();
        }

        uint oldShn = (old >> 14) & 3;
        uint shn = (now >> 14) & 3;
        if (enabled && oldShn == 0 && shn != 0)
        {
            // Normal or abrupt shutdown: nothing is cached, so processing is complete at once.
            _shst.Value = ShutdownComplete;
        }
    }

    private void Enable()
    {
        uint aqa = _aqa.Value;
        uint sqEntries = (aqa & 0xFFF) + 1;
        uint cqEntries = ((aqa >> 16) & 0xFFF) + 1;
        bool valid = _dma is not null
            && _ccCss.Value == 0
            && _ccMps.Value == 0
            && _ccAms.Value == 0
            && sqEntries >= 2
            && cqEntries >= 2;
        ulong asq = _asq.Value & ~PageMask;
        ulong acq = _acq.Value & ~PageMask;

        // The admin SQ may be in the controller memory space (CMBSZ.SQS), but not across its edge; no CQ may (no CQS).
        if (!valid || Locate(asq, (ulong)sqEntries * SqEntryBytes, out _) == MemorySpace.Straddles
            || TouchesControllerMemory(acq, (ulong)cqEntries * CqEntryBytes))
        {
            _cfs.IsSet = true;
            return;
        }

        _submissionQueues[0] = new NvmeQueue(0, new DmaAddress(asq), sqEntries, 0);
        _completionQueues[0] = new NvmeQueue(0, new DmaAddress(acq), cqEntries, 0, interruptsEnabled: true, interruptVector: 0);
        _rdy.IsSet = true;
    }

    /// <summary>Controller reset (CC.EN 1 → 0): queues deleted, features back to defaults, CSTS cleared.</summary>
    private void ResetController()
    {
        System.Array.Clear(_submissionQueues);
        System.Array.Clear(_completionQueues);
        _queueIdLimit = 1;
        _ioSubmissionQueuesAllocated = MaxIoQueues;
        _ioCompletionQueuesAllocated = MaxIoQueues;
        _interruptMask = 0;
        _rdy.IsSet = false;
        _cfs.IsSet = false;
        _shst.Value = 0;
    }
}
