"""Similarity search: tokenizer, chunking, embedders, vectors, exact kNN, full text, hybrid."""
