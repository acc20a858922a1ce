using System.IO.Compression;
using System.Text;

namespace Minimind.Checkpoint.Tests;

/// <summary>
/// No torch 2.x runs here, so the writer's pickles are checked against torch 2.x's weights_only allow-list
/// itself: every opcode and global in a written data.pkl must be one that
/// <c>torch/_weights_only_unpickler.py</c> accepts (pytorch/pytorch at 00f730b6, read on 2026-11-29).
/// torch 1.13's list is the same minus BINFLOAT, which the round-trip tests through real torch 1.13 cover.
/// </summary>
public class WeightsOnlyCompatibilityTests
{
    // Opcodes torch 2.x's restricted unpickler executes (pickle.py names).
    private static readonly Dictionary<byte, string> Torch2Opcodes = new()
    {
        [(byte)'a'] = "APPEND", [(byte)'e'] = "APPENDS", [(byte)'G'] = "BINFLOAT", [(byte)'h'] = "BINGET", [(byte)'J'] = "BININT",
        [(byte)'K'] = "BININT1", [(byte)'M'] = "BININT2", [(byte)'Q'] = "BINPERSID", [(byte)'q'] = "BINPUT", [(byte)'X'] = "BINUNICODE",
        [(byte)'b'] = "BUILD", [(byte)'}'] = "EMPTY_DICT", [(byte)']'] = "EMPTY_LIST", [0x8f] = "EMPTY_SET", [(byte)')'] = "EMPTY_TUPLE",
        [(byte)'c'] = "GLOBAL", [0x8a] = "LONG1", [(byte)'j'] = "LONG_BINGET", [(byte)'r'] = "LONG_BINPUT", [(byte)'('] = "MARK",
        [0x89] = "NEWFALSE", [0x81] = "NEWOBJ", [0x88] = "NEWTRUE", [(byte)'N'] = "NONE", [0x80] = "PROTO", [(byte)'R'] = "REDUCE",
        [(byte)'s'] = "SETITEM", [(byte)'u'] = "SETITEMS", [(byte)'U'] = "SHORT_BINSTRING", [(byte)'.'] = "STOP", [(byte)'t'] = "TUPLE",
        [0x85] = "TUPLE1", [0x86] = "TUPLE2", [0x87] = "TUPLE3",
    };

    // The globals of that list a state dict or resume file can need (storage classes are allowed for every dtype).
    private static readonly HashSet<string> Torch2Globals = new(StringComparer.Ordinal)
    {
        "collections.OrderedDict", "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_parameter",
        "torch.FloatStorage", "torch.HalfStorage", "torch.BFloat16Storage", "torch.DoubleStorage", "torch.LongStorage",
        "torch.IntStorage", "torch.ShortStorage", "torch.CharStorage", "torch.ByteStorage", "torch.BoolStorage",
    };

    // Walks the opcode stream the way torch's get_globals_in_pkl does: fixed argument sizes, GLOBAL's two lines.
    private static (HashSet<string> ops, HashSet<string> globals, int proto) Scan(byte[] pkl)
    {
        var ops = new HashSet<string>(); var globals = new HashSet<string>(StringComparer.Ordinal);
        int pos = 0, proto = -1;
        string Line() { int end = Array.IndexOf(pkl, (byte)'\n', pos); var s = Encoding.UTF8.GetString(pkl, pos, end - pos); pos = end + 1; return s; }
        while (true)
        {
            byte op = pkl[pos++];
            Assert.True(Torch2Opcodes.TryGetValue(op, out var name), $"opcode 0x{op:x2} at byte {pos - 1} is not accepted by torch 2.x weights_only");
            ops.Add(name!);
            switch (name)
            {
                case "STOP": Assert.Equal(pkl.Length, pos); return (ops, globals, proto);
                case "PROTO": proto = pkl[pos++]; break;
                case "GLOBAL": globals.Add(Line() + "." + Line()); break;
                case "BINPUT" or "BINGET" or "BININT1": pos += 1; break;
                case "BININT2": pos += 2; break;
                case "BININT" or "LONG_BINPUT" or "LONG_BINGET": pos += 4; break;
                case "BINFLOAT": pos += 8; break;
                case "LONG1" or "SHORT_BINSTRING": pos += 1 + pkl[pos]; break;
                case "BINUNICODE": pos += 4 + (int)BitConverter.ToUInt32(pkl, pos); break;
            }
        }
    }

    [Theory]
    [InlineData(TorchDType.F32)]
    [InlineData(TorchDType.F16)]
    [InlineData(TorchDType.BF16)]
    public void WrittenPicklesUseOnlyWhatTorch2WeightsOnlyAccepts(TorchDType dtype)
    {
        var model = PthWriterTests.TiedModel(dtype);
        model.Add("tokens", TorchTensor.FromInt64(new long[] { 1, -2, long.MaxValue }, new[] { 3 }));
        var roots = new object[] { model.ToRoot(), PthWriterTests.ResumeDict(model) };
        foreach (var root in roots)
        {
            var ms = new MemoryStream();
            PthWriter.Write(ms, root, "ckpt");
            ms.Position = 0;
            using var zip = new ZipArchive(ms, ZipArchiveMode.Read);
            var entry = zip.GetEntry("ckpt/data.pkl")!;
            var pkl = new byte[entry.Length];
            using (var s = entry.Open()) s.ReadExactly(pkl);
            var (ops, globals, proto) = Scan(pkl);
            Assert.Equal(2, proto); // torch.save's protocol; other protocols make torch 2.x warn
            foreach (var g in globals) Assert.True(Torch2Globals.Contains(g), $"global {g} is not in torch 2.x's weights_only allow-list");
            Assert.Contains("torch._utils._rebuild_tensor_v2", globals);
            Assert.Contains("BINPERSID", ops);
        }
    }
}
