namespace Minimind.Training;

/// <summary>
/// Draws the loss curve (one point per optimizer step) into an RGB raster and saves it as PNG:
/// light grid, axes, the raw loss in light blue and a moving average in dark blue. No text: the
/// y range is printed by the trainer beside the file name.
/// </summary>
public sealed class LossPlot
{
    /// <summary>Image width in pixels.</summary>
    public int Width { get; }
    /// <summary>Image height in pixels.</summary>
    public int Height { get; }
    /// <summary>RGB bytes, row-major, top row first.</summary>
    public byte[] Pixels { get; }
    /// <summary>Plotted y range (min, max loss).</summary>
    public (float Min, float Max) YRange { get; private set; }

    private const int Margin = 20;

    /// <summary>Creates a white canvas.</summary>
    public LossPlot(int width = 800, int height = 400)
    {
        if (width < 2 * Margin + 10 || height < 2 * Margin + 10) throw new ArgumentException($"plot {width}x{height} is too small");
        Width = width; Height = height;
        Pixels = new byte[width * height * 3];
        Array.Fill(Pixels, (byte)255);
    }

    /// <summary>Renders <paramref name="losses"/> (non-finite values skipped).</summary>
    public LossPlot Draw(IReadOnlyList<float> losses)
    {
        int x0 = Margin, x1 = Width - Margin, y0 = Margin, y1 = Height - Margin;
        for (int i = 1; i < 5; i++)
        {
            int gy = y0 + (y1 - y0) * i / 5, gx = x0 + (x1 - x0) * i / 5;
            Line(x0, gy, x1, gy, 230, 230, 230);
            Line(gx, y0, gx, y1, 230, 230, 230);
        }
        Line(x0, y1, x1, y1, 0, 0, 0);
        Line(x0, y0, x0, y1, 0, 0, 0);
        float min = float.PositiveInfinity, max = float.NegativeInfinity;
        foreach (var l in losses) if (float.IsFinite(l)) { min = Math.Min(min, l); max = Math.Max(max, l); }
        if (!float.IsFinite(min)) return this;
        if (max - min < 1e-6f) { max += 0.5f; min -= 0.5f; }
        YRange = (min, max);
        int n = losses.Count;
        int Px(int i) => n == 1 ? (x0 + x1) / 2 : x0 + (int)Math.Round((double)i * (x1 - x0) / (n - 1));
        int Py(float v) => y1 - (int)Math.Round((v - min) / (double)(max - min) * (y1 - y0));
        Polyline(losses, Px, Py, 150, 190, 240);
        // Moving average over ~2% of the run smooths per-batch noise.
        int window = Math.Max(1, n / 50);
        var smooth = new float[n];
        double sum = 0; int cnt = 0;
        var q = new Queue<float>();
        for (int i = 0; i < n; i++)
        {
            if (float.IsFinite(losses[i])) { q.Enqueue(losses[i]); sum += losses[i]; cnt++; }
            while (q.Count > window) { sum -= q.Dequeue(); cnt--; }
            smooth[i] = cnt > 0 ? (float)(sum / cnt) : float.NaN;
        }
        Polyline(smooth, Px, Py, 20, 60, 160);
        return this;
    }

    /// <summary>Writes the PNG to <paramref name="path"/> atomically.</summary>
    public void Save(string path) => Minimind.Checkpoint.AtomicFile.Write(path, s => s.Write(PngEncoder.Encode(Width, Height, Pixels)));

    private void Polyline(IReadOnlyList<float> ys, Func<int, int> px, Func<float, int> py, byte r, byte g, byte b)
    {
        int? lx = null, ly = null;
        for (int i = 0; i < ys.Count; i++)
        {
            if (!float.IsFinite(ys[i])) { lx = null; continue; }
            int x = px(i), y = py(ys[i]);
            if (lx is null) Set(x, y, r, g, b); else Line(lx.Value, ly!.Value, x, y, r, g, b);
            lx = x; ly = y;
        }
    }

    // Bresenham.
    private void Line(int xa, int ya, int xb, int yb, byte r, byte g, byte b)
    {
        int dx = Math.Abs(xb - xa), sx = xa < xb ? 1 : -1, dy = -Math.Abs(yb - ya), sy = ya < yb ? 1 : -1, err = dx + dy;
        while (true)
        {
            Set(xa, ya, r, g, b);
            if (xa == xb && ya == yb) break;
            int e2 = 2 * err;
            if (e2 >= dy) { err += dy; xa += sx; }
            if (e2 <= dx) { err += dx; ya += sy; }
        }
    }

    /// <summary>Sets one pixel (ignored outside the canvas).</summary>
    public void Set(int x, int y, byte r, byte g, byte b)
    {
        if ((uint)x >= (uint)Width || (uint)y >= (uint)Height) return;
        int i = (y * Width + x) * 3;
        Pixels[i] = r; Pixels[i + 1] = g; Pixels[i + 2] = b;
    }
}
