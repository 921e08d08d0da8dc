"""What a phase is: the batches it eats, the parameters it trains, and its loss.

    phase = make_phase("lexmlm", train_cfg)
    phase.batch_kind                      "text" | "motion" | "pair"
    phase.trainable(model) -> set[str]    parameter names updated by this phase
    phase.loss(model, batch, step, total_steps) -> (loss, {term: value})
"""
from __future__ import annotations

from ...config import PhaseConfig, TrainConfig


class Phase:
    name = ""
    batch_kind = ""

    def __init__(self, cfg: TrainConfig):
        self.cfg = cfg
        self.pcfg: PhaseConfig = cfg.phase(self.name)

    def trainable(self, model) -> set[str]:
        raise NotImplementedError

    def begin(self, model) -> None:
        """Called once when the phase starts from step 0 (not when it resumes mid-way)."""

    def starting_weights(self, model) -> None:
        """Called with the weights the phase starts from, fresh or resumed (before its own checkpoint
        is loaded), for phases that keep a frozen copy of them."""

    def training_clips(self, clips) -> None:
        """Called with the phase's training clips before it runs, fresh or resumed (for statistics of the
        whole training set, such as the caption phase's CIDEr document frequencies)."""

    def loss(self, model, batch: dict, step: int, total_steps: int):
        raise NotImplementedError

    def finish(self, model, batcher) -> None:
        """Called after the phase's last step, before its final checkpoint (for parts fitted in closed form
        over the training clips, such as the caption head)."""

    def flops_weight(self, target: float, step: int, total_steps: int) -> float:
        """SPLADE's quadratic ramp of the FLOPs weight over the first `flops_ramp` of the phase."""
        from ...models.lexical import FlopsWeightSchedule
        return FlopsWeightSchedule(target, int(self.cfg.flops_ramp * total_steps))(step)


def names_under(model, *prefixes: str) -> set[str]:
    """Parameter names that start with any of the prefixes ("text." etc.)."""
    return {n for n, _ in model.named_parameters() if n.startswith(prefixes)}


def mask_text(model, ids, mask, ratio: float, bert: bool = False):
    """(masked ids, labels as lexicon positions). bert=True: BERT's 80/10/10 for the encoder MLM."""
    from ...models.masking import mask_tokens
    tok = model.tokenizer
    masked, labels = mask_tokens(ids, mask, ratio, tok.mask_token_id, tok.all_special_ids,
                                 vocab_size=model.vocab_size if bert else None)
    return masked, model.lexicon.positions_of(labels)


def text_of(batch):
    return batch["text_ids"], batch["text_mask"]


def motion_of(batch):
    return batch["joints"], batch["frame_mask"]
