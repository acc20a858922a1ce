using Minimind.Kernels;
using Minimind.Model.Layers;

namespace Minimind.Model;

public sealed partial class MiniMindModel
{
    // dW += dyᵀ·x for a base weight, skipped when the base is frozen (its gradient would never be applied).
    private void WeightGradient(Tensor dw, Tensor dy, Tensor x, GemmShape s)
    {
        if (!FrozenWeights) Backend.MatMulBackwardWeight(dw, dy, x, s, WriteMode.Accumulate);
    }

    // Backward of the whole model after Forward + HeadLoss (logits hold the forward's logits and
    // _rowScale the per-row loss weights), or, with logitsAreGradient, after the logits were replaced by
    // ∂loss/∂logits (by ForwardBackward's fused loss, or by the caller). Adds into Gradients; returns the summed MoE aux loss.
    // Activation gradients are overwritten by their first writer and accumulated only where several
    // branches meet (residual adds, q/k/v into dLn, experts into dLn), so no buffer needs a zeroing pass.
    private float Backward(int batch, int seqLen, float lossScale, bool logitsAreGradient = false)
    {
        RequireBackward();
        int rows = batch * seqLen, d = Config.Dim, v = Config.VocabSize;
        var dLogits = Rows(_logits, rows, v);
        if (!logitsAreGradient) Backend.CrossEntropyBackward(dLogits, dLogits, _targets, _rowScale, new(rows, v), Batch.IgnoreIndex);
        var dLn = Rows(_s.DLn, rows, d);
        Backend.MatMulBackwardInput(dLn, dLogits, W(_layout.Head), new(rows, v, d, Precision), WriteMode.Overwrite);
        WeightGradient(G(_layout.Head), dLogits, Rows(_lnF, rows, d), new(rows, v, d, Precision));
        return BodyBackward(batch, seqLen, lossScale);
    }

    // Backward from ∂loss/∂(final norm output) in _s.DLn down to the embedding; returns the summed MoE aux loss.
    private float BodyBackward(int batch, int seqLen, float lossScale)
    {
        RequireBackward();
        var c = Config;
        int rows = batch * seqLen, d = c.Dim;
        var dLn = Rows(_s.DLn, rows, d);
        var dx = Rows(_s.DX, rows, d);
        Backend.RmsNormBackward(dx, G(_layout.FinalNorm), dLn, _residual[c.NLayers], W(_layout.FinalNorm), _rstdF, new(rows, d), WriteMode.Overwrite);
        var layerAux = new float[c.NLayers];
        for (int l = c.NLayers - 1; l >= 0; l--) layerAux[l] = BlockBackward(l, batch, seqLen, lossScale);
        if (!FrozenWeights) Backend.EmbeddingBackward(G(_layout.Embedding), dx, _ids, new(rows, d));
        // Summed in layer order, as the forward-only loss (and MiniMind's sum over self.layers) does: the same bits.
        float aux = 0;
        foreach (var a in layerAux) aux += a;
        return aux;
    }

    private void RequireBackward()
    {
        if (ForwardOnly)
            throw new InvalidOperationException("this model was created forward-only (MiniMindModel.CreateForwardOnly, a frozen reference or teacher): it keeps no activations or gradients for a backward");
    }

    // _s.DX holds ∂loss/∂(block output) on entry and ∂loss/∂(block input) on exit.
    private float BlockBackward(int l, int batch, int seqLen, float lossScale)
    {
        var c = Config;
        var a = _acts[l];
        var p = _layout.Layers[l];
        int rows = batch * seqLen, d = c.Dim, f = c.EffectiveHiddenDim;
        var dx = Rows(_s.DX, rows, d);
        var dLn = Rows(_s.DLn, rows, d);
        // out = xMid + ffn(ffn_norm(xMid)); the FFN (or MoE) backward overwrites dLn.
        float aux = 0;
        if (c.UseMoe) aux = MoeBackward(l, batch, seqLen, lossScale);
        else
        {
            var w = p.Ffn!.Value;
            FeedForward.Backward(Backend, dLn, G(w.Gate), G(w.Down), G(w.Up), dx, Rows(a.Ln2, rows, d), W(w.Gate), W(w.Down), W(w.Up),
                FeedForward.Rows(a.Dense, 0, rows, f), FfnScratchRows(rows), rows, d, f, WriteMode.Overwrite, Precision, !FrozenWeights);
        }
        Backend.RmsNormBackward(dx, G(p.FfnNorm), dLn, a.XMid, W(p.FfnNorm), a.Rstd2, new(rows, d), WriteMode.Accumulate);
        // xMid = x + wo(attention(attention_norm(x)))
        AttentionBackward(l, batch, seqLen);
        return aux;
    }

