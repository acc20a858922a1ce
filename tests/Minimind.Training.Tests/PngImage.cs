using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace Minimind.Training.Tests;

/// <summary>
/// A strict PNG decoder written for the tests, independent of SkiaSharp: signature, chunk CRCs (bitwise CRC-32),
/// IHDR, zlib-inflated IDAT, and the five row filters of the PNG spec undone, for 8-bit RGB or RGBA images.
/// </summary>
internal sealed record PngImage(int Width, int Height, int Channels, byte[] Pixels)
{
    /// <summary>(r, g, b) of pixel (x, y).</summary>
    public (byte R, byte G, byte B) At(int x, int y)
    {
        int i = (y * Width + x) * Channels;
        return (Pixels[i], Pixels[i + 1], Pixels[i + 2]);
    }

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

    public static PngImage Decode(byte[] png)
    {
        Assert.Equal(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }, png[..8]);
        int pos = 8, w = 0, h = 0, channels = 0;
        var idat = new MemoryStream();
        var types = new List<string>();
        while (pos < png.Length)
        {
            int len = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(pos));
            string type = Encoding.ASCII.GetString(png, pos + 4, 4);
            var body = png.AsSpan(pos + 8, len);
            Assert.Equal(Crc(png.AsSpan(pos + 4, 4 + len)), BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(pos + 8 + len)));
            types.Add(type);
            if (type == "IHDR")
            {
                w = BinaryPrimitives.ReadInt32BigEndian(body); h = BinaryPrimitives.ReadInt32BigEndian(body[4..]);
                Assert.Equal(8, body[8]); // bit depth
                channels = body[9] switch { 2 => 3, 6 => 4, var t => throw new Xunit.Sdk.XunitException($"PNG colour type {t} is not RGB/RGBA") };
                Assert.Equal(0, body[12]); // not interlaced
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
        int stride = w * channels;
        Assert.Equal(h * (1 + stride), r.Length);
        var px = new byte[h * stride];
        for (int y = 0; y < h; y++)
        {
            int filter = r[y * (1 + stride)];
            for (int i = 0; i < stride; i++)
            {
                int x = r[y * (1 + stride) + 1 + i];
                int a = i >= channels ? px[y * stride + i - channels] : 0;
                int b = y > 0 ? px[(y - 1) * stride + i] : 0;
                int c = i >= channels && y > 0 ? px[(y - 1) * stride + i - channels] : 0;
                px[y * stride + i] = (byte)(filter switch
                {
                    0 => x,
                    1 => x + a,
                    2 => x + b,
                    3 => x + (a + b) / 2,
                    4 => x + Paeth(a, b, c),
                    _ => throw new Xunit.Sdk.XunitException($"row {y}: PNG filter type {filter} does not exist"),
                });
            }
        }
        return new PngImage(w, h, channels, px);
    }

    private static int Paeth(int a, int b, int c)
    {
        int p = a + b - c, pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }
}
