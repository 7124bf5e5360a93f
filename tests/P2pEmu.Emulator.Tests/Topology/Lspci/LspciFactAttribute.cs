using System;
using Xunit;

namespace P2pEmu.Emulator.Tests.Topology.Lspci;

/// <summary>
/// A fact that runs the real <c>lspci</c>. It is skipped where pciutils is not installed, except in CI
/// (environment variable <c>CI=true</c>), where a missing lspci must fail the test instead of hiding it.
/// </summary>
/// <remarks>Lives here because tests/P2pEmu.Testing has no xunit reference.</remarks>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
public sealed class LspciFactAttribute : FactAttribute
{
    public LspciFactAttribute()
    {
        bool inCi = string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.Ordinal);
        if (LspciTool.Find() is null && !inCi)
        {
            Skip = "lspci (pciutils) is not installed";
        }
    }
}
