-- Bands on the match probability (issue 12): the model's prior — the chance that two records
-- drawn at random are one child, estimated from the data and the population size — and the
-- probabilities its bands were set at. upper_threshold and lower_threshold keep the same bands
-- in bits under that prior. Each review pair carries the chance it is one child, which orders the queue.
ALTER TABLE match_models
    ADD COLUMN prior double precision CHECK (prior > 0 AND prior < 1),
    ADD COLUMN link_probability double precision CHECK (link_probability > 0 AND link_probability < 1),
    ADD COLUMN review_probability double precision CHECK (review_probability > 0 AND review_probability < 1);

ALTER TABLE review_pairs ADD COLUMN match_probability double precision
    CHECK (match_probability >= 0 AND match_probability <= 1);
CREATE INDEX review_pairs_open_likely ON review_pairs (match_probability DESC NULLS LAST, weight DESC, id)
    WHERE status = 'open';
