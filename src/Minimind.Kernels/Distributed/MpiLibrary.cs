using System.Runtime.InteropServices;

namespace Minimind.Kernels.Distributed;

/// <summary>
/// A thin binding to Open MPI's C ABI, loaded at run time with <see cref="NativeLibrary"/> (no MPI.NET,
/// no link-time dependency): functions through unmanaged function pointers, and Open MPI's predefined
/// handles as the addresses of its exported globals (<c>MPI_COMM_WORLD</c> is <c>&amp;ompi_mpi_comm_world</c>).
/// Only the point-to-point calls are bound: every reduction is our own, so its summation order is ours.
/// </summary>
public sealed unsafe class MpiLibrary
{
    /// <summary>The Debian packages that provide the library.</summary>
    public const string Packages = "openmpi-bin libopenmpi-dev (apt-get install openmpi-bin libopenmpi-dev)";
    private static readonly string[] Names = { "libmpi.so.40", "libmpi.so" };
    /// <summary>MPI_SUCCESS.</summary>
    public const int Success = 0;

    /// <summary>The loaded library's handle.</summary>
    public nint Handle { get; }
    /// <summary>Which file was loaded.</summary>
    public string LoadedName { get; }
    /// <summary>MPI_COMM_WORLD.</summary>
    public nint CommWorld { get; }
    /// <summary>MPI_BYTE.</summary>
    public nint Byte { get; }

    internal readonly delegate* unmanaged<int*, byte***, int> Init;
    internal readonly delegate* unmanaged<int*, int> Initialized;
    internal readonly delegate* unmanaged<int> Finalize;
    internal readonly delegate* unmanaged<int*, int> Finalized;
    internal readonly delegate* unmanaged<nint, int*, int> CommRank;
    internal readonly delegate* unmanaged<nint, int*, int> CommSize;
    internal readonly delegate* unmanaged<nint, int, int> Abort;
    internal readonly delegate* unmanaged<void*, int, nint, int, int, nint, nint*, int> Isend;
    internal readonly delegate* unmanaged<void*, int, nint, int, int, nint, nint*, int> Irecv;
    internal readonly delegate* unmanaged<nint*, int*, void*, int> Test;
    internal readonly delegate* unmanaged<nint*, int> Cancel;
    internal readonly delegate* unmanaged<nint*, int> RequestFree;

    private MpiLibrary(nint handle, string name)
    {
        Handle = handle; LoadedName = name;
        CommWorld = Sym("ompi_mpi_comm_world");
        Byte = Sym("ompi_mpi_byte");
        Init = (delegate* unmanaged<int*, byte***, int>)Sym("MPI_Init");
        Initialized = (delegate* unmanaged<int*, int>)Sym("MPI_Initialized");
        Finalize = (delegate* unmanaged<int>)Sym("MPI_Finalize");
        Finalized = (delegate* unmanaged<int*, int>)Sym("MPI_Finalized");
        CommRank = (delegate* unmanaged<nint, int*, int>)Sym("MPI_Comm_rank");
        CommSize = (delegate* unmanaged<nint, int*, int>)Sym("MPI_Comm_size");
        Abort = (delegate* unmanaged<nint, int, int>)Sym("MPI_Abort");
        Isend = (delegate* unmanaged<void*, int, nint, int, int, nint, nint*, int>)Sym("MPI_Isend");
        Irecv = (delegate* unmanaged<void*, int, nint, int, int, nint, nint*, int>)Sym("MPI_Irecv");
        Test = (delegate* unmanaged<nint*, int*, void*, int>)Sym("MPI_Test");
        Cancel = (delegate* unmanaged<nint*, int>)Sym("MPI_Cancel");
        RequestFree = (delegate* unmanaged<nint*, int>)Sym("MPI_Request_free");
    }

    private nint Sym(string name) => NativeLibrary.TryGetExport(Handle, name, out var p) ? p
        : throw new DllNotFoundException($"{LoadedName} has no symbol {name}: this is not Open MPI's libmpi (install {Packages})");

    /// <summary>Environment variable naming another libmpi file to load (an Open MPI installed elsewhere).</summary>
    public const string PathVariable = "MINIMIND_MPI_LIB";

    /// <summary>Loads Open MPI's libmpi (or the file in MINIMIND_MPI_LIB), or throws a DllNotFoundException naming the packages to install.</summary>
    public static MpiLibrary Load()
    {
        var custom = Environment.GetEnvironmentVariable(PathVariable);
        foreach (var n in string.IsNullOrEmpty(custom) ? Names : new[] { custom })
            if (NativeLibrary.TryLoad(n, out var h)) return new MpiLibrary(h, n);
        throw new DllNotFoundException($"this job runs under mpirun with several ranks but Open MPI's library ({(string.IsNullOrEmpty(custom) ? Names[0] : custom)}) could not be loaded; install {Packages}");
    }

    /// <summary>Throws naming <paramref name="call"/> when an MPI call did not return MPI_SUCCESS.</summary>
    public static void Check(int rc, string call)
    {
        if (rc != Success) throw new MpiException($"{call} failed with MPI error code {rc}");
    }
}

/// <summary>An MPI call failed, a peer did not answer in time, or the ranks disagree.</summary>
public sealed class MpiException : Exception
{
    /// <summary>Creates the exception.</summary>
    public MpiException(string message) : base(message) { }
}
