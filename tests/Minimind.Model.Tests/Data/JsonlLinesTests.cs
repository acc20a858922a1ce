using System.Text;
using Minimind.Model.Chat;
using Minimind.Model.Data;
using Minimind.Model.Data.Sft;
using Minimind.Tests;

namespace Minimind.Model.Tests.Data;

/// <summary>The one jsonl line reader every dataset uses: line numbers, BOM, CRLF, a last line without newline, and bytes
/// that are not UTF-8 refused with file, line and offset (hand-derived from the bytes written).</summary>
public sealed class JsonlLinesTests : IDisposable
{
    private readonly string _dir = TestEnvironment.NewTempDir("mm-jsonl");

    public void Dispose() => Directory.Delete(_dir, true);

    private string Write(byte[] bytes)
    {
        var p = Path.Combine(_dir, "d.jsonl");
        File.WriteAllBytes(p, bytes);
        return p;
    }

    [Fact]
    public void LinesKeepTheirNumbers_AcrossBomCrlfBlankLinesAndAMissingFinalNewline()
    {
        var p = Write([0xEF, 0xBB, 0xBF, .. "{\"text\": \"a\"}\r\n\r\n  \n{\"text\": \"é\"}\n{\"text\": \"z\"}"u8]);
        var lines = JsonlTexts.Read(p).ToList();
        Assert.Equal(new[] { (1L, "a"), (4L, "é"), (5L, "z") }, lines.Select(l => (l.LineNumber, l.Text)));
    }

    [Fact]
    public void LongLinesCrossingTheReadBufferAreWhole()
    {
        string big = new('字', 70_000); // 210,000 bytes: spans several 64 KiB reads
        var p = Write(Encoding.UTF8.GetBytes($"{{\"text\": \"{big}\"}}\n{{\"text\": \"b\"}}\n"));
        Assert.Equal(new[] { big, "b" }, JsonlTexts.Read(p).Select(l => l.Text));
    }

    [Fact]
    public void InvalidUtf8_IsRefusedNamingFileLineAndOffset()
    {
        byte[] head = "{\"text\": \"ok\"}\n\n{\"text\": \"bad "u8.ToArray();
        var p = Write([.. head, 0xFF, 0xFE, .. " bytes\"}\n"u8]);
        var e = Assert.Throws<InvalidDataException>(() => JsonlTexts.Read(p).ToList());
        Assert.Contains($"{p}:3: not valid UTF-8 (byte 0xFF at file offset {head.Length})", e.Message);
        // the SFT reader goes through the same lines
        var sft = Write([.. "{\"conversations\": [{\"role\": \"user\", \"content\": \"x"u8, 0xC3, .. "\"}]}\n"u8]);
        var e2 = Assert.Throws<InvalidDataException>(() => SftSource.Open(sft, ChatFormat.Load("byte"), new SftOptions { MaxSeqLen = 64 }));
        Assert.Contains($"{sft}:1: not valid UTF-8", e2.Message);
    }
}
