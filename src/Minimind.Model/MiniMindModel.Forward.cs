using Minimind.Kernels;
using Minimind.Model.Generation;
using Minimind.Model.Layers;

namespace Minimind.Model;

public sealed partial class MiniMindModel
{
    // Embedding → blocks → final norm, over the ids already in _ids. Row b's tokens sit at positions _starts[b] + t
    // (0 + t without starts). With a decode cache the blocks append k/v to its pages and attend over them (the decode
    // path: batch sequences of seqLen new tokens each); without one, causal attention within each row (training).
    // Each residual add is fused with the norm that reads its sum (AddRmsNorm), so only the first norm runs alone.
    private void Forward(int batch, int seqLen, PagedKvCache? cache = null, KvPages pages = default)
    {
        var c = Config;
        int rows = batch * seqLen;
        Backend.Embedding(_residual[0], _ids, W(_layout.Embedding), new(rows, c.Dim));
        var (y, rstd, w) = NormAfter(-1);
        Backend.RmsNorm(y, rstd, _residual[0], w, new(rows, c.Dim), c.NormEps);
        for (int l = 0; l < c.NLayers; l++) BlockForward(l, batch, seqLen, cache, pages);
    }

    // The norm that reads block l's output (the next block's attention_norm, or the final norm after the last block).
    private (Tensor Y, Tensor Rstd, Tensor Weight) NormAfter(int l) => l + 1 < Config.NLayers
        ? (_acts[l + 1].Ln1, _acts[l + 1].Rstd1, W(_layout.Layers[l + 1].AttnNorm))
        : (_lnF, _rstdF, W(_layout.FinalNorm));

    private void BlockForward(int l, int batch, int seqLen, PagedKvCache? cache, KvPages pages)
    {
        var c = Config;
        var a = _acts[l];
        var p = _layout.Layers[l];
        int rows = batch * seqLen, d = c.Dim;
        var x = Rows(_residual[l], rows, d);
        // a.Ln1 = attention_norm(x) was written by the previous block's last AddRmsNorm (or by Forward for block 0).
        AttentionForward(l, batch, seqLen, cache, pages);
        Backend.MatMul(Rows(_tmp, rows, d), a.Att, W(p.Wo), new(rows, d, c.NHeads * c.HeadDim, Precision));
        _lora?.Forward(l, Lora.LoraSlot.O, Rows(_tmp, rows, d), a.Att, rows, Precision);
        Backend.AddRmsNorm(a.XMid, a.Ln2, a.Rstd2, x, Rows(_tmp, rows, d), W(p.FfnNorm), new(rows, d), c.NormEps);
        if (c.UseMoe) MoeForward(l, rows);
        else
        {
            var ffn = p.Ffn!.Value;
            FeedForward.Forward(Backend, Rows(_tmp, rows, d), Rows(a.Ln2, rows, d), W(ffn.Gate), W(ffn.Down), W(ffn.Up),
                FeedForward.Rows(a.Dense, 0, rows, c.EffectiveHiddenDim), rows, d, c.EffectiveHiddenDim, accumulate: false, Precision);
        }
        var (y, rstd, w) = NormAfter(l);
        Backend.AddRmsNorm(_residual[l + 1], y, rstd, a.XMid, Rows(_tmp, rows, d), w, new(rows, d), c.NormEps);
    }

