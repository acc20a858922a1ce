using Minimind.Kernels;
using Minimind.Model.Layers;

namespace Minimind.Model;

public sealed partial class MiniMindModel
{
    // Backward of the whole model after Forward + HeadLoss (logits hold the forward's logits and
    // _rowScale the per-row loss weights), or, with logitsAreGradient, after the caller replaced the
    // logits by ∂loss/∂logits. Adds into Gradients; returns the summed MoE aux loss.
    private float Backward(int batch, int seqLen, float lossScale, bool logitsAreGradient = false)
    {
        var c = Config;
        int rows = batch * seqLen, d = c.Dim, v = c.VocabSize;
        var dLogits = Rows(_logits, rows, v);
        if (!logitsAreGradient) Backend.CrossEntropyBackward(dLogits, dLogits, _targets, _rowScale, rows, v, Batch.IgnoreIndex);
        var dLn = Rows(_s.DLn, rows, d);
        var dx = Rows(_s.DX, rows, d);
        Backend.Fill(dLn, 0f);
        Backend.MatMulBackwardInput(dLn, dLogits, W(_layout.Head), rows, v, d);
        Backend.MatMulBackwardWeight(G(_layout.Head), dLogits, Rows(_lnF, rows, d), rows, v, d);
        Backend.Fill(dx, 0f);
        Backend.RmsNormBackward(dx, G(_layout.FinalNorm), dLn, _residual[c.NLayers], W(_layout.FinalNorm), _rstdF, rows, d);
        float aux = 0;
        for (int l = c.NLayers - 1; l >= 0; l--) aux += BlockBackward(l, batch, seqLen, lossScale);
        Backend.EmbeddingBackward(G(_layout.Embedding), dx, _ids, rows, d);
        return aux;
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
        // out = xMid + ffn(ffn_norm(xMid))
        Backend.Fill(dLn, 0f);
        float aux = 0;
        if (c.UseMoe) aux = MoeBackward(l, batch, seqLen, lossScale);
        else
        {
            var w = p.Ffn!.Value;
            FeedForward.Backward(Backend, dLn, G(w.Gate), G(w.Down), G(w.Up), dx, Rows(a.Ln2, rows, d), W(w.Gate), W(w.Down), W(w.Up),
                FeedForward.Rows(a.Dense, 0, rows, f), FfnScratchRows(rows), rows, d, f);
        }
        Backend.RmsNormBackward(dx, G(p.FfnNorm), dLn, a.XMid, W(p.FfnNorm), a.Rstd2, rows, d);
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
        Backend.Fill(dAtt, 0f);
        Backend.MatMulBackwardInput(dAtt, dx, W(p.Wo), rows, d, hq);
        Backend.MatMulBackwardWeight(G(p.Wo), dx, a.Att, rows, d, hq);
        _lora?.Backward(l, Lora.LoraSlot.O, dx, a.Att, dAtt, rows);
        var dq = Rows(_s.DQ, rows, hq);
        var dk = Rows(_s.DK, rows, hk);
        var dv = Rows(_s.DV, rows, hk);
        Backend.Fill(dq, 0f); Backend.Fill(dk, 0f); Backend.Fill(dv, 0f);
        Backend.AttentionBackward(dq, dk, dv, dAtt, a.Q, a.K, a.V, a.Att, a.Lse, batch, seqLen, c.NHeads, c.NKvHeads, hd);
        Backend.RopeBackward(dq, _cos, _sin, batch, seqLen, c.NHeads, hd, 0, c.Rope);
        Backend.RopeBackward(dk, _cos, _sin, batch, seqLen, c.NKvHeads, hd, 0, c.Rope);
        if (c.QkNorm)
        {
            var dqRaw = Rows(_s.DQRaw, rows, hq);
            var dkRaw = Rows(_s.DKRaw, rows, hk);
            Backend.Fill(dqRaw, 0f); Backend.Fill(dkRaw, 0f);
            Backend.RmsNormBackward(dqRaw, G(p.QNorm!), dq, a.QRaw, W(p.QNorm!), a.RstdQ, rows * c.NHeads, hd);
            Backend.RmsNormBackward(dkRaw, G(p.KNorm!), dk, a.KRaw, W(p.KNorm!), a.RstdK, rows * c.NKvHeads, hd);
            dq = dqRaw; dk = dkRaw;
        }
        var dLn = Rows(_s.DLn, rows, d);
        var ln1 = Rows(a.Ln1, rows, d);
        Backend.Fill(dLn, 0f);
        Backend.MatMulBackwardInput(dLn, dq, W(p.Wq), rows, hq, d);
        Backend.MatMulBackwardWeight(G(p.Wq), dq, ln1, rows, hq, d);
        Backend.MatMulBackwardInput(dLn, dk, W(p.Wk), rows, hk, d);
        Backend.MatMulBackwardWeight(G(p.Wk), dk, ln1, rows, hk, d);
        Backend.MatMulBackwardInput(dLn, dv, W(p.Wv), rows, hk, d);
        Backend.MatMulBackwardWeight(G(p.Wv), dv, ln1, rows, hk, d);
        if (_lora is not null)
        {
            _lora.Backward(l, Lora.LoraSlot.Q, dq, ln1, dLn, rows);
            _lora.Backward(l, Lora.LoraSlot.K, dk, ln1, dLn, rows);
            _lora.Backward(l, Lora.LoraSlot.V, dv, ln1, dLn, rows);
        }
        Backend.RmsNormBackward(dx, G(p.AttnNorm), dLn, _residual[l], W(p.AttnNorm), a.Rstd1, rows, d);
    }

