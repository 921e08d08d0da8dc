"""The `paper` preset is the paper: its values from section 4.1 and tables 5-9, and none of our additions."""
from engine.config import DEFAULT_PHASES, preset


def test_paper_values_from_the_seed():
    cfg = preset("paper")
    t = cfg.train
    # Table 5: LexMLM (lambda_1, lambda_2, lambda_3) = (0.1, 1, 1e-4); table 6: 30% encoder, 50 -> 100% decoder.
    assert (t.lexmlm.w_mlm, t.lexmlm.w_decoder, t.lexmlm.w_flops) == (0.1, 1.0, 1e-4)
    assert (t.lexmlm.enc_mask, t.lexmlm.dec_mask_start, t.lexmlm.dec_mask_end) == (0.30, 0.50, 1.00)
    # Table 7: CMMM 50% masking, reconstruction and velocity 1, InfoNCE 0.1.
    assert (t.cmmm.motion_mask, t.cmmm.w_recon, t.cmmm.w_velocity, t.cmmm.w_info) == (0.50, 1.0, 1.0, 0.1)
    # Table 8: LexMMM 40 -> 100%.
    assert (t.lexmmm.dec_mask_start, t.lexmmm.dec_mask_end) == (0.40, 1.00)
    # Table 9: LexCMLP (1, 1e-4, 1e-2, 1e-2).
    assert (t.lexcmlp.w_info, t.lexcmlp.w_flops, t.lexcmlp.w_aux_text, t.lexcmlp.w_aux_motion) == (1.0, 1e-4, 1e-2, 1e-2)
    # Section 4.1: epochs 50 / 200 / 150 / 20, batches 128 / 64 / 64 / 64, learning rates.
    assert [p.epochs for p in (t.lexmlm, t.cmmm, t.lexmmm, t.lexcmlp)] == [50, 200, 150, 20]
    assert [p.steps for p in (t.lexmlm, t.cmmm, t.lexmmm, t.lexcmlp)] == [0, 0, 0, 0]
    assert [p.batch_size for p in (t.lexmlm, t.cmmm, t.lexmmm, t.lexcmlp)] == [128, 64, 64, 64]
    for phase in (t.lexmlm, t.cmmm, t.lexmmm):
        assert (phase.lr_text, phase.lr_motion, phase.lr_heads) == (1e-5, 1e-4, 1e-3)
    assert (t.lexcmlp.lr_text, t.lexcmlp.lr_motion, t.lexcmlp.lr_heads) == (1e-5, 1e-5, 1e-5)


def test_paper_has_none_of_our_additions():
    cfg = preset("paper")
    t, m = cfg.train, cfg.model
    assert t.lexmmm.w_distill == 0 and t.lexmmm.decoder_from_text is False
    assert (t.lexcmlp.w_distill, t.lexcmlp.w_mirror, t.lexcmlp.w_text_anchor) == (0, 0, 0)
    assert (t.lexcmlp.distill_literal, t.lexcmlp.anchor_literal) == (0, 0)
    assert t.lexcmlp.w_words == 0 and "align" not in DEFAULT_PHASES   # our motion alignment is not the paper's
    assert (t.align.hard_negatives, t.align.words_whole_forms, t.lexcmlp.hard_negatives) == (0, False, 0)
    assert t.flops_ramp == 0 and t.lex_temperature == 1.0
    assert (t.cccl, t.triplet, t.inverse_ler) == (False, "none", 0.0)   # the other seeds' options: off
    assert t.caption.head_rank == 0 and t.caption.w_cider == 0
    assert (m.lex_score, m.lex_top_k, m.lexicon) == ("dot", 0, "full")
    assert m.cbow_normalise is False and m.lex_pool_windows == 0 and m.motpp is False
    assert cfg.data.extra_text is False and cfg.data.mirror == 0 and m.scored_terms == "all"


def test_tiny_keeps_our_switches_on():
    m, t = preset("tiny").model, preset("tiny").train
    assert m.cbow_normalise and m.lex_pool_windows > 0 and m.lex_score == "cosine" and m.lex_top_k == 64
    assert t.lexcmlp.w_mirror > 0 and t.lexcmlp.w_text_anchor > 0 and t.lexmmm.w_distill > 0
    assert preset("tiny").data.mirror == 0.5 and m.scored_terms == "words"
    # the shipped model's align: 2 of each 32 clips as neighbours, pieced caption words read as whole forms
    assert (t.align.hard_negatives, t.align.words_whole_forms, t.align.w_words) == (0.0625, True, 1.0)
