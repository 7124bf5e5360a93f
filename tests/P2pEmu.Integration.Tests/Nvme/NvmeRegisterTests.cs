using P2pEmu.Emulator.Devices.Nvme;
using P2pEmu.Emulator.Pci;
using P2pEmu.Testing;
using Xunit;

namespace P2pEmu.Integration.Tests.Nvme;

public sealed class NvmeRegisterTests
{
    [Fact]
    public void Cap_ReportsMqesCqrTimeoutNvmCommandSetAnd4KiBPages_AndNoCmbWithoutOne()
    {
        using var h = new NvmeHarness(0, Topo.MiB);

        ulong cap = h.Read64(NvmeRegister.Cap);

        Assert.Equal(1023UL, cap & 0xFFFF); // MQES
        Assert.Equal(1UL, (cap >> 16) & 1); // CQR
        Assert.Equal(20UL, (cap >> 24) & 0xFF); // TO
        Assert.Equal(0UL, (cap >> 32) & 0xF); // DSTRD
        Assert.Equal(1UL, (cap >> 37) & 0xFF); // CSS: NVM only
        Assert.Equal(0UL, (cap >> 48) & 0xF); // MPSMIN
        Assert.Equal(0UL, (cap >> 57) & 1); // CMBS
        Assert.Equal(0x0002_0000u, h.Read32(NvmeRegister.Vs));
        Assert.Equal(0u, h.Read32(NvmeRegister.Csts));
        Assert.Null(h.Endpoint.GetBar(2));
    }

    [Fact]
    public void Cap_IsReadOnly()
    {
        using var h = new NvmeHarness(0, Topo.MiB);
        ulong before = h.Read64(NvmeRegister.Cap);

        h.Write64((uint)NvmeRegister.Cap, 0);

        Assert.Equal(before, h.Read64(NvmeRegister.Cap));
        Assert.NotEqual(0UL, before);
    }

    [Fact]
    public void Cmb_IsBar2_AndCmblocCmbszDescribeItOnceCmbmscCreIsSet()
    {
        using var h = new NvmeHarness(2 * Topo.MiB, Topo.MiB);

        PciBar bar2 = h.Endpoint.GetBar(2)!;
        Assert.NotNull(bar2.Memory);
        Assert.Equal(2 * Topo.MiB, bar2.SizeBytes);
        Assert.Equal(1UL, (h.Read64(NvmeRegister.Cap) >> 57) & 1);
        Assert.Equal(0u, h.Read32(NvmeRegister.Cmbloc));
        Assert.Equal(0u, h.Read32(NvmeRegister.Cmbsz));

        h.Write64(0x50, 1); // CMBMSC.CRE

        Assert.Equal(2u, h.Read32(NvmeRegister.Cmbloc) & 7); // BIR
        uint cmbsz = h.Read32(NvmeRegister.Cmbsz);
        Assert.Equal(0b11001u, cmbsz & 0x1F); // SQS, RDS, WDS; no CQS or LISTS
        int szu = (int)((cmbsz >> 8) & 0xF);
        ulong sz = cmbsz >> 12;
        Assert.Equal(2 * Topo.MiB, sz << (12 + (4 * szu)));
        Assert.Equal(2, szu); // 1 MiB units: the largest that divides 2 MiB
    }

    [Fact]
    public void IntmsSetsAndIntmcClearsOneMask()
    {
        using var h = new NvmeHarness(0, Topo.MiB);

        h.Write32(NvmeRegister.Intms, 0b1010);
        h.Write32(NvmeRegister.Intms, 0b0001);
        Assert.Equal(0b1011u, h.Read32(NvmeRegister.Intms));
        h.Write32(NvmeRegister.Intmc, 0b0010);

        Assert.Equal(0b1001u, h.Read32(NvmeRegister.Intmc));
        Assert.Equal(0b1001u, h.Controller.InterruptMask);
    }

