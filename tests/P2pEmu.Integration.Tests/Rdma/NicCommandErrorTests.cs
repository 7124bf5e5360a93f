using System;
using P2pEmu.Emulator.Devices.Nic;
using P2pEmu.Emulator.Topology.Json;
using P2pEmu.Machine;
using Xunit;

namespace P2pEmu.Integration.Tests.Rdma;

/// <summary>
/// The command interface as a guest can misuse it (docs/nic.md "Commands"), on a machine without drivers: every bad
/// command is a CMD_STATUS, never an exception, and the same command with the field corrected succeeds, so each status
/// is the answer to that field.
/// </summary>
public sealed class NicCommandErrorTests : IDisposable
{
    private const byte CreateCq = 0x01;
    private const byte DestroyCq = 0x02;
    private const byte CreateQp = 0x03;
    private const byte ModifyQp = 0x04;
    private const byte CreateMkey = 0x06;
    private const byte UpdateMtt = 0x08;

    private readonly P2pEmu.Machine.Machine _machine;
    private readonly RawNic _nic;
    private readonly ulong _rings;

    public NicCommandErrorTests()
    {
        _machine = P2pEmu.Machine.Machine.Build(TopologyJsonReader.Parse(RdmaRig.Json("off")), new MachineOptions { BindDrivers = false });
        _nic = new RawNic(_machine, "nic0");
        _rings = _nic.Alloc(64 * 1024);
    }

    public void Dispose() => _machine.Dispose();

    private static byte[] CreateCqBlock(uint cqn, uint entries)
    {
        byte[] cmd = RawNic.Block(CreateCq, cqn);
        RawNic.Put64(cmd, 8, 0x10_0000);
        RawNic.Put32(cmd, 16, entries);
        RawNic.Put32(cmd, 20, 0xFFFF_FFFF);
        return cmd;
    }

    private byte[] CreateQpBlock(uint qpn, uint sendCq, uint recvCq)
    {
        byte[] cmd = RawNic.Block(CreateQp, qpn);
        RawNic.Put64(cmd, 8, _rings);
        RawNic.Put32(cmd, 16, 16);
        RawNic.Put32(cmd, 20, 16);
        RawNic.Put64(cmd, 24, _rings + 4096);
        RawNic.Put32(cmd, 32, sendCq);
        RawNic.Put32(cmd, 36, recvCq);
        RawNic.Put32(cmd, 40, 1);
        return cmd;
    }

    private static byte[] ModifyQpBlock(uint qpn, uint state)
    {
        byte[] cmd = RawNic.Block(ModifyQp, qpn);
        RawNic.Put32(cmd, 8, state);
        return cmd;
    }

    /// <summary>CREATE_MKEY of [0x1000, +0x3000) in 4 KiB pages: three MTT entries needed, <paramref name="entries"/> given.</summary>
    private byte[] CreateMkeyBlock(uint key, uint entries)
    {
        ulong mtt = _rings + 8192;
        for (uint i = 0; i < 4; i++)
        {
            byte[] entry = new byte[8];
            RawNic.Put64(entry, 0, (0x20_0000 + (i * 4096UL)) | 1);
            _nic.Poke(mtt + (i * 8), entry);
        }

        byte[] cmd = RawNic.Block(CreateMkey, key);
        RawNic.Put64(cmd, 8, 0x1000);
        RawNic.Put64(cmd, 16, 0x3000);
        RawNic.Put32(cmd, 24, 1);
        RawNic.Put32(cmd, 28, 1);
        RawNic.Put64(cmd, 32, mtt);
        RawNic.Put32(cmd, 40, entries);
        RawNic.Put32(cmd, 44, 12);
        return cmd;
    }

    private byte[] UpdateMttBlock(uint key, uint first, uint count)
    {
        byte[] cmd = RawNic.Block(UpdateMtt, key);
        RawNic.Put64(cmd, 8, _rings + 8192);
        RawNic.Put32(cmd, 16, first);
        RawNic.Put32(cmd, 20, count);
        return cmd;
    }

    [Fact]
    public void AnyCommand_BeforeCtrlEn_IsNotEnabled()
    {
        Assert.Equal(NicCommandStatus.NotEnabled, _nic.Exec(CreateCqBlock(0, 64)));
        Assert.Equal(NicCommandStatus.NotEnabled, _nic.Exec(RawNic.Block(0x7F, 0)));
        _nic.Enable();
        Assert.Equal(NicCommandStatus.Ok, _nic.Exec(CreateCqBlock(0, 64)));
    }

    [Fact]
    public void UnknownOpcode_IsBadOpcode()
    {
        _nic.Enable();
        Assert.Equal(NicCommandStatus.BadOpcode, _nic.Exec(RawNic.Block(0x7F, 1)));
        Assert.Equal(NicCommandStatus.BadOpcode, _nic.Exec(RawNic.Block(0x00, 1)));
        Assert.Equal(NicCommandStatus.BadOpcode, _nic.Exec(RawNic.Block(0x09, 1)));
    }

