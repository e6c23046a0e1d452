-- The detectors' score cache (owned by triage/nlp/cache.py): what the model said about a sentence or
-- passage, so the same text never reaches the encoder twice (signatures, greetings, re-runs). Hashes
-- and numbers only, never text. One namespace per model (encoder identity + heads); bounded by
-- nlp.cache_max_entries (the oldest entries go first).
CREATE TABLE sentence_cache (
    model       VARCHAR NOT NULL,      -- encoder identity[:16] '-' heads hash[:16]
    key         BIGINT NOT NULL,       -- blake2b-64 of the lower-cased, whitespace-collapsed text
    scores      FLOAT[] NOT NULL,      -- raw head probability per detector (frustration, complaint, buying_signal, ask, commitment)
    subtypes    SMALLINT[] NOT NULL,   -- subtype index per detector with subtypes (-1 = none)
    created_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (model, key)
);
