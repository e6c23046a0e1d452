-- Score: the detector's confidence of each ask/commitment (weights it in the account score).
ALTER TABLE asks ADD COLUMN IF NOT EXISTS score DOUBLE DEFAULT 1.0;
