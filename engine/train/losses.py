"""Losses of the four pretraining phases (Lyu et al. 2025, Eq. 3 and 5-8) and of the options
(MoT++'s CCCL, Yan et al.'s MildTriple/DropTriple). One function per term; the phase helpers only weigh
them, with the paper's best lambdas (tables 5, 7, 9) as defaults. Each helper returns (total, parts)
where parts maps term names to detached values for logging.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from engine.models.lexical import flops_regularizer
from engine.models.motion_features import velocity_of

flops = flops_regularizer  # Eq. 3: R_FLOPS = sum_k (1/N sum_i p_k^(i))^2


# ---- single terms --------------------------------------------------------------------------------
def mlm_loss(logits: torch.Tensor | None, labels: torch.Tensor) -> torch.Tensor:
    """Eq. 5 / Eq. 7 term: -log P(o_j = x_j), averaged over the masked positions (labels != -100); 0 when
    there are no logits (a decoder whose term weighs 0 is not run)."""
    if logits is None:
        return torch.zeros((), device=labels.device)
    if not (labels != -100).any():
        return logits.sum() * 0.0  # nothing masked in this batch: a zero that keeps the graph
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), labels.reshape(-1), ignore_index=-100)


def info_nce(a: torch.Tensor, b: torch.Tensor, temperature: float = 1.0, normalize: bool = False) -> torch.Tensor:
    """Symmetric InfoNCE (Eq. 6 between motion views, Eq. 8 between p_m and p_t): row i of a matches row i
    of b; scores s = a b^T / T; loss = (CE(s, diag) + CE(s^T, diag)) / 2."""
    if normalize:
        a, b = F.normalize(a, dim=-1), F.normalize(b, dim=-1)
    scores = a @ b.T / temperature
    target = torch.arange(scores.shape[0], device=scores.device)
    return (F.cross_entropy(scores, target) + F.cross_entropy(scores.T, target)) / 2


def _crop_to(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return x_hat[:, : x.shape[1]]  # the reconstruction covers whole patches, the target only real length


def reconstruction_loss(x_hat: torch.Tensor, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Eq. 6 term 1: ||x_hat_{t,j} - x_{t,j}||_2, averaged over real frames t and joints j."""
    dist = (_crop_to(x_hat, x) - x).norm(dim=-1)                    # (B, T, J)
    w = mask[..., None].to(dist.dtype).expand_as(dist)
    return (dist * w).sum() / w.sum().clamp_min(1)


