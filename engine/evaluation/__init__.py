"""Evaluation of a trained model: retrieval protocols, captioning, lexical fidelity, feature health."""
