using System;
using System.Collections.Generic;
using System.Threading;
using P2pEmu.Dma.Mm;
using P2pEmu.Emulator.Host;

namespace P2pEmu.Dma.Userspace;

/// <summary>
/// A user process: a table of descriptors, each holding a reference to an <see cref="OpenFile"/> (new descriptors take
/// the lowest free number, as POSIX requires), and, when it was given one, its address space (<see cref="Mm"/>), where
/// its mappings live side by side — anonymous memory, p2pmem through <c>allocate</c> (pages GUP can pin with
/// FOLL_PCI_P2PDMA), dma-bufs (VM_PFNMAP | VM_IO: GUP fails with EFAULT).
/// </summary>
/// <remarks>Thread safety: the table serializes on one lock; references are dropped outside it.</remarks>
public sealed class Process
{
    /// <summary>The default <c>RLIMIT_NOFILE</c> soft limit.</summary>
    public const int DefaultMaxFiles = 1024;

    /// <summary><c>O_CLOEXEC</c>.</summary>
    public const int OCloexec = 0x80000;

    private readonly Lock _lock = new();
    private readonly List<OpenFile?> _files = new();
    private readonly List<bool> _closeOnExec = new();

    public Process(string name = "user", int maxFiles = DefaultMaxFiles)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxFiles, 1);
        Name = name;
        MaxFiles = maxFiles;
    }

    /// <summary>A process with an address space; <see cref="Exit"/> tears it down (<c>exit_mm</c>), then closes the descriptors (<c>exit_files</c>).</summary>
    public Process(string name, MmStruct mm, int maxFiles = DefaultMaxFiles)
        : this(name, maxFiles)
    {
        ArgumentNullException.ThrowIfNull(mm);
        Mm = mm;
    }

    public string Name { get; }

    /// <summary><c>current-&gt;mm</c>: the process's address space; null for a process made without one.</summary>
    public MmStruct? Mm { get; }

    /// <summary><c>RLIMIT_NOFILE</c>: descriptors are below this number.</summary>
    public int MaxFiles { get; }

    /// <summary>Open descriptors.</summary>
    public int OpenCount
    {
        get
        {
            lock (_lock)
            {
                int open = 0;
                foreach (OpenFile? file in _files)
                {
                    open += file is null ? 0 : 1;
                }

                return open;
            }
        }
    }

    /// <summary>
    /// <c>get_unused_fd_flags</c> + <c>fd_install</c>: gives <paramref name="file"/> the lowest free descriptor. The
    /// descriptor takes over the caller's reference on success; on failure the caller keeps it.
    /// </summary>
    /// <returns>The descriptor; EMFILE when every descriptor below <see cref="MaxFiles"/> is in use.</returns>
    public Result<int> FdInstall(OpenFile file, int flags = 0)
    {
        ArgumentNullException.ThrowIfNull(file);
        lock (_lock)
        {
            int fd = _files.IndexOf(null);
            if (fd < 0)
            {
                if (_files.Count >= MaxFiles)
                {
                    return Errno.EMFILE;
                }

                fd = _files.Count;
                _files.Add(null);
                _closeOnExec.Add(false);
            }

            _files[fd] = file;
            _closeOnExec[fd] = (flags & OCloexec) != 0;
            return Result.Ok(fd);
        }
    }

    /// <summary><c>fget</c>: a new reference to the file behind <paramref name="fd"/>, or null for a bad descriptor.</summary>
    public OpenFile? Fget(int fd)
    {
        lock (_lock)
        {
            OpenFile? file = fd >= 0 && fd < _files.Count ? _files[fd] : null;
            file?.Get();
            return file;
        }
    }

    /// <summary>True when <paramref name="fd"/> is open and has <c>FD_CLOEXEC</c>.</summary>
    public bool IsCloseOnExec(int fd)
    {
        lock (_lock)
        {
            return fd >= 0 && fd < _files.Count && _files[fd] is not null && _closeOnExec[fd];
        }
    }

    /// <summary><c>close(2)</c>: frees the descriptor and drops its reference.</summary>
    /// <returns>None, or EBADF for a descriptor that is not open.</returns>
    public Errno Close(int fd)
    {
        OpenFile? file;
        lock (_lock)
        {
            file = fd >= 0 && fd < _files.Count ? _files[fd] : null;
            if (file is null)
            {
                return Errno.EBADF;
            }

            _files[fd] = null;
        }

        file.Put();
        return Errno.None;
    }

    /// <summary>The process exits: its address space goes (every mapping unmapped), then every descriptor is closed, lowest first.</summary>
    public void Exit()
    {
        int count;
        lock (_lock)
        {
            count = _files.Count;
        }

        Mm?.Dispose();
        for (int fd = 0; fd < count; fd++)
        {
            Close(fd);
        }
    }

    public override string ToString() => Name;
}
