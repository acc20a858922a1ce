using System.Runtime.InteropServices;

namespace Minimind.Kernels.Distributed;

/// <summary>NCCL's 128-byte unique id (<c>ncclUniqueId</c>), passed by value to ncclCommInitRank.</summary>
[StructLayout(LayoutKind.Sequential, Size = 128)]
public unsafe struct NcclUniqueId
{
    /// <summary>The opaque bytes.</summary>
    public fixed byte Internal[128];
}

/// <summary>
/// A thin binding to NCCL (<c>libnccl.so.2</c>, loaded at run time: a system install or the copy PyTorch's CUDA
/// wheels ship under site-packages/nvidia/nccl/lib, named by MINIMIND_NCCL_LIB).
/// </summary>
public sealed unsafe class NcclLibrary
{
    /// <summary>Environment variable naming the libnccl file.</summary>
    public const string PathVariable = "MINIMIND_NCCL_LIB";
    /// <summary>ncclFloat32.</summary>
    public const int Float32 = 7;
    /// <summary>ncclSum.</summary>
    public const int Sum = 0;

    internal readonly delegate* unmanaged<int*, int> GetVersion;
    internal readonly delegate* unmanaged<NcclUniqueId*, int> GetUniqueId;
    internal readonly delegate* unmanaged<nint*, int, NcclUniqueId, int, int> CommInitRank;
    internal readonly delegate* unmanaged<nint, nint, nuint, int, int, nint, nint, int> AllReduce;
    internal readonly delegate* unmanaged<nint, int> CommDestroy;
    internal readonly delegate* unmanaged<nint, nuint, int, int, nint, nint, int> Send;
    internal readonly delegate* unmanaged<nint, nuint, int, int, nint, nint, int> Recv;
    internal readonly delegate* unmanaged<int> GroupStart;
    internal readonly delegate* unmanaged<int> GroupEnd;
    private readonly delegate* unmanaged<int, byte*> _errorString;

    /// <summary>The file that was loaded.</summary>
    public string LoadedName { get; }

    private NcclLibrary(nint h, string name)
    {
        LoadedName = name;
        nint Sym(string s) => NativeLibrary.TryGetExport(h, s, out var p) ? p : throw new DllNotFoundException($"{name} has no symbol {s}: not NCCL 2");
        GetVersion = (delegate* unmanaged<int*, int>)Sym("ncclGetVersion");
        GetUniqueId = (delegate* unmanaged<NcclUniqueId*, int>)Sym("ncclGetUniqueId");
        CommInitRank = (delegate* unmanaged<nint*, int, NcclUniqueId, int, int>)Sym("ncclCommInitRank");
        AllReduce = (delegate* unmanaged<nint, nint, nuint, int, int, nint, nint, int>)Sym("ncclAllReduce");
        CommDestroy = (delegate* unmanaged<nint, int>)Sym("ncclCommDestroy");
        Send = (delegate* unmanaged<nint, nuint, int, int, nint, nint, int>)Sym("ncclSend");
        Recv = (delegate* unmanaged<nint, nuint, int, int, nint, nint, int>)Sym("ncclRecv");
        GroupStart = (delegate* unmanaged<int>)Sym("ncclGroupStart");
        GroupEnd = (delegate* unmanaged<int>)Sym("ncclGroupEnd");
        _errorString = (delegate* unmanaged<int, byte*>)Sym("ncclGetErrorString");
    }

    /// <summary>Loads libnccl.so.2 (or the file in MINIMIND_NCCL_LIB), or throws saying where to get one.</summary>
    public static NcclLibrary Load()
    {
        var custom = Environment.GetEnvironmentVariable(PathVariable);
        var name = string.IsNullOrEmpty(custom) ? "libnccl.so.2" : custom;
        if (NativeLibrary.TryLoad(name, out var h)) return new NcclLibrary(h, name);
        throw new DllNotFoundException($"NCCL ({name}) could not be loaded: install libnccl2, or point {PathVariable} at the libnccl.so.2 of PyTorch's CUDA wheel (site-packages/nvidia/nccl/lib)");
    }

    /// <summary>NCCL's version as an int (e.g. 22105 for 2.21.5).</summary>
    public int Version { get { int v; Check(GetVersion(&v), "ncclGetVersion"); return v; } }

    /// <summary>Throws naming <paramref name="call"/> and NCCL's message when <paramref name="rc"/> is not ncclSuccess.</summary>
    public void Check(int rc, string call)
    {
        if (rc != 0) throw new MpiException($"{call} failed: NCCL error {rc} ({Marshal.PtrToStringAnsi((nint)_errorString(rc))})");
    }
}
