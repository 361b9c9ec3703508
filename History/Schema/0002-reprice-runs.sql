-- Re-pricing's audit: one row per applied re-price (POST /api/v1/admin/pricing/reprice), written in the same
-- transaction as the corrected usage_daily rows (History/Repricing/Repricer.cs). A dry run writes nothing.
CREATE TABLE reprice_runs (
    id bigserial PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT now(),
    -- Who asked: the authentication scheme and a fingerprint of the key (the first 12 hex digits of its SHA-256),
    -- never the key.
    actor text NOT NULL,
    from_day date NOT NULL,
    to_day date NOT NULL,
    -- The model ids asked for; NULL: every model.
    models text[],
    -- The prices used: the pricing version counter and the catalog version in force when the run was made.
    pricing_version bigint NOT NULL,
    catalog_version bigint NOT NULL,
    rows_examined bigint NOT NULL,
    rows_changed bigint NOT NULL,
    cost_before_micros bigint NOT NULL,
    cost_after_micros bigint NOT NULL,
    -- The changes per model and per user ({"models":[[model, before, after]...],"users":[[user, before, after]...]}).
    changes jsonb NOT NULL,
    -- The corrections still held in Redis (months whose keys live), per bucket and month, applied after the commit
    -- exactly once each (a marker key per run, bucket and month); redis_applied_at is set once all are in, and a
    -- run left without it (the API stopped between) is finished by the next re-price.
    redis_deltas jsonb NOT NULL,
    redis_applied_at timestamptz
);
