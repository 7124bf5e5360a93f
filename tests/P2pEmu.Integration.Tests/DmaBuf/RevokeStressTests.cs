using System.Linq;
using P2pEmu.Emulator.Topology;
using Xunit;

namespace P2pEmu.Integration.Tests.DmaBuf;

/// <summary>Thousands of revokes and un-revokes from seeds while importers map, DMA and unmap (see <see cref="RevokeStress"/>).</summary>
public sealed class RevokeStressTests
{
    public const int Rounds = 3000;

    [Theory]
    [Trait("Category", "Stress")]
    [InlineData(KernelProfile.Linux619, 1)]
    [InlineData(KernelProfile.Linux619, 2)]
    [InlineData(KernelProfile.Revoke2026, 1)]
    [InlineData(KernelProfile.Revoke2026, 2)]
    public void Revokes_WhileImportersDma_KeepTheGuarantee_AndEveryCompletedDmaIsIntact(KernelProfile kernel, int seed)
    {
        using var stress = new RevokeStress(kernel, seed);

        stress.Run(Rounds);
        stress.Close();

        Assert.True(stress.Checkpoints > Rounds / 2);
        Assert.All(stress.Actors, a => Assert.True(a.Writes > 0 && a.Reads > 0, $"{a.Name} made no progress"));
        Assert.True(stress.Actors.Sum(a => a.Refused) > 0);

        // revoke-2026 waits for every fence, so even the importer that does not wait in its notify is never cut short.
        if (kernel == KernelProfile.Revoke2026)
        {
            Assert.All(stress.Actors, a => Assert.Equal(0, a.Cut));
        }
    }
}
