using System;

namespace P2pEmu.Emulator.Host;

/// <summary>A value or a Linux errno: what a kernel function returning a pointer or -errno returns.</summary>
public readonly struct Result<T>
{
    private readonly T? _value;

    internal Result(T? value, Errno error)
    {
        _value = value;
        Error = error;
    }

    public Errno Error { get; }

    public bool IsSuccess => Error == Errno.None;

    /// <exception cref="InvalidOperationException">The result is an error.</exception>
    public T Value => IsSuccess ? _value! : throw new InvalidOperationException($"The call failed with {Error}.");

    /// <summary>An error result; <see cref="Errno.None"/> is not an error.</summary>
    public static implicit operator Result<T>(Errno error)
    {
        ArgumentOutOfRangeException.ThrowIfEqual(error, Errno.None);
        return new(default, error);
    }

    public override string ToString() => IsSuccess ? $"Ok({_value})" : $"-{Error}";
}
