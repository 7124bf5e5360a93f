using System.IO;
using System.Reflection;
using System.Runtime.Loader;

namespace P2pEmu.Benchmarks;

/// <summary>
/// One build of the benchmarks and everything it ships, loaded beside any other build in the same process: assemblies
/// come from the build's own directory, the shared framework from the default context.
/// </summary>
internal sealed class BuildLoadContext : AssemblyLoadContext
{
    private readonly AssemblyDependencyResolver _resolver;

    public BuildLoadContext(string benchmarksDll)
        : base(Path.GetFileName(Path.GetDirectoryName(benchmarksDll)), isCollectible: false)
    {
        _resolver = new AssemblyDependencyResolver(benchmarksDll);
        Assembly = LoadFromAssemblyPath(benchmarksDll);
    }

    /// <summary>The build's P2pEmu.Benchmarks assembly.</summary>
    public Assembly Assembly { get; }

    protected override Assembly? Load(AssemblyName assemblyName) =>
        _resolver.ResolveAssemblyToPath(assemblyName) is string path ? LoadFromAssemblyPath(path) : null;
}
