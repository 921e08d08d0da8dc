"""One module per CLI verb; engine/__main__.py discovers them."""
