using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using Minimind.Training;

namespace Minimind.Training.Tests;

public class PngEncoderTests
{
    // Bitwise CRC-32 (poly 0xEDB88320), written here independently of the encoder's library CRC.
    private static uint Crc(ReadOnlySpan<byte> data)
    {
        uint c = 0xFFFFFFFF;
        foreach (var b in data)
        {
            c ^= b;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320 ^ (c >> 1) : c >> 1;
        }
        return ~c;
    }

    /// <summary>A strict little decoder for what the encoder promises (8-bit RGB, filter 0): returns width, height, pixels.</summary>
    private static (int W, int H, byte[] Rgb) Decode(byte[] png)
    {
        Assert.Equal(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }, png[..8]);
        int pos = 8, w = 0, h = 0;
        var idat = new MemoryStream();
        var types = new List<string>();
        while (pos < png.Length)
        {
            int len = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(pos));
            string type = Encoding.ASCII.GetString(png, pos + 4, 4);
            var body = png.AsSpan(pos + 8, len);
            uint crc = BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(pos + 8 + len));
            Assert.Equal(Crc(png.AsSpan(pos + 4, 4 + len)), crc);
            types.Add(type);
            if (type == "IHDR")
            {
                w = BinaryPrimitives.ReadInt32BigEndian(body); h = BinaryPrimitives.ReadInt32BigEndian(body[4..]);
                Assert.Equal(new byte[] { 8, 2, 0, 0, 0 }, body[8..13].ToArray());
            }
            if (type == "IDAT") idat.Write(body);
            pos += 12 + len;
        }
        Assert.Equal("IHDR", types[0]);
        Assert.Equal("IEND", types[^1]);
        idat.Position = 0;
        using var z = new ZLibStream(idat, CompressionMode.Decompress);
        var raw = new MemoryStream();
        z.CopyTo(raw);
        var r = raw.ToArray();
        Assert.Equal(h * (1 + w * 3), r.Length);
        var rgb = new byte[w * h * 3];
        for (int y = 0; y < h; y++)
        {
            Assert.Equal(0, r[y * (1 + w * 3)]);
            Array.Copy(r, y * (1 + w * 3) + 1, rgb, y * w * 3, w * 3);
        }
        return (w, h, rgb);
    }

    [Fact]
    public void EncodedImageDecodesToTheSamePixels()
    {
        var rnd = new Random(7);
        var px = new byte[5 * 3 * 3];
        rnd.NextBytes(px);
        var (w, h, rgb) = Decode(PngEncoder.Encode(5, 3, px));
        Assert.Equal((5, 3), (w, h));
        Assert.Equal(px, rgb);
    }

    [Fact]
    public void LossPlotDrawsTheCurve()
    {
        using var t = new TempDir();
        var losses = Enumerable.Range(0, 200).Select(i => (float)(8 * Math.Exp(-i / 50.0) + 1)).ToList();
        var plot = new LossPlot(400, 200).Draw(losses);
        var path = Path.Combine(t.Path, "loss.png");
        plot.Save(path);
        var (w, h, rgb) = Decode(File.ReadAllBytes(path));
        Assert.Equal((400, 200), (w, h));
        Assert.Equal(plot.Pixels, rgb);
        Assert.Equal((1 + 8 * (float)Math.Exp(-199 / 50.0), 9f), (plot.YRange.Min, plot.YRange.Max));
        // The first point (the max) is at the top-left of the plot area, the last (the min) at the bottom-right.
        bool Blue(int x, int y) { int i = (y * w + x) * 3; return rgb[i + 2] > rgb[i] + 40; }
        Assert.True(Blue(20, 20));
        Assert.True(Blue(380, 180));
        Assert.False(Blue(380, 20));
    }
}
