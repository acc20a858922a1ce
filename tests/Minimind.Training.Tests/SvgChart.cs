using System.Globalization;
using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace Minimind.Training.Tests;

/// <summary>A rendered SVG chart parsed as XML: its texts and the data lines drawn in it.</summary>
internal sealed partial class SvgChart
{
    private static readonly XNamespace Ns = "http://www.w3.org/2000/svg";

    /// <summary>Every text element's content, in document order.</summary>
    public IReadOnlyList<string> Texts { get; }
    /// <summary>Every polyline inside a clipped data area with at least <c>minVertices</c> vertices: colour, opacity, vertices.</summary>
    public IReadOnlyList<(string Stroke, double Opacity, IReadOnlyList<(double X, double Y)> Points)> Lines { get; }
    /// <summary>Width and height attributes of the root.</summary>
    public (int Width, int Height) Size { get; }

    public SvgChart(byte[] svg, int minVertices = 3)
    {
        var doc = XDocument.Parse(System.Text.Encoding.UTF8.GetString(svg));
        var root = doc.Root!;
        Assert.Equal(Ns + "svg", root.Name);
        Size = (int.Parse(root.Attribute("width")!.Value, CultureInfo.InvariantCulture), int.Parse(root.Attribute("height")!.Value, CultureInfo.InvariantCulture));
        Texts = root.Descendants(Ns + "text").Select(t => t.Value.Trim()).ToList();
        Lines = root.Descendants(Ns + "g").Where(g => g.Attribute("clip-path") is not null).SelectMany(g => g.Elements(Ns + "path"))
            .Select(p => (Stroke: p.Attribute("stroke")?.Value ?? "", Opacity: p.Attribute("stroke-opacity") is { } o ? double.Parse(o.Value, CultureInfo.InvariantCulture) : 1.0,
                Points: (IReadOnlyList<(double, double)>)Vertices(p.Attribute("d")?.Value ?? "")))
            .Where(l => l.Points.Count >= minVertices).ToList();
    }

    private static List<(double, double)> Vertices(string d) =>
        Vertex().Matches(d).Select(m => (double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture))).ToList();

    /// <summary>The opaque data lines drawn in <paramref name="hex"/> (matplotlib-style "#1f77b4", any case).</summary>
    public IReadOnlyList<IReadOnlyList<(double X, double Y)>> OpaqueLines(string hex) =>
        Lines.Where(l => string.Equals(l.Stroke, hex, StringComparison.OrdinalIgnoreCase) && l.Opacity == 1).Select(l => l.Points).ToList();

    [GeneratedRegex(@"[ML]\s*(-?[\d.]+(?:e-?\d+)?)[ ,](-?[\d.]+(?:e-?\d+)?)")]
    private static partial Regex Vertex();
}
