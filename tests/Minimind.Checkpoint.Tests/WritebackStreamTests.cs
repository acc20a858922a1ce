namespace Minimind.Checkpoint.Tests;

/// <summary>
/// The writeback hint must never change what lands in the file: small writes buffered by the
/// FileStream, writes that straddle a window and writes larger than a window all arrive in order.
/// (Its speed effect is measured by CheckpointBenchmarks, not here.)
/// </summary>
public class WritebackStreamTests
{
    [Fact]
    public void BytesArriveInOrderAcrossWindows()
    {
        var payload = new byte[(int)(WritebackStream.Window * 2 + WritebackStream.Window / 3 + 17)];
        new Random(11).NextBytes(payload);
        var sizes = new Random(12);
        var dir = TestPaths.TempDir();
        try
        {
            var path = Path.Combine(dir, "wb.bin");
            long positionSeen = -1;
            AtomicFile.Write(path, s =>
            {
                Assert.IsType<WritebackStream>(s);
                int off = 0;
                while (off < payload.Length)
                {
                    // 1 byte .. 3 MiB, and now and then more than a whole window in one call.
                    int n = sizes.Next(4) == 0 ? sizes.Next(1, 64) : sizes.Next(8) == 0 ? (int)WritebackStream.Window + 5 : sizes.Next(1, 3 << 20);
                    n = Math.Min(n, payload.Length - off);
                    if (n == 1) s.WriteByte(payload[off]); else s.Write(payload, off, n);
                    off += n;
                }
                positionSeen = s.Position;
            }, payload.Length, directIo: false); // the buffered path (AtomicFile's default is O_DIRECT where the filesystem has it)
            Assert.Equal(payload.Length, positionSeen);
            Assert.True(payload.AsSpan().SequenceEqual(File.ReadAllBytes(path)), "file content differs from what was written");
        }
        finally { Directory.Delete(dir, true); }
    }
}
