using System.Text.Json;

namespace Minimind.Checkpoint.Tests;

/// <summary>What tools/pth/torch_dump.py reports for a file torch.load()ed, compared with the object tree we read or wrote.</summary>
internal static class TorchView
{
    /// <summary>Asserts that torch's view of <paramref name="file"/> (kinds, dict keys, scalars, tensor dtype/shape/stride/offset/bytes
    /// and which tensors share a storage) equals <paramref name="root"/>.</summary>
    public static void AssertSame(string file, object root, JsonElement torchView)
    {
        var ours = ObjectTreeFlattener.Flatten(root);
        Assert.Equal(torchView.EnumerateObject().Select(p => p.Name).OrderBy(x => x, StringComparer.Ordinal), ours.Keys.OrderBy(x => x, StringComparer.Ordinal));
        var groups = new Dictionary<int, TorchStorage>();
        foreach (var p in torchView.EnumerateObject())
        {
            var e = p.Value; var n = ours[p.Name];
            string where = $"{file}:{p.Name}";
            string kind = e.GetProperty("kind").GetString()!;
            // Our PickleDicts are plain dicts unless marked ordered; torch reports the same distinction.
            Assert.True(kind == n.Kind, $"{where}: torch sees {kind}, we wrote {n.Kind}");
            switch (kind)
            {
                case "dict" or "odict": Assert.Equal(e.GetProperty("keys").EnumerateArray().Select(k => k.GetString()!).ToList(), (List<string>)n.Value!); break;
                case "list" or "tuple": Assert.Equal(e.GetProperty("len").GetInt32(), (int)n.Value!); break;
                case "int" or "str": Assert.Equal(e.GetProperty("value").GetString(), (string)n.Value!); break;
                case "bool": Assert.Equal(e.GetProperty("value").GetBoolean(), (bool)n.Value!); break;
                case "float": Assert.Equal(e.GetProperty("bits").GetString(), (string)n.Value!); break;
                case "tensor":
                    {
                        var t = (TorchTensor)n.Value!;
                        Assert.True(e.GetProperty("dtype").GetString() == t.DType.ShortName(), where);
                        Assert.Equal(e.GetProperty("shape").EnumerateArray().Select(x => x.GetInt32()), t.Shape);
                        Assert.Equal(e.GetProperty("stride").EnumerateArray().Select(x => x.GetInt64()), t.Stride);
                        Assert.Equal(e.GetProperty("offset").GetInt64(), t.StorageOffset);
                        Assert.True(e.GetProperty("bytes").GetString() == Convert.ToHexStringLower(t.ToContiguousBytes()), where + ": bytes differ");
                        if (e.GetProperty("storage_group").ValueKind == JsonValueKind.Number)
                        {
                            int g = e.GetProperty("storage_group").GetInt32();
                            if (groups.TryGetValue(g, out var s)) Assert.True(ReferenceEquals(s, t.Storage), where + ": torch sees a tie we did not write");
                            else { Assert.DoesNotContain(t.Storage, groups.Values); groups[g] = t.Storage; }
                        }
                        break;
                    }
            }
        }
    }
}