    private FfnScratch FfnScratchRows(int rows)
    {
        int f = Config.EffectiveHiddenDim;
        return new FfnScratch(Rows(_s.Ffn.DGate, rows, f), Rows(_s.Ffn.DUp, rows, f), Rows(_s.Ffn.DH, rows, f));
    }

    private void AttentionBackward(int l, int batch, int seqLen)
    {
        var c = Config;
        var a = _acts[l];
        var p = _layout.Layers[l];
        int rows = batch * seqLen, d = c.Dim, hd = c.HeadDim, hq = c.NHeads * hd, hk = c.NKvHeads * hd;
        var dx = Rows(_s.DX, rows, d);
        var dAtt = Rows(_s.DAtt, rows, hq);
        Backend.MatMulBackwardInput(dAtt, dx, W(p.Wo), new(rows, d, hq, Precision), WriteMode.Overwrite);
        WeightGradient(G(p.Wo), dx, a.Att, new(rows, d, hq, Precision));
        _lora?.Backward(l, Lora.LoraSlot.O, dx, a.Att, dAtt, rows, Precision);
        var dq = Rows(_s.DQ, rows, hq);
        var dk = Rows(_s.DK, rows, hk);
        var dv = Rows(_s.DV, rows, hk);
        Backend.AttentionBackward(new(dq, dk, dv), dAtt, new(a.Q, a.K, a.V, a.Att, a.Lse), new(batch, seqLen, c.NHeads, c.NKvHeads, hd, Precision),
            WriteMode.Overwrite);
        RopeShape qs = new(batch, seqLen, c.NHeads, hd, 0, c.Rope), ks = new(batch, seqLen, c.NKvHeads, hd, 0, c.Rope);
        if (c.QkNorm)
        {
            // RoPE backward then q_norm/k_norm backward, fused (RmsNormRope's backward).
            var dqRaw = Rows(_s.DQRaw, rows, hq);
            var dkRaw = Rows(_s.DKRaw, rows, hk);
            Backend.RopeRmsNormBackward(new(dqRaw, G(p.QNorm!)), dq, new(a.QRaw, W(p.QNorm!), a.RstdQ), _cos, _sin, qs, WriteMode.Overwrite, _starts);
            Backend.RopeRmsNormBackward(new(dkRaw, G(p.KNorm!)), dk, new(a.KRaw, W(p.KNorm!), a.RstdK), _cos, _sin, ks, WriteMode.Overwrite, _starts);
            dq = dqRaw; dk = dkRaw;
        }
        else
        {
            Backend.RopeBackward(dq, _cos, _sin, qs, _starts);
            Backend.RopeBackward(dk, _cos, _sin, ks, _starts);
        }
        var dLn = Rows(_s.DLn, rows, d);
        var ln1 = Rows(a.Ln1, rows, d);
        Backend.MatMulBackwardInput(dLn, dq, W(p.Wq), new(rows, hq, d, Precision), WriteMode.Overwrite);
        WeightGradient(G(p.Wq), dq, ln1, new(rows, hq, d, Precision));
        Backend.MatMulBackwardInput(dLn, dk, W(p.Wk), new(rows, hk, d, Precision), WriteMode.Accumulate);
        WeightGradient(G(p.Wk), dk, ln1, new(rows, hk, d, Precision));
        Backend.MatMulBackwardInput(dLn, dv, W(p.Wv), new(rows, hk, d, Precision), WriteMode.Accumulate);
        WeightGradient(G(p.Wv), dv, ln1, new(rows, hk, d, Precision));
        if (_lora is not null)
        {
            _lora.Backward(l, Lora.LoraSlot.Q, dq, ln1, dLn, rows, Precision);
            _lora.Backward(l, Lora.LoraSlot.K, dk, ln1, dLn, rows, Precision);
            _lora.Backward(l, Lora.LoraSlot.V, dv, ln1, dLn, rows, Precision);
        }
        Backend.RmsNormBackward(dx, G(p.AttnNorm), dLn, _residual[l], W(p.AttnNorm), a.Rstd1, new(rows, d), WriteMode.Accumulate);
    }

