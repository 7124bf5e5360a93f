using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Xml.Linq;
using P2pEmu.Testing;
using Xunit;

namespace P2pEmu.Integration.Tests;

/// <summary>The reference direction of DESIGN.md's layer table, checked on the built assemblies and the project files.</summary>
public sealed class LayeringTests
{
    public static TheoryData<string, string[]> Layers => new()
    {
        { "P2pEmu.Emulator", Array.Empty<string>() },
        { "P2pEmu.Emulator.Devices", new[] { "P2pEmu.Emulator" } },
        { "P2pEmu.Iommu", new[] { "P2pEmu.Emulator" } },
        { "P2pEmu.Dma", new[] { "P2pEmu.Emulator", "P2pEmu.Iommu" } },
        { "P2pEmu.Drivers", new[] { "P2pEmu.Emulator", "P2pEmu.Iommu", "P2pEmu.Dma" } },
        { "P2pEmu.Machine", new[] { "P2pEmu.Emulator", "P2pEmu.Emulator.Devices", "P2pEmu.Iommu", "P2pEmu.Dma", "P2pEmu.Drivers" } },
        { "p2pemu", new[] { "P2pEmu.Machine", "P2pEmu.Emulator" } },
    };

    [Theory]
    [MemberData(nameof(Layers))]
    public void Assembly_ReferencesOnlyLayersBelowIt(string assembly, string[] allowed)
    {
        Assembly loaded = Assembly.Load(assembly);

        string[] references = loaded.GetReferencedAssemblies()
            .Select(r => r.Name!)
            .Where(n => n.StartsWith("P2pEmu", StringComparison.Ordinal) || n == "p2pemu")
            .ToArray();

        Assert.Empty(references.Except(allowed));
    }

    [Theory]
    [MemberData(nameof(Layers))]
    public void ProjectFile_ReferencesOnlyLayersBelowIt(string assembly, string[] allowed)
    {
        string project = FindProject(assembly == "p2pemu" ? "P2pEmu.Cli" : assembly);

        IEnumerable<string> references = XDocument.Load(project).Descendants("ProjectReference")
            .Select(r => Path.GetFileNameWithoutExtension((string)r.Attribute("Include")!))
            .Select(n => n == "P2pEmu.Cli" ? "p2pemu" : n);

        Assert.Empty(references.Except(allowed));
    }

    [Fact]
    public void OnlyTheEmulatorCore_AllowsUnsafeCode()
    {
        string src = Path.Combine(RepositoryPaths.Root, "src");

        string[] unsafeProjects = Directory.GetFiles(src, "*.csproj", SearchOption.AllDirectories)
            .Where(p => XDocument.Load(p).Descendants("AllowUnsafeBlocks").Any(e => string.Equals(e.Value.Trim(), "true", StringComparison.OrdinalIgnoreCase)))
            .Select(Path.GetFileNameWithoutExtension)
            .ToArray()!;

        Assert.Equal(new[] { "P2pEmu.Emulator" }, unsafeProjects);
    }

    private static string FindProject(string name) =>
        Directory.GetFiles(Path.Combine(RepositoryPaths.Root, "src"), name + ".csproj", SearchOption.AllDirectories).Single();
}