    [Fact]
    public void CreateCq_WithANonPowerOfTwoSize_IsBadParameter()
    {
        _nic.Enable();
        Assert.Equal(NicCommandStatus.BadParameter, _nic.Exec(CreateCqBlock(3, 100)));
        Assert.Equal(NicCommandStatus.BadParameter, _nic.Exec(CreateCqBlock(3, 0)));
        Assert.Equal(NicCommandStatus.BadParameter, _nic.Exec(CreateCqBlock(3, 8192))); // a power of two above MAX_QUEUE_ENTRIES
        Assert.Equal(NicCommandStatus.Ok, _nic.Exec(CreateCqBlock(3, 128)));
        Assert.Equal(NicCommandStatus.BadIndex, _nic.Exec(CreateCqBlock(NicDevice.MaxCqs, 128)));
    }

    [Fact]
    public void CreateQp_NamingACqThatDoesNotExist_IsBadParameter()
    {
        _nic.Enable();
        Assert.Equal(NicCommandStatus.Ok, _nic.Exec(CreateCqBlock(0, 64)));
        Assert.Equal(NicCommandStatus.BadParameter, _nic.Exec(CreateQpBlock(5, 0, 1)));
        Assert.Equal(NicCommandStatus.BadParameter, _nic.Exec(CreateQpBlock(5, 7, 0)));
        Assert.Equal(NicCommandStatus.BadParameter, _nic.Exec(CreateQpBlock(5, 0, NicDevice.MaxCqs)));
        Assert.Equal(NicCommandStatus.Ok, _nic.Exec(CreateQpBlock(5, 0, 0)));
    }

    [Fact]
    public void CreateQp_Twice_IsInUse_AndQpZero_IsBadIndex()
    {
        _nic.Enable();
        Assert.Equal(NicCommandStatus.Ok, _nic.Exec(CreateCqBlock(0, 64)));
        Assert.Equal(NicCommandStatus.Ok, _nic.Exec(CreateQpBlock(5, 0, 0)));

        Assert.Equal(NicCommandStatus.InUse, _nic.Exec(CreateQpBlock(5, 0, 0)));
        Assert.Equal(NicCommandStatus.BadIndex, _nic.Exec(CreateQpBlock(0, 0, 0)));
        Assert.Equal(NicCommandStatus.BadIndex, _nic.Exec(CreateQpBlock(NicDevice.MaxQps, 0, 0)));
        Assert.Equal(NicCommandStatus.BadIndex, _nic.Exec(ModifyQpBlock(0, 1)));
    }

    [Fact]
    public void ModifyQp_ResetToRts_IsBadStateTransition()
    {
        _nic.Enable();
        Assert.Equal(NicCommandStatus.Ok, _nic.Exec(CreateCqBlock(0, 64)));
        Assert.Equal(NicCommandStatus.Ok, _nic.Exec(CreateQpBlock(5, 0, 0)));

        Assert.Equal(NicCommandStatus.BadState, _nic.Exec(ModifyQpBlock(5, 3))); // RESET -> RTS
        Assert.Equal(NicCommandStatus.BadState, _nic.Exec(ModifyQpBlock(5, 2))); // RESET -> RTR
        Assert.Equal(NicCommandStatus.Ok, _nic.Exec(ModifyQpBlock(5, 1))); // RESET -> INIT
        Assert.Equal(NicCommandStatus.BadState, _nic.Exec(ModifyQpBlock(5, 3))); // INIT -> RTS
        Assert.Equal(NicCommandStatus.NotFound, _nic.Exec(ModifyQpBlock(6, 1)));
    }

    [Fact]
    public void DestroyCq_WhileAQpUsesIt_IsInUse()
    {
        _nic.Enable();
        Assert.Equal(NicCommandStatus.Ok, _nic.Exec(CreateCqBlock(0, 64)));
        Assert.Equal(NicCommandStatus.Ok, _nic.Exec(CreateCqBlock(1, 64)));
        Assert.Equal(NicCommandStatus.Ok, _nic.Exec(CreateQpBlock(5, 0, 1)));

        Assert.Equal(NicCommandStatus.InUse, _nic.Exec(RawNic.Block(DestroyCq, 0)));
        Assert.Equal(NicCommandStatus.InUse, _nic.Exec(RawNic.Block(DestroyCq, 1)));
        Assert.Equal(NicCommandStatus.Ok, _nic.Exec(RawNic.Block(0x05, 5))); // DESTROY_QP
        Assert.Equal(NicCommandStatus.Ok, _nic.Exec(RawNic.Block(DestroyCq, 0)));
        Assert.Equal(NicCommandStatus.Ok, _nic.Exec(RawNic.Block(DestroyCq, 1)));
        Assert.Equal(NicCommandStatus.NotFound, _nic.Exec(RawNic.Block(DestroyCq, 1)));
    }

