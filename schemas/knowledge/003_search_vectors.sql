-- Where each chunk's vector is, and which lines it covers (extension of the spec's
-- embedding_metadata, which has the chunk but neither its place in the vector files nor its
-- lines). Vectors live in .agents/content/embeddings/<model>/<vector_file>.npy, row vector_row;
-- a (content_hash, embedding_model) pair is embedded once and shared by every branch and
-- worktree whose file has that blob.
ALTER TABLE embedding_metadata ADD COLUMN line_start INTEGER;
ALTER TABLE embedding_metadata ADD COLUMN line_end INTEGER;
ALTER TABLE embedding_metadata ADD COLUMN vector_file TEXT;
ALTER TABLE embedding_metadata ADD COLUMN vector_row INTEGER;
CREATE INDEX idx_embedding_metadata_file ON embedding_metadata(embedding_model, vector_file);