    // dy = _s.DX; adds ∂/∂ln2 into _s.DLn; returns the layer's aux loss (its gradient included).
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
                FeedForward.Rows(a.Shared[s], 0, rows, f), FfnScratchRows(rows), rows, d, f);
        }
        var dOut = Rows(_s.DExpertOut, nk, d);
        var dW = Rows(_s.DWeights, nk, 1);
        Backend.Fill(dOut, 0f); Backend.Fill(dW, 0f);
        Backend.MoeCombineBackward(dOut, dW, dy, a.ExpertOut, a.TopW, a.InvPerm, rows, k, d);
        var dXs = Rows(_s.DXs, nk, d);
        Backend.Fill(dXs, 0f);
        int off = 0;
        for (int ex = 0; ex < e; ex++)
        {
            int cnt = a.Counts[ex];
            if (cnt == 0) continue;
            var w = p.Experts[ex];
            FeedForward.Backward(Backend, dXs.Slice((long)off * d, (long)cnt * d), G(w.Gate), G(w.Down), G(w.Up),
                dOut.Slice((long)off * d, (long)cnt * d), a.Xs.Slice((long)off * d, (long)cnt * d), W(w.Gate), W(w.Down), W(w.Up),
                FeedForward.Rows(a.Experts, off, cnt, f), FfnScratchRows(cnt), cnt, d, f);
            off += cnt;
        }
        Backend.MoeGatherBackward(dLn, dXs, a.InvPerm, rows, k, d);
        var dProbs = Rows(_s.DProbs, rows, e);
        Backend.Fill(dProbs, 0f);
        Backend.TopKBackward(dProbs, dW, a.Probs, a.TopIdx, rows, e, k, c.RenormalizeTopK);
        float aux = 0;
        if (c.AuxKind != AuxLossKind.None && c.AuxAlpha != 0)
            aux = Backend.MoeAuxLoss(dProbs, a.Probs, a.TopIdx, batch, seqLen, e, k, c.AuxAlpha, c.AuxKind, lossScale);
        var dRouter = Rows(_s.DRouter, rows, e);
        Backend.Fill(dRouter, 0f);
        Backend.SoftmaxBackward(dRouter, dProbs, a.Probs, rows, e);
        Backend.MatMulBackwardInput(dLn, dRouter, W(p.Router!), rows, e, d);
        Backend.MatMulBackwardWeight(G(p.Router!), dRouter, ln2, rows, e, d);
        return aux;
    }
}
