"""PyTorch replays of MiniMind's RL losses (train_grpo.py, train_agent.py, train_ppo.py at the mirror's commit),
line for line on given per-token log-probs, rewards and values, with autograd giving the gradients the C# losses
must produce: d loss / d (per-token log-prob of the policy) and, for PPO, d loss / d (critic value).

Each replay is checked against MiniMind's own training function (`check_*` below, used by make_fixtures.py): the
real grpo_train_epoch / rl_train_epoch / ppo_train_epoch run one step on mocks whose logits (and values) are leaf
tensors, and the gradient MiniMind's code leaves on them must equal the replay's gradient pushed through
log_softmax. Run with /usr/bin/python3 (torch 1.13).
"""
import contextlib
import types

import torch
import torch.nn.functional as F


# ---------------------------------------------------------------------------------------------------- replays

def group_advantages(rewards, num_generations):
    grouped = rewards.view(-1, num_generations)
    mean_r = grouped.mean(dim=1).repeat_interleave(num_generations)
    std_r = grouped.std(dim=1, unbiased=False).repeat_interleave(num_generations)
    return (rewards - mean_r) / (std_r + 1e-4)


def completion_mask(completion_ids, pad_mask, eos_id):
    """train_grpo.py: up to and including the first eos among the non-pad completion tokens (all when none)."""
    pad_mask = pad_mask.bool()
    is_eos = (completion_ids == eos_id) & pad_mask
    eos_idx = torch.full((is_eos.size(0),), is_eos.size(1) - 1, dtype=torch.long)
    eos_idx[is_eos.any(dim=1)] = is_eos.int().argmax(dim=1)[is_eos.any(dim=1)]
    return ((torch.arange(is_eos.size(1)).expand(is_eos.size(0), -1) <= eos_idx.unsqueeze(1)) & pad_mask).int()


def policy_loss(per_token_logps, old, ref, advantages, mask, loss_type, beta, epsilon, epsilon_high, skip_empty_rows):
    """train_grpo.py's loss (skip_empty_rows=False) and train_agent.py's (True: rows without a token leave the mean)."""
    kl_div = ref - per_token_logps
    per_token_kl = torch.exp(kl_div) - kl_div - 1
    ratio = torch.exp(per_token_logps - old)
    if loss_type == "cispo":
        clamped_ratio = torch.clamp(ratio, max=epsilon_high).detach()
        per_token_loss = -(clamped_ratio * advantages.unsqueeze(1) * per_token_logps - beta * per_token_kl)
    else:
        clipped_ratio = torch.clamp(ratio, 1 - epsilon, 1 + epsilon)
        per_token_loss1 = ratio * advantages.unsqueeze(1)
        per_token_loss2 = clipped_ratio * advantages.unsqueeze(1)
        per_token_loss = -(torch.min(per_token_loss1, per_token_loss2) - beta * per_token_kl)
    if skip_empty_rows:
        token_counts = mask.sum(dim=1)
        valid_rows = token_counts > 0
        return (((per_token_loss * mask).sum(dim=1)[valid_rows] / token_counts[valid_rows].clamp(min=1)).mean()
                if valid_rows.any() else per_token_loss.sum() * 0.0)
    return ((per_token_loss * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1)).mean()


def grpo_replay(logp, old, ref, rewards, completion_ids, pad_mask, eos_id, num_generations, loss_type, beta, epsilon, epsilon_high):
    """(loss, d loss / d logp, advantages, mask, logged KL) of one GRPO/CISPO step."""
    x = logp.clone().requires_grad_(True)
    adv = group_advantages(rewards, num_generations)
    mask = completion_mask(completion_ids, pad_mask, eos_id)
    loss = policy_loss(x, old, ref, adv, mask, loss_type, beta, epsilon, epsilon_high, False)
    loss.backward()
    kl_logged = ((ref - logp) * mask).sum().item() / max(mask.sum().item(), 1)
    return loss.detach(), x.grad, adv, mask, kl_logged


