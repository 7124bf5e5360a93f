namespace P2pEmu.Emulator.Execution;

/// <summary>How device back ends run (DESIGN "Execution model").</summary>
public enum ExecutionMode
{
    /// <summary>One thread: a device does its work inline, inside the register write that asked for it.</summary>
    Deterministic,

    /// <summary>Each device engine has a thread of its own; register writes only wake it.</summary>
    Concurrent,
}
