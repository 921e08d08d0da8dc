"""Metrics: retrieval (TMR protocols), captioning (BLEU, ROUGE-L, CIDEr-D, BERTScore) and feature health (LER, MOM).

Every function here takes arrays and strings, never models, so the same code scores any encoder.
"""
from engine.metrics.retrieval import (
    RECALL_AT, retrieval_all, retrieval_threshold, retrieval_dissimilar, retrieval_batches,
    retrieval_labels, dissimilar_subset, ranks_of_first_relevant, metrics_from_ranks,
)
from engine.metrics.captioning import (
    tokenize_caption, bleu, rouge_l, cider_d, bertscore_f1, minilm_token_embedder, caption_metrics,
)
from engine.metrics.feature_health import (
    effective_rank, local_effective_rank, method_of_moments, per_joint_matrices, inverse_ler_loss,
)
