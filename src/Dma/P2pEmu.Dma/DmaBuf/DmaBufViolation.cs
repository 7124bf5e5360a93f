namespace P2pEmu.Dma.DmaBuf;

/// <summary>One broken rule, as recorded by <see cref="DmaBufHost"/>: what, in which Linux function, and the detail.</summary>
public sealed record DmaBufViolation(DmaBufViolationKind Kind, string Function, string Message)
{
    public override string ToString() => $"{Function}: {Message} ({Kind})";
}
