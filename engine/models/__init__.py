"""The lexical motion-language model: config, encoders, lexical head, bottleneck decoders.

Public API (engine.models):
  ModelConfig, TINY, PAPER                      config.py
  load_text_backbone, freeze_lower_layers, base_model_hash   text_encoder.py
  MLMHead                                       mlm_head.py
  MotionEncoder, MotionTokens                   motion_encoder.py  (featurise in motion_features.py)
  lexical_pool, flops_regularizer, FlopsWeightSchedule, motion_lexical   lexical.py
  Lexicon                                       lexicon.py
  BottleneckDecoder                             bottleneck_decoder.py
  LexicalMotionLanguageModel                    lexical_model.py
  mask_tokens, mask_motion_tokens, curriculum_ratio   masking.py
  Text-to-motion: GeneratorConfig, MotionDenoiser (generator.py), CosineSchedule, ddim_sample (diffusion.py),
  TextToMotion, sample, decode (text_to_motion.py), TextCondition (text_condition.py), lexical_reward
  (reward.py), the differentiable features -> joints decoder (features_torch.py)
Import torch-heavy modules lazily from their files; this package init stays import-light.
"""
from engine.models.config import PAPER, TINY, ModelConfig

__all__ = ["ModelConfig", "TINY", "PAPER"]