def agent_pack(prompt_ids, response_ids, response_masks, old_logps, max_total_len):
    """train_agent.py's packing of one sample: ids, loss mask, prompt_len and old log-probs (left-truncated)."""
    ids = prompt_ids + response_ids
    mask = [0] * len(prompt_ids) + response_masks
    old = [0.0] * max(len(prompt_ids) - 1, 0) + old_logps
    if len(ids) > max_total_len:
        ids = ids[-max_total_len:]
        mask = mask[-max_total_len:]
        old = old[-(len(ids) - 1):]
    prompt_len = next((i for i, v in enumerate(mask) if v == 1), len(mask))
    return ids, mask, prompt_len, old


def agent_replay(packed, logp, ref, rewards, pad_id, eos_id, num_generations, loss_type, beta, epsilon, epsilon_high):
    """train_agent.py's step on packed samples; logp/ref are [N, L-1] over every position of the padded rows."""
    max_len = max(len(ids) for ids, _, _, _ in packed)
    input_ids = torch.tensor([ids + [pad_id] * (max_len - len(ids)) for ids, _, _, _ in packed])
    full_response_masks = torch.tensor([m + [0] * (max_len - len(m)) for _, m, _, _ in packed], dtype=torch.float32)
    old = torch.tensor([o + [0.0] * ((max_len - 1) - len(o)) for _, _, _, o in packed], dtype=torch.float32)
    x = logp.clone().requires_grad_(True)
    adv = group_advantages(rewards, num_generations)
    comp = full_response_masks[:, 1:]
    is_eos = (input_ids[:, 1:] == eos_id) & comp.bool()
    eos_idx = torch.full((comp.size(0),), comp.size(1) - 1, dtype=torch.long)
    has_eos = is_eos.any(dim=1)
    eos_idx[has_eos] = is_eos.int().argmax(dim=1)[has_eos]
    pos = torch.arange(comp.size(1)).unsqueeze(0)
    comp = comp * (pos <= eos_idx.unsqueeze(1)).float()
    loss = policy_loss(x, old, ref, adv, comp, loss_type, beta, epsilon, epsilon_high, True)
    loss.backward()
    return loss.detach(), x.grad, adv, comp, input_ids, old


def ppo_prepare(completion_ids, pad_mask, eos_id, old_values_seq_at_resp, rewards, gamma, lam):
    """train_ppo.py before the update: masks, response lengths, token rewards, GAE, returns, whitened advantages."""
    resp_pad_mask = pad_mask.bool()
    B, R = completion_ids.shape
    resp_idx = torch.arange(R).unsqueeze(0)
    resp_lengths = resp_pad_mask.sum(dim=1); valid_resp = resp_lengths > 0
    eos_mask = completion_ids.eq(eos_id) & resp_pad_mask
    has_eos = eos_mask.any(dim=1); eos_pos = torch.argmax(eos_mask.int(), dim=1)
    resp_lengths = torch.where(has_eos, eos_pos + 1, resp_lengths).long().clamp(min=1)
    resp_policy_mask = ((resp_idx < resp_lengths.unsqueeze(1)) & resp_pad_mask).float()
    resp_value_mask = resp_policy_mask.clone()
    old_resp_values = old_values_seq_at_resp * resp_value_mask
    token_rewards = torch.zeros(B, R)
    last_idx = resp_lengths - 1
    token_rewards[torch.arange(B)[valid_resp], last_idx[valid_resp]] += rewards[valid_resp]
    gen_len = old_resp_values.size(1); lastgaelam = torch.zeros(B); advs_rev = []
    for t in reversed(range(gen_len)):
        nv = old_resp_values[:, t + 1] if t < gen_len - 1 else 0.0
        delta = token_rewards[:, t] + gamma * nv - old_resp_values[:, t]
        lastgaelam = delta + gamma * lam * lastgaelam
        advs_rev.append(lastgaelam)
    advantages = torch.stack(advs_rev[::-1], dim=1)
    returns = advantages + old_resp_values
    adv_mean = (advantages * resp_policy_mask).sum() / resp_policy_mask.sum().clamp(min=1)
    adv_var = ((advantages - adv_mean) ** 2 * resp_policy_mask).sum() / resp_policy_mask.sum().clamp(min=1)
    advantages = (advantages - adv_mean) * torch.rsqrt(adv_var + 1e-8) * resp_policy_mask
    return dict(policy_mask=resp_policy_mask, value_mask=resp_value_mask, lengths=resp_lengths, old_values=old_resp_values,
                token_rewards=token_rewards, advantages=advantages, returns=returns)