    [Fact]
    public void CreateMkey_WithTheWrongMttEntryCount_IsBadParameter()
    {
        _nic.Enable();
        Assert.Equal(NicCommandStatus.BadParameter, _nic.Exec(CreateMkeyBlock(0x100, 2)));
        Assert.Equal(NicCommandStatus.BadParameter, _nic.Exec(CreateMkeyBlock(0x100, 4)));
        Assert.Equal(NicCommandStatus.Ok, _nic.Exec(CreateMkeyBlock(0x100, 3)));
        Assert.Equal(NicCommandStatus.InUse, _nic.Exec(CreateMkeyBlock(0x100, 3)));
    }

    [Fact]
    public void UpdateMtt_PastTheTable_IsBadParameter()
    {
        _nic.Enable();
        Assert.Equal(NicCommandStatus.Ok, _nic.Exec(CreateMkeyBlock(0x100, 3)));

        Assert.Equal(NicCommandStatus.BadParameter, _nic.Exec(UpdateMttBlock(0x100, 2, 2)));
        Assert.Equal(NicCommandStatus.BadParameter, _nic.Exec(UpdateMttBlock(0x100, 4, 0)));
        Assert.Equal(NicCommandStatus.BadParameter, _nic.Exec(UpdateMttBlock(0x100, 1, uint.MaxValue))); // first + count wraps
        Assert.Equal(NicCommandStatus.NotFound, _nic.Exec(UpdateMttBlock(0x200, 0, 1)));
        Assert.Equal(NicCommandStatus.Ok, _nic.Exec(UpdateMttBlock(0x100, 1, 2)));
        Assert.Equal(NicCommandStatus.Ok, _nic.Exec(UpdateMttBlock(0x100, 3, 0)));
    }

    [Fact]
    public void CommandBlockOrMttListNothingClaims_IsDmaError()
    {
        _nic.Enable();
        _nic.Write64(NicRegister.CommandAddress, RawNic.Unclaimed);
        _nic.Write(NicRegister.CommandDoorbell, 1);
        Assert.Equal(NicCommandStatus.DmaError, (NicCommandStatus)_nic.Read(NicRegister.CommandStatus));

        Assert.Equal(NicCommandStatus.Ok, _nic.Exec(CreateMkeyBlock(0x100, 3)));
        byte[] update = UpdateMttBlock(0x100, 0, 3);
        RawNic.Put64(update, 8, RawNic.Unclaimed);
        Assert.Equal(NicCommandStatus.DmaError, _nic.Exec(update));
        Assert.Equal(0u, _nic.Read(NicRegister.Status) & NicRegister.StatusFatal);
    }

    [Fact]
    public void CommandBlock_WithBusMasteringOff_IsDmaError()
    {
        _nic.Enable();
        Assert.Equal(NicCommandStatus.Ok, _nic.Exec(CreateCqBlock(0, 64)));
        _nic.Function.Config.Write16(P2pEmu.Emulator.Pci.PciConfig.Command, P2pEmu.Emulator.Pci.PciConfig.CommandMemory);

        Assert.Equal(NicCommandStatus.DmaError, _nic.Exec(CreateCqBlock(1, 64)));
    }

    [Fact]
    public void DoorbellsForAQpOrCqThatDoesNotExist_AreIgnored()
    {
        _nic.Enable();
        Assert.Equal(NicCommandStatus.Ok, _nic.Exec(CreateCqBlock(0, 64)));
        P2pEmu.Emulator.Devices.Net.EthernetLink link = _machine.NicLinks[0].Link;
        long delivered = link.FramesDelivered;

        _nic.Write(NicRegister.QpDoorbells + (8 * 9), 1); // SQ_DB(9)
        _nic.Write(NicRegister.QpDoorbells + (8 * 9) + 4, 1); // RQ_DB(9)
        _nic.Write(NicRegister.QpDoorbells, 5); // SQ_DB(0): QP 0 is reserved
        _nic.Write(NicRegister.CqDoorbells + (4 * 7), 3); // CQ_DB(7)
        Assert.True(_nic.Device.WaitIdle(TimeSpan.FromSeconds(30)));

        Assert.Equal(delivered, link.FramesDelivered);
        Assert.Equal(NicRegister.StatusReady, _nic.Read(NicRegister.Status));
        Assert.Equal(NicCommandStatus.Ok, _nic.Exec(CreateCqBlock(7, 64))); // the device still answers commands
        Assert.Equal(NicCommandStatus.Ok, _nic.Exec(CreateQpBlock(9, 0, 7)));
    }
}
