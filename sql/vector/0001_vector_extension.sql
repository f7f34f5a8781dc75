-- 0001_vector_extension.sql - pgvector in the vector database.
--
-- The embeddings table and its HNSW index arrive with the memox issue.
CREATE EXTENSION IF NOT EXISTS vector;
