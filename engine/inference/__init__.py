"""Serving a trained model: encoding libraries, captioning, search over the inverted index."""