def velocity_loss(x_hat: torch.Tensor, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Eq. 6 term 2: ||v_hat_{t,j} - v_{t,j}||_2 over frame pairs (t, t+1) that are both real."""
    x_hat = _crop_to(x_hat, x)
    dist = (velocity_of(x_hat) - velocity_of(x)).norm(dim=-1)       # (B, T-1, J)
    w = (mask[:, 1:] & mask[:, :-1])[..., None].to(dist.dtype).expand_as(dist)
    return (dist * w).sum() / w.sum().clamp_min(1)


# ---- the four phases --------------------------------------------------------------------------
def lexmlm_loss(enc_logits, enc_labels, dec_logits, dec_labels, p, lambdas=(0.1, 1.0, 1e-4)):
    """Eq. 5: l1 MLM(encoder, 30% masked) + l2 MLM(bottleneck decoder | E_cbow) + l3 R_FLOPS(p).
    Table 5's best: (0.1, 1, 1e-4); pass a FlopsWeightSchedule value as lambdas[2] to ramp it."""
    parts = {"mlm_enc": mlm_loss(enc_logits, enc_labels), "mlm_dec": mlm_loss(dec_logits, dec_labels),
             "flops": flops(p)}
    return _weigh(parts, lambdas)


def cmmm_loss(x_hats, x, mask, e_full, e_masked, temperature=0.1, lambdas=(1.0, 1.0, 0.1)):
    """Eq. 6: l1 reconstruction + l2 velocity (both averaged over the views in `x_hats`, the full and the
    masked pathway) + l3 InfoNCE(e_full, e_masked). Table 7: MSE and velocity weight 1, InfoNCE 0.1."""
    parts = {"recon": sum(reconstruction_loss(h, x, mask) for h in x_hats) / len(x_hats),
             "velocity": sum(velocity_loss(h, x, mask) for h in x_hats) / len(x_hats),
             "info_nce": info_nce(e_full, e_masked, temperature, normalize=True)}
    return _weigh(parts, lambdas)


def lexmmm_loss(dec_logits, dec_labels, p_motion, lambdas=(1.0, 1e-4)):
    """Eq. 7: l1 MLM(motion bottleneck decoder | E_cbow of p_motion) + l2 R_FLOPS(p_motion)."""
    parts = {"mlm_dec": mlm_loss(dec_logits, dec_labels), "flops": flops(p_motion)}
    return _weigh(parts, lambdas)


def lexcmlp_loss(p_m, p_t, text_dec_logits, text_dec_labels, motion_dec_logits, motion_dec_labels,
                 temperature=1.0, lambdas=(1.0, 1e-4, 1e-2, 1e-2), cosine=False):
    """Eq. 8: l1 InfoNCE(p_m, p_t) + l2 R_FLOPS (motion and text) + l3 L_aux^1 (LexMLM's decoder)
    + l4 L_aux^2 (LexMMM's decoder). Table 9's best: (1, 1e-4, 1e-2, 1e-2). Dot-product scores, as SPLADE,
    or cosine ones (model.lex_score): FLOPs still acts on the raw p, which is what the index stores."""
    parts = {"info_nce": info_nce(p_m, p_t, temperature, normalize=cosine), "flops": flops(p_m) + flops(p_t),
             "aux_text": mlm_loss(text_dec_logits, text_dec_labels),
             "aux_motion": mlm_loss(motion_dec_logits, motion_dec_labels)}
    return _weigh(parts, lambdas)


def lexical_distillation(p_student: torch.Tensor, p_teacher: torch.Tensor) -> torch.Tensor:
    """Ours, not the paper's: 1 - cos(p_m, sg(p_t)), averaged over the batch.

    The motion vector is pulled toward its caption's lexical vector in the frozen lexical space, so it
    activates the caption's *words* rather than any private code the decoder could also read.
    """
    return (1 - F.cosine_similarity(p_student, p_teacher.detach(), dim=-1, eps=1e-8)).mean()


def literal_part(p: torch.Tensor, ids: torch.Tensor, words: torch.Tensor, positions) -> torch.Tensor:
    """Ours: p kept only at the caption's own words (B, len(lexicon)), zero on the words it expands to.

    ids: the tokenised captions; words: True at their word tokens (not padding, [CLS] or [SEP]);
    positions(ids) maps vocabulary ids to lexicon positions (-100 when a token is not in the lexicon)."""
    pos = positions(torch.where(words, ids, torch.full_like(ids, -100)))
    keep = torch.zeros_like(p, dtype=torch.bool)
    rows = torch.arange(p.shape[0], device=p.device)[:, None].expand_as(pos)
    valid = pos >= 0
    keep[rows[valid], pos[valid]] = True
    return p * keep


def literal_mix(p: torch.Tensor, ids: torch.Tensor, words: torch.Tensor, positions, share: float) -> torch.Tensor:
    """Ours: (1 - share) p + share literal_part(p): the words p expands to keep only 1 - share of their weight."""
    return p if not share else (1 - share) * p + share * literal_part(p, ids, words, positions)


def mirror_consistency(p: torch.Tensor, p_mirrored: torch.Tensor, pairs: torch.Tensor, eps: float = 1e-3):
    """Ours, not the paper's: a motion and its mirror image must prefer the opposite side's word equally.

    For each side-word pair (a, b) of lexicon positions (left/right, ...), r(p) = log(eps + p^_a) - log(eps + p^_b)
    on the L2-normalised vector p^; the loss is the mean of (r(p) + r(p_mirrored))^2. It is zero when mirroring a
    motion exactly reverses its left-vs-right preference, so a model cannot favour one side's word for every
    motion (as ours did: "left" outweighed "right" in most right-hand takes). Scale-free, like cosine scores."""
    def preference(v):
        v = F.normalize(v, dim=-1)
        return torch.log(eps + v[:, pairs[:, 0]]) - torch.log(eps + v[:, pairs[:, 1]])
    return (preference(p) + preference(p_mirrored)).square().mean()


def caption_word_ranking(p: torch.Tensor, columns: torch.Tensor, has_word: torch.Tensor,
                         temperature: float = 0.05, idf: torch.Tensor | None = None) -> torch.Tensor:
    """Ours, not the paper's: a motion's weight on a word ranks it as the word's keyword query does.

    p: (B, V) motion lexical vectors; columns: (W,) the positions of the batch's caption words; has_word: (B, W)
    True where motion i's caption holds word w. Scores s = p^[:, columns] / T on the L2-normalised vectors
    (cosine scores, as served). Two
    multi-positive InfoNCE directions, averaged:
    - word -> motions: -log sum_{i has w} softmax_i(s_iw), over the words some but not all captions hold:
      the keyword query `clap` must rank the clapping motions above the waving ones;
    - motion -> words: -log sum_{w in caption i} softmax_w(s_iw): a clapping motion weighs "clap" above the
      batch's other caption words, "wave" among them. With `idf` (W,) the caption's words are not all alike:
      the target is a distribution over them in proportion to their inverse document frequency, -sum_w q_iw
      log softmax_w(s_iw), so a take that "walks and turns left" weighs the rarer "turn" above "walks".
    Vector-level InfoNCE only asks the whole vector to be nearest its caption's; this asks it of each word."""
    s = F.normalize(p, dim=-1)[:, columns] / temperature
    pos = has_word.to(s.dtype)
    def multi_positive(scores, positive, valid):
        log_all = torch.logsumexp(scores, dim=-1)
        log_pos = torch.logsumexp(scores.masked_fill(positive == 0, float("-inf")), dim=-1)
        return (log_all - log_pos)[valid].mean() if valid.any() else scores.sum() * 0.0
    count = pos.sum(0)
    per_word = multi_positive(s.T, pos.T, (count > 0) & (count < pos.shape[0]))
    if idf is None:
        per_motion = multi_positive(s, pos, pos.sum(1) > 0)
    else:
        target = pos * idf.to(s.dtype)[None, :]
        valid = target.sum(1) > 0
        target = target / target.sum(1, keepdim=True).clamp_min(1e-12)
        per_motion = -(target * F.log_softmax(s, dim=-1)).sum(1)[valid].mean() if valid.any() else s.sum() * 0.0
    return (per_word + per_motion) / 2


def self_critical_loss(sample_log_probs: torch.Tensor, rewards: torch.Tensor, baseline: torch.Tensor) -> torch.Tensor:
    """Self-critical sequence training (Rennie et al. 2017, Eq. 9): the policy gradient of the expected
    reward, -(r(w^s) - r(w_hat)) * grad log p(w^s), with the greedy caption's reward r(w_hat) as the
    baseline, so only samples better than what decoding already says are made more likely; or with the
    mean reward of the other samples of the same input (Luo 2020), which centres the advantages.
    sample_log_probs, rewards: (samples, B); baseline: (B,) or (samples, B)."""
    return -((rewards - baseline).detach() * sample_log_probs).mean()


def _weigh(parts: dict, lambdas) -> tuple[torch.Tensor, dict]:
    total = sum(lam * term for lam, term in zip(lambdas, parts.values()))
    return total, {k: v.detach() for k, v in parts.items()}


# ---- options ----------------------------------------------------------------------------------
def cccl_loss(scores_tm: torch.Tensor, sim_tt: torch.Tensor, sim_mm: torch.Tensor, temperature: float = 0.1):
    """MoT++'s cross-consistency terms: text i's score distribution over motions, softmax(S_tm[i]/T), is
    pulled towards its distribution over the other captions, softmax(S_tt[i]/T); motion i's distribution
    over texts, softmax(S_tm[:, i]/T), towards softmax(S_mm[i]/T). Uni-modal targets are constants (sg).
    KL(q || p) = sum q (log q - log p), averaged over rows; the two directions are averaged."""
    def kl(target_scores, scores):
        log_q = F.log_softmax(target_scores.detach() / temperature, dim=-1)
        log_p = F.log_softmax(scores / temperature, dim=-1)
        return (log_q.exp() * (log_q - log_p)).sum(-1).mean()
    return (kl(sim_tt, scores_tm) + kl(sim_mm, scores_tm.T)) / 2


def linear_lambda(step: int, total: int) -> float:
    """CCCL's linear schedule, 0 -> 1 over `total` steps (MoT++: from teacher-given uni-modal similarities
    to the model's own: sim = (1 - lam) * teacher + lam * own), clamped to [0, 1]."""
    return 1.0 if total <= 0 else min(max(step / total, 0.0), 1.0)


def triplet_drop_loss(scores_tm: torch.Tensor, sim_tt: torch.Tensor, sim_mm: torch.Tensor, margin: float = 0.2,
                      text_threshold: float = 0.9, motion_threshold: float = 0.9, hardest: bool = True):
    """MildTriple/DropTriple (Yan et al. 2023) on a (B, B) text x motion cosine score matrix (positives on
    the diagonal). Pair (i, j) is a false negative, dropped, when caption j is too close to caption i
    (sim_tt > text_threshold) or motion j to motion i (sim_mm > motion_threshold). Hinge
    h_ij = [margin - s_ii + s_ij]_+ in both directions; hardest=True keeps each anchor's largest remaining
    hinge (MildTriple), hardest=False sums all of them (SH loss, the warm-up). Mean over anchors."""
    B = scores_tm.shape[0]
    eye = torch.eye(B, dtype=torch.bool, device=scores_tm.device)
    keep = ~eye & (sim_tt <= text_threshold) & (sim_mm <= motion_threshold)   # symmetric in i, j
    positive = scores_tm.diagonal()

    def direction(scores, pos):  # rows = anchors, columns = candidate negatives
        hinge = (margin - pos[:, None] + scores).clamp_min(0) * keep
        return hinge.amax(1) if hardest else hinge.sum(1)
    return (direction(scores_tm, positive).mean() + direction(scores_tm.T, positive).mean()) / 2
