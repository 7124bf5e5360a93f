using System.Text;
using P2pEmu.Drivers.Rdma;
using P2pEmu.Emulator.Host;

namespace P2pEmu.Machine.Scenarios;

/// <summary>How a work request ended, in Linux's words: the post's errno or the completion's <c>ib_wc_status</c> name.</summary>
internal static class IbWcText
{
    public static string Of(IbWc? wc, Errno posted) =>
        posted != Errno.None ? $"post -{posted}" : wc is IbWc c ? StatusName(c.Status) : "no completion";

    /// <summary>Linux's name of a completion status: <c>IB_WC_REM_ACCESS_ERR</c> for <see cref="IbWcStatus.RemAccessErr"/>.</summary>
    public static string StatusName(IbWcStatus status)
    {
        string name = status.ToString();
        var text = new StringBuilder("IB_WC_", 32);
        for (int i = 0; i < name.Length; i++)
        {
            if (i > 0 && char.IsUpper(name[i]))
            {
                text.Append('_');
            }

            text.Append(char.ToUpperInvariant(name[i]));
        }

        return text.ToString();
    }
}