    [Fact]
    public void Enable_WithValidAdminQueues_SetsRdy_AndDisableClearsIt()
    {
        using var h = new NvmeHarness(0, Topo.MiB);

        h.Enable();
        Assert.Equal(1u, h.Read32(NvmeRegister.Csts) & 3);
        Assert.Equal(0x000F_000Fu, h.Read32(NvmeRegister.Aqa));
        Assert.Equal(h.Bus(NvmeHarness.AsqOffset), h.Read64(NvmeRegister.Asq));

        h.Disable();
        Assert.Equal(0u, h.Read32(NvmeRegister.Csts) & 3);
    }

    [Fact]
    public void Enable_WithZeroSizedAdminQueues_SetsCfsNotRdy_AndResetClearsCfs()
    {
        using var h = new NvmeHarness(0, Topo.MiB);
        h.Write32(NvmeRegister.Aqa, 0);
        h.Write64((uint)NvmeRegister.Asq, h.Bus(NvmeHarness.AsqOffset));
        h.Write64((uint)NvmeRegister.Acq, h.Bus(NvmeHarness.AcqOffset));

        h.Write32(NvmeRegister.Cc, 1);
        Assert.Equal(0b10u, h.Read32(NvmeRegister.Csts) & 3);

        h.Write32(NvmeRegister.Cc, 0);
        Assert.Equal(0u, h.Read32(NvmeRegister.Csts) & 3);
    }

    [Theory]
    [InlineData(1u << 7)] // MPS 1 (8 KiB) above MPSMAX
    [InlineData(1u << 4)] // CSS 1, not supported
    [InlineData(1u << 11)] // AMS weighted round robin, not supported
    public void Enable_WithUnsupportedCcField_SetsCfs(uint ccField)
    {
        using var h = new NvmeHarness(0, Topo.MiB);
        h.Write32(NvmeRegister.Aqa, 0x000F_000F);
        h.Write64((uint)NvmeRegister.Asq, h.Bus(NvmeHarness.AsqOffset));
        h.Write64((uint)NvmeRegister.Acq, h.Bus(NvmeHarness.AcqOffset));

        h.Write32(NvmeRegister.Cc, 1u | ccField);

        Assert.Equal(0b10u, h.Read32(NvmeRegister.Csts) & 3);
        Assert.True(h.Controller.IsFatal);
    }

    [Fact]
    public void Shutdown_ReportsShstComplete_AndResetClearsIt()
    {
        using var h = new NvmeHarness(0, Topo.MiB);
        h.Enable();
        Assert.Equal(0u, (h.Read32(NvmeRegister.Csts) >> 2) & 3);

        h.Write32(NvmeRegister.Cc, 1u | (6u << 16) | (4u << 20) | (1u << 14)); // SHN normal

        Assert.Equal(2u, (h.Read32(NvmeRegister.Csts) >> 2) & 3);
        h.Disable();
        Assert.Equal(0u, h.Read32(NvmeRegister.Csts));
    }

    [Fact]
    public void Doorbells_BeforeEnable_AreIgnored_AndToMissingQueuesAreCounted()
    {
        using var h = new NvmeHarness(0, Topo.MiB);
        h.WriteDoorbell(0, 1);
        Assert.Equal(0L, h.Controller.InvalidDoorbellWriteCount);

        h.Enable();
        h.WriteDoorbell(2, 1); // SQ 1 does not exist
        h.WriteDoorbell(0, 16); // beyond the admin SQ's 16 entries

        Assert.Equal(2L, h.Controller.InvalidDoorbellWriteCount);
        Assert.False(h.Controller.IsFatal);
    }

    [Fact]
    public void AdminSqInAHole_FetchFails_SetsCfs()
    {
        using var h = new NvmeHarness(0, Topo.MiB);
        h.Enable(asqBus: NvmeHarness.HoleAddress);

        h.WriteDoorbell(0, 1);

        Assert.Equal(0b10u, h.Read32(NvmeRegister.Csts) & 2);
        Assert.Equal(0UL, h.Fabric.Ram.Region.Read<ulong>(NvmeHarness.AcqOffset + 8)); // no completion posted
    }
}