def ppo_minibatch(mb_logp, mb_values, old_logp, ref_logp, advantages, returns, old_values, policy_mask, value_mask,
                  clip_epsilon, kl_coef, vf_coef, cliprange_value, early_stop_kl, stop_ppo, accumulation_steps=1):
    """One minibatch of train_ppo.py's update (rows already selected): the losses, metrics, and the gradients of the
    loss that is back-propagated (zero once stopped) w.r.t. the log-probs and the values."""
    x = mb_logp.clone().requires_grad_(True)
    v = mb_values.clone().requires_grad_(True)
    log_ratio = x - old_logp
    approx_kl = (0.5 * (log_ratio ** 2) * policy_mask).sum() / policy_mask.sum().clamp(min=1)
    approx_kl_val = approx_kl.detach().clone()
    if approx_kl_val > early_stop_kl:
        stop_ppo = True
    ratio = torch.exp(log_ratio)
    clipfrac = ((((ratio - 1.0).abs() > clip_epsilon).float() * policy_mask).sum() / policy_mask.sum().clamp(min=1))
    kl_ref_penalty = ((torch.exp(ref_logp - x) - (ref_logp - x) - 1.0) * policy_mask).sum() / policy_mask.sum().clamp(min=1)
    policy_loss = ((torch.max(-advantages * ratio, -advantages * torch.clamp(ratio, 1.0 - clip_epsilon, 1.0 + clip_epsilon))
                    * policy_mask).sum() / policy_mask.sum().clamp(min=1) + kl_coef * kl_ref_penalty)
    value_loss = 0.5 * (torch.max((v - returns) ** 2,
                                  (torch.clamp(v, old_values - cliprange_value, old_values + cliprange_value) - returns) ** 2)
                        * value_mask).sum() / value_mask.sum().clamp(min=1)
    if stop_ppo:
        loss = (policy_loss + vf_coef * value_loss) * 0.0
    else:
        loss = (policy_loss + vf_coef * value_loss) / accumulation_steps
    loss.backward()
    return dict(stop=stop_ppo, loss=loss.item(), policy_loss=policy_loss.item(), value_loss=value_loss.item(),
                approx_kl=approx_kl_val.item(), clipfrac=clipfrac.item(), kl_ref=kl_ref_penalty.item(),
                dlogp=x.grad, dvalues=v.grad)


# ------------------------------------------------------------------- MiniMind's own step, on leaf-tensor mocks

class _Optimizer:
    """Records the gradients of `leaves` at every step (MiniMind zeroes them right after)."""

    def __init__(self, leaves):
        self.leaves, self.steps, self.param_groups = leaves, [], [{"lr": 0.0}]

    def step(self):
        self.steps.append([None if p.grad is None else p.grad.clone() for p in self.leaves])

    def zero_grad(self):
        for p in self.leaves:
            p.grad = None


class _Model:
    """Returns rows of fixed leaf logits (found by their input ids), as MiniMindForCausalLM's output."""

    def __init__(self, rows, logits):
        self.rows, self.logits = {tuple(r): i for i, r in enumerate(rows)}, logits

    def index(self, input_ids):
        return torch.tensor([self.rows[tuple(r)] for r in input_ids.tolist()])

    def __call__(self, input_ids=None, attention_mask=None, **kw):
        return types.SimpleNamespace(logits=self.logits[self.index(input_ids)], aux_loss=torch.tensor(0.0))

    def parameters(self):
        return [self.logits]

    def train(self):
        return self

    def eval(self):
        return self


class _Critic(_Model):
    """Values: `first` for the first (no-grad rollout) call, rows of the leaf `values` afterwards."""

    def __init__(self, rows, first, values):
        super().__init__(rows, values)
        self.first, self.calls = first, 0

    def __call__(self, input_ids=None, attention_mask=None, **kw):
        self.calls += 1
        return self.first if self.calls == 1 else self.logits[self.index(input_ids)]


@contextlib.contextmanager
def _captured_backward(record):
    original = torch.Tensor.backward

    def backward(self, *a, **k):
        record.append(self.detach().clone())
        return original(self, *a, **k)
    torch.Tensor.backward = backward
    try:
        yield
    finally:
        torch.Tensor.backward = original


