namespace P2pEmu.Emulator.Host;

/// <summary>Creates successful <see cref="Result{T}"/> values (errors convert implicitly from <see cref="Errno"/>).</summary>
public static class Result
{
    public static Result<T> Ok<T>(T value) => new(value, Errno.None);
}
