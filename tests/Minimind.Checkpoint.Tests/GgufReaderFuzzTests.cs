namespace Minimind.Checkpoint.Tests;

/// <summary>The GGUF header reader on hostile input.</summary>
public class GgufReaderFuzzTests
{
    [Fact]
    public void GgufMutationsOnlyEverRaisePthFormatException()
    {
        var dir = TestPaths.TempDir();
        try
        {
            var src = File.ReadAllBytes(GgufSamples.Small(dir));
            var rnd = new Random(1201);
            int ok = 0;
            for (int i = 0; i < 3000; i++)
            {
                var b = (byte[])src.Clone();
                for (int m = 1 + rnd.Next(3); m > 0; m--)
                {
                    int pos = rnd.Next(Math.Min(b.Length, 400));
                    if (rnd.Next(5) == 0) { Array.Resize(ref b, pos); break; }
                    b[pos] = rnd.Next(2) == 0 ? (byte)rnd.Next(256) : (byte)(b[pos] ^ (1 << rnd.Next(8)));
                }
                try { GgufFile.Parse(b, "fuzz.gguf"); ok++; }
                catch (PthFormatException) { }
            }
            Assert.InRange(ok, 1, 2999);
        }
        finally { Directory.Delete(dir, true); }
    }
}