    // dy = _s.DX; writes ∂/∂ln2 into _s.DLn (the first branch overwrites); returns the layer's aux loss (its gradient included).
    private float MoeBackward(int l, int batch, int seqLen, float lossScale)
    {
        var c = Config;
        var a = _acts[l];
        var p = _layout.Layers[l];
        int rows = batch * seqLen, d = c.Dim, f = c.EffectiveHiddenDim, e = c.NExperts, k = c.TopK, nk = rows * k;
        var dy = Rows(_s.DX, rows, d);
        var dLn = Rows(_s.DLn, rows, d);
        var ln2 = Rows(a.Ln2, rows, d);
        for (int s = 0; s < p.Shared.Length; s++)
        {
            var w = p.Shared[s];
            FeedForward.Backward(Backend, dLn, G(w.Gate), G(w.Down), G(w.Up), dy, ln2, W(w.Gate), W(w.Down), W(w.Up),
                FeedForward.Rows(a.Shared[s], 0, rows, f), FfnScratchRows(rows), rows, d, f, s == 0 ? WriteMode.Overwrite : WriteMode.Accumulate, Precision, !FrozenWeights);
        }
        var dOut = Rows(_s.DExpertOut, nk, d);
        var dW = Rows(_s.DWeights, nk, 1);
        Backend.MoeCombineBackward(dOut, dW, dy, a.ExpertOut, a.TopW, a.InvPerm, new(rows, k, d), WriteMode.Overwrite);
        // Each expert overwrites its own rows of dXs; the experts' counts sum to nk, so every row is written.
        var dXs = Rows(_s.DXs, nk, d);
        int off = 0;
        for (int ex = 0; ex < e; ex++)
        {
            int cnt = a.Counts[ex];
            if (cnt == 0) continue;
            var w = p.Experts[ex];
            FeedForward.Backward(Backend, dXs.Slice((long)off * d, (long)cnt * d), G(w.Gate), G(w.Down), G(w.Up),
                dOut.Slice((long)off * d, (long)cnt * d), a.Xs.Slice((long)off * d, (long)cnt * d), W(w.Gate), W(w.Down), W(w.Up),
                FeedForward.Rows(a.Experts, off, cnt, f), FfnScratchRows(cnt), cnt, d, f, WriteMode.Overwrite, Precision, !FrozenWeights);
            off += cnt;
        }
        Backend.MoeGatherBackward(dLn, dXs, a.InvPerm, new(rows, k, d), p.Shared.Length == 0 ? WriteMode.Overwrite : WriteMode.Accumulate);
        var dProbs = Rows(_s.DProbs, rows, e);
        Backend.TopKBackward(dProbs, dW, a.Probs, a.TopIdx, new(rows, e, k), c.RenormalizeTopK, WriteMode.Overwrite);
        float aux = 0;
        if (c.AuxKind != AuxLossKind.None && c.AuxAlpha != 0)
            aux = Backend.MoeAuxLoss(dProbs, a.Probs, a.TopIdx, new(batch, seqLen, e, k), c.AuxAlpha, c.AuxKind, lossScale);
        var dRouter = Rows(_s.DRouter, rows, e);
        Backend.SoftmaxBackward(dRouter, dProbs, a.Probs, new(rows, e), WriteMode.Overwrite);
        Backend.MatMulBackwardInput(dLn, dRouter, W(p.Router!), new(rows, e, d, Precision), WriteMode.Accumulate);
        WeightGradient(G(p.Router!), dRouter, ln2, new(rows, e, d, Precision));
        return aux;
    }
}
