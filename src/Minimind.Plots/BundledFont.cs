using ScottPlot;
using SkiaSharp;

namespace Minimind.Plots;

/// <summary>
/// DejaVu Sans, shipped inside this assembly (Fonts/DejaVuSans.ttf, licence beside it) and put first in ScottPlot's
/// font resolvers: without it a machine with no fonts installed (a GPU box, a slim container) renders charts with no
/// text at all, and with it every machine renders the same glyphs. Regular weight only: bold text is drawn regular.
/// </summary>
internal sealed class BundledFont : IFontResolver
{
    private static readonly Lazy<SKTypeface> Typeface = new(() =>
    {
        using var s = typeof(BundledFont).Assembly.GetManifestResourceStream("DejaVuSans.ttf")
            ?? throw new InvalidOperationException("Minimind.Plots was built without its DejaVuSans.ttf resource");
        return SKTypeface.FromStream(s) ?? throw new InvalidOperationException("SkiaSharp could not read the bundled DejaVuSans.ttf");
    });

    private static readonly object Gate = new();
    private static bool _registered;

    /// <summary>Puts the bundled font first in ScottPlot's resolvers (once per process).</summary>
    public static void Register()
    {
        lock (Gate)
        {
            if (_registered) return;
            Fonts.FontResolvers.Insert(0, new BundledFont());
            _registered = true;
        }
    }

    /// <inheritdoc/>
    public SKTypeface? CreateTypeface(string fontName, FontWeight weight, FontSlant slant, FontSpacing spacing) =>
        fontName == ChartStyle.FontName ? Typeface.Value : null;

    /// <inheritdoc/>
    public SKTypeface? CreateTypeface(string fontName, bool bold, bool italic) =>
        fontName == ChartStyle.FontName ? Typeface.Value : null;
}
