using System;
using Xunit;

namespace P2pEmu.Testing;

/// <summary>
/// A fact that runs the real <c>tshark</c>. It is skipped where tshark is not installed, except in CI
/// (environment variable <c>CI=true</c>, where .ci/run installs it), where a missing tshark must fail the test instead of hiding it.
/// </summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
public sealed class TsharkFactAttribute : FactAttribute
{
    public TsharkFactAttribute()
    {
        bool inCi = string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.Ordinal);
        if (TsharkTool.Find() is null && !inCi)
        {
            Skip = "tshark is not installed";
        }
    }
}
