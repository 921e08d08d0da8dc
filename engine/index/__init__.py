"""Sparse lexical retrieval: top-k sparsification, inverted index, keyword queries, dense baseline."""
from engine.index.hit import Hit
from engine.index.sparse import top_k_sparsify, query_terms
from engine.index.inverted import SparseIndex
from engine.index.salience import ANY_HOLDER, SALIENT_TOP, Salience
from engine.index.dense import DenseIndex
from engine.index.query import KeywordQuery, parse_keyword_query, parse_keywords, whole_forms, whole_or_forms, word_ids
from engine.index.store import save_arrays, load_arrays
