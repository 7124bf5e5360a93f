namespace P2pEmu.Emulator.Host;

/// <summary>
/// Linux errno values, as the host-software layers return them (positive here; the kernel returns them
/// negated). <see cref="None"/> is success.
/// </summary>
#pragma warning disable CA1707 // Linux spells them this way, and the spec maps onto the code one to one.
public enum Errno
{
    None = 0,
    EPERM = 1,
    ENOENT = 2,
    EIO = 5,
    ENXIO = 6,
    E2BIG = 7,
    EBADF = 9,
    EAGAIN = 11,
    ENOMEM = 12,
    EACCES = 13,
    EFAULT = 14,
    EBUSY = 16,
    EEXIST = 17,
    ENODEV = 19,
    EINVAL = 22,
    EMFILE = 24,
    ENOTTY = 25,
    ENOSPC = 28,
    ERANGE = 34,
    EDEADLK = 35,
    ENOLCK = 37,
    EOVERFLOW = 75,
    EOPNOTSUPP = 95,

    ENETDOWN = 100,
    ETIMEDOUT = 110,
    EALREADY = 114,
    EREMOTEIO = 121,
}
#pragma warning restore CA1707
