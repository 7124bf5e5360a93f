using System;

namespace P2pEmu.Emulator.Fabric;

/// <summary>Takes one piece of a <see cref="DmaPort.ReadInPlace"/>; returns false to stop the read after it.</summary>
public delegate bool DmaSpanReader(ReadOnlySpan<byte> piece);
