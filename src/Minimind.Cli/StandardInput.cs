namespace Minimind.Cli;

/// <summary>Facts about this process's standard input that .NET's Console does not expose.</summary>
internal static class StandardInput
{
    /// <summary>
    /// True when the process was started with standard input closed (<c>minimind chat &lt;&amp;-</c>). The runtime then opens
    /// its own files and the first one takes descriptor 0, so reading "stdin" would block forever on the runtime's pipe.
    /// An inherited descriptor never has close-on-exec set (it survived the exec); one this process opened does (.NET opens
    /// everything with O_CLOEXEC), which /proc/self/fdinfo/0 shows. Off Linux (no /proc) this says false.
    /// </summary>
    public static bool ClosedAtStart
    {
        get
        {
            const int OCloexec = 0x80000; // 02000000 octal, Linux's O_CLOEXEC
            if (!Directory.Exists("/proc/self/fdinfo")) return false;
            if (!File.Exists("/proc/self/fdinfo/0")) return true; // descriptor 0 is not open at all
            try
            {
                foreach (var line in File.ReadLines("/proc/self/fdinfo/0"))
                    if (line.StartsWith("flags:", StringComparison.Ordinal))
                        return (Convert.ToInt32(line["flags:".Length..].Trim(), 8) & OCloexec) != 0;
            }
            catch (IOException) { return false; }
            catch (UnauthorizedAccessException) { return false; }
            return false;
        }
    }
}
