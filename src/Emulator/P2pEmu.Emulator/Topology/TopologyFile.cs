using System;
using System.IO;

namespace P2pEmu.Emulator.Topology;

/// <summary>Reads an input file (topology or dump), turning every way it can fail into a <see cref="TopologyException"/>.</summary>
public static class TopologyFile
{
    /// <param name="what">What the file is, for the message (e.g. "topology file", "lspci dump").</param>
    /// <exception cref="TopologyException">The file does not exist or cannot be read; <see cref="TopologyException.Path"/> is the file path.</exception>
    public static string ReadAllText(string path, string what)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new TopologyException(path, $"{what} '{path}' not found");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            throw new TopologyException(path, $"cannot read {what} '{path}': {ex.Message}");
        }
    }
}