    // q/k/v projections, optional per-head q/k RMSNorm (minimind-3), RoPE, causal GQA attention.
    private void AttentionForward(int l, int batch, int seqLen, PagedKvCache? cache, KvPages pages)
    {
        var c = Config;
        var a = _acts[l];
        var p = _layout.Layers[l];
        int rows = batch * seqLen, d = c.Dim, hd = c.HeadDim, hq = c.NHeads * hd, hk = c.NKvHeads * hd;
        var q = c.QkNorm ? a.QRaw : a.Q;
        var k = c.QkNorm ? a.KRaw : a.K;
        Backend.MatMul(q, a.Ln1, W(p.Wq), new(rows, hq, d, Precision));
        Backend.MatMul(k, a.Ln1, W(p.Wk), new(rows, hk, d, Precision));
        Backend.MatMul(a.V, a.Ln1, W(p.Wv), new(rows, hk, d, Precision));
        if (_lora is not null)
        {
            _lora.Forward(l, Lora.LoraSlot.Q, q, a.Ln1, rows, Precision);
            _lora.Forward(l, Lora.LoraSlot.K, k, a.Ln1, rows, Precision);
            _lora.Forward(l, Lora.LoraSlot.V, a.V, a.Ln1, rows, Precision);
        }
        RopeShape qs = new(batch, seqLen, c.NHeads, hd, 0, c.Rope), ks = new(batch, seqLen, c.NKvHeads, hd, 0, c.Rope);
        if (c.QkNorm)
        {
            // q_norm/k_norm over each head, then RoPE, one fused launch each.
            Backend.RmsNormRope(a.Q, a.RstdQ, a.QRaw, W(p.QNorm!), _cos, _sin, qs, c.NormEps, _starts);
            Backend.RmsNormRope(a.K, a.RstdK, a.KRaw, W(p.KNorm!), _cos, _sin, ks, c.NormEps, _starts);
        }
        else
        {
            Backend.Rope(a.Q, _cos, _sin, qs, _starts);
            Backend.Rope(a.K, _cos, _sin, ks, _starts);
        }
        if (cache is not null)
        {
            var (kc, vc) = cache.Layer(l);
            int capacity = pages.PagesPerSeq * pages.PageSize;
            Backend.KvCacheAppend(kc, vc, a.K, a.V, new(batch, seqLen, 0, capacity, c.NKvHeads, c.NKvHeads, hd, Precision), pages);
            Backend.AttentionDecode(a.Att, a.Q, kc, vc, new(batch, seqLen, 0, capacity, c.NHeads, c.NKvHeads, hd, Precision), pages);
        }
        else Backend.Attention(a.Att, a.Lse, a.Q, a.K, a.V, new(batch, seqLen, c.NHeads, c.NKvHeads, hd, Precision));
    }

    // Router softmax → top-k → group tokens by expert → per-expert SwiGLU → weighted combine, + shared experts.
    // Output goes to _tmp.
    private void MoeForward(int l, int rows)
    {
        var c = Config;
        var a = _acts[l];
        var p = _layout.Layers[l];
        int d = c.Dim, f = c.EffectiveHiddenDim, e = c.NExperts, k = c.TopK;
        var ln2 = Rows(a.Ln2, rows, d);
        var routerLogits = _s.DRouter; // scratch: the logits are not needed by the backward
        Backend.MatMul(routerLogits, ln2, W(p.Router!), new(rows, e, d, Precision));
        Backend.Softmax(a.Probs, routerLogits, new(rows, e));
        Backend.TopK(a.TopW, a.TopIdx, a.Probs, new(rows, e, k), c.RenormalizeTopK);
        a.Counts = Backend.MoeRoute(a.Perm, a.InvPerm, a.TopIdx, new(rows * k, e));
        Backend.MoeGather(a.Xs, ln2, a.Perm, new(rows, k, d));
        int off = 0;
        for (int ex = 0; ex < e; ex++)
        {
            int cnt = a.Counts[ex];
            if (cnt == 0) continue;
            var w = p.Experts[ex];
            FeedForward.Forward(Backend, a.ExpertOut.Slice((long)off * d, (long)cnt * d), a.Xs.Slice((long)off * d, (long)cnt * d),
                W(w.Gate), W(w.Down), W(w.Up), FeedForward.Rows(a.Experts, off, cnt, f), cnt, d, f, accumulate: false, Precision);
            off += cnt;
        }
        var y = Rows(_tmp, rows, d);
        Backend.MoeCombine(y, a.ExpertOut, a.TopW, a.InvPerm, new(rows, k, d), WriteMode.Overwrite);
        for (int s = 0; s < p.Shared.Length; s++)
        {
            var w = p.Shared[s];
            FeedForward.Forward(Backend, y, ln2, W(w.Gate), W(w.Down), W(w.Up), FeedForward.Rows(a.Shared[s], 0, rows, f),
                rows, d, f, accumulate: true, Precision);
        }
    }
}