def _rollout(output_ids, completion_ids, old, prompt_len):
    n, r = completion_ids.shape
    return types.SimpleNamespace(output_ids=output_ids, completion_ids=completion_ids, per_token_logps=old,
                                 completions=[""] * n, prompt_lens=torch.full((n,), prompt_len, dtype=torch.long),
                                 completion_mask=torch.ones(n, r, dtype=torch.long))


class _Encoding(dict):
    def __getattr__(self, k):
        return self[k]

    def to(self, device):
        return self


def _quiet(mod):
    mod.is_main_process = lambda: False
    mod.Logger = lambda *a, **k: None
    mod.autocast_ctx = contextlib.nullcontext()
    mod.lm_config = types.SimpleNamespace(use_moe=False, hidden_size=8)


def minimind_grpo_step(grpo, output_ids, prompt_len, logits, ref_logits, old, rewards, num_generations, loss_type, beta,
                       epsilon, epsilon_high, pad_id, eos_id):
    """grpo_train_epoch of train_grpo.py, one step, on mocks: (loss, d loss / d logits)."""
    leaf = logits.clone().requires_grad_(True)
    completion_ids = output_ids[:, prompt_len:]
    _quiet(grpo)
    grpo.args = types.SimpleNamespace(device="cpu", num_generations=num_generations, max_seq_len=0, max_gen_len=completion_ids.size(1),
                                      beta=beta, loss_type=loss_type, epsilon=epsilon, epsilon_high=epsilon_high,
                                      accumulation_steps=1, grad_clip=0, epochs=1, log_interval=10 ** 9, save_interval=10 ** 9, debug_mode=False)
    prompts = ["p"] * (output_ids.size(0) // num_generations)
    grpo.tokenizer = lambda *a, **k: _Encoding(input_ids=output_ids[::num_generations, :prompt_len],
                                               attention_mask=torch.ones(len(prompts), prompt_len, dtype=torch.long))
    grpo.tokenizer.pad_token_id, grpo.tokenizer.eos_token_id = pad_id, eos_id
    grpo.model = _Model(output_ids.tolist(), leaf)
    grpo.optimizer = _Optimizer([leaf])
    grpo.scheduler = types.SimpleNamespace(step=lambda: None)
    grpo.calculate_rewards = lambda p, c, rm: rewards.clone()
    engine = types.SimpleNamespace(rollout=lambda **k: _rollout(output_ids, completion_ids, old, prompt_len), update_policy=lambda m: None)
    ref = _Model(output_ids.tolist(), ref_logits)
    losses = []
    with _captured_backward(losses):
        grpo.grpo_train_epoch(0, [{"prompt": prompts}], 1, engine, ref, None)
    return losses[0], grpo.optimizer.steps[0][0]


def minimind_agent_step(agent, rollout, logits, ref_logits, rewards, num_generations, loss_type, beta, epsilon, epsilon_high,
                        pad_id, eos_id, max_total_len):
    """rl_train_epoch of train_agent.py, one step, on mocks (rollout_batch returns `rollout`): (loss, d/d logits)."""
    prompt_ids, response_ids, response_masks, old_logps = rollout
    n = len(prompt_ids)
    leaf = logits.clone().requires_grad_(True)
    _quiet(agent)
    agent.args = types.SimpleNamespace(device="cpu", num_generations=num_generations, max_gen_len=8, max_total_len=max_total_len,
                                       thinking_ratio=0.0, beta=beta, loss_type=loss_type, epsilon=epsilon, epsilon_high=epsilon_high,
                                       accumulation_steps=1, grad_clip=0, epochs=1, log_interval=10 ** 9, save_interval=10 ** 9, debug_mode=False)
    agent.tokenizer = types.SimpleNamespace(pad_token_id=pad_id, eos_token_id=eos_id, apply_chat_template=lambda *a, **k: "")
    agent.rollout_batch = lambda *a, **k: ([""] * n, [""] * n, prompt_ids, response_ids, response_masks, old_logps, [[""]] * n, [False] * n)
    agent.calculate_rewards = lambda *a, **k: rewards.clone()
    packed = [agent_pack(p, r, m, o, max_total_len) for p, r, m, o in zip(*rollout)]
    max_len = max(len(ids) for ids, _, _, _ in packed)
    rows = [ids + [pad_id] * (max_len - len(ids)) for ids, _, _, _ in packed]
    agent.model = _Model(rows, leaf)
    agent.optimizer = _Optimizer([leaf])
    agent.scheduler = types.SimpleNamespace(step=lambda: None)

    def ref_logps(model, input_ids, n_keep, attention_mask=None):  # rollout_engine.compute_per_token_logps on the mock
        lg = ref_logits[model.index(input_ids)][:, -(n_keep + 1):-1]
        return torch.gather(lg.log_softmax(dim=-1), 2, input_ids[:, -n_keep:].unsqueeze(-1)).squeeze(-1)
    agent.compute_per_token_logps = ref_logps
    ref = _Model(rows, ref_logits)
    engine = types.SimpleNamespace(update_policy=lambda m: None)
    batch = {"messages": [[]] * (n // num_generations), "tools": [None] * (n // num_generations), "gt": [[]] * (n // num_generations)}
    losses = []
    with _captured_backward(losses):
        agent.rl_train_epoch(0, [batch], 1, engine, ref, None)
    return losses[0], agent.optimizer.steps[0][0]


def minimind_ppo_step(ppo, output_ids, prompt_len, logits, ref_logits, old, old_values_seq, values_seq, rewards, mini_batch_size,
                      ppo_update_iters, pad_id, eos_id, seed):
    """ppo_train_epoch of train_ppo.py, one step, on mocks: per optimizer step (losses backpropagated, d/d logits, d/d values)."""
    leaf = logits.clone().requires_grad_(True)
    vleaf = values_seq.clone().requires_grad_(True)
    completion_ids = output_ids[:, prompt_len:]
    B = output_ids.size(0)
    _quiet(ppo)
    ppo.args = types.SimpleNamespace(device="cpu", max_seq_len=10 ** 6, max_gen_len=completion_ids.size(1), clip_epsilon=0.2, vf_coef=0.5,
                                     kl_coef=0.02, gamma=1.0, lam=0.95, cliprange_value=0.2, ppo_update_iters=ppo_update_iters,
                                     early_stop_kl=0.25, mini_batch_size=mini_batch_size, accumulation_steps=1, epochs=1, grad_clip=1e30,
                                     log_interval=10 ** 9, save_interval=10 ** 9, debug_mode=False, debug_log_ratio=False)
    ppo.tokenizer = lambda *a, **k: _Encoding(input_ids=output_ids[:, :prompt_len], attention_mask=torch.ones(B, prompt_len, dtype=torch.long))
    ppo.tokenizer.pad_token_id, ppo.tokenizer.eos_token_id = pad_id, eos_id
    rows = output_ids.tolist()
    ppo.actor_model = _Model(rows, leaf)
    ppo.critic_model = _Critic(rows, old_values_seq, vleaf)
    ppo.actor_optimizer = _Optimizer([leaf])
    ppo.critic_optimizer = _Optimizer([vleaf])
    ppo.calculate_rewards = lambda p, c, rm: rewards.clone()
    sched = types.SimpleNamespace(step=lambda: None)
    engine = types.SimpleNamespace(rollout=lambda **k: _rollout(output_ids, completion_ids, old, prompt_len), update_policy=lambda m: None)
    ref = _Model(rows, ref_logits)
    losses = []
    torch.manual_seed(seed)
    with _captured_backward(losses):
        ppo.ppo_train_epoch(0, [{"prompt": ["p"] * B}], 1, engine, ref, sched, sched, None)
    return [(l, a[0], c[0]) for l, a, c in zip(losses, ppo.actor_optimizer.steps, ppo.critic_optimizer.steps)]


def logits_grad(logits, targets, dlogp):
    """d/d logits of Σ dlogp · log_softmax(logits)[target]: dlogp · (onehot − softmax)."""
    p = torch.softmax(logits, dim=-1)
    onehot = F.one_hot(targets, logits.size(-1)).to(logits.dtype)
    return dlogp.unsqueeze(-1) * (onehot - p)
