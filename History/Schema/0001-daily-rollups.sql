-- Daily rollups: what the ledger counted, one row per day and key, in integer micro-USD and token counts. Written
-- only by the rollup writer (RollupWriter.cs), which adds a stream entry's sums and records the entry in
-- rollup_progress in one transaction, so each ledger write is counted here exactly once.

-- Per (day, user, model, provider, service tier, context band): every token counter the API accepts, the requests
-- and the cost as priced when counted. provider is the price list's (the event's own when the model was unknown;
-- '' when neither), service_tier the normalised tier ('standard' when none), context_band the long-context band the
-- events were priced in, as its threshold in input tokens (0: the model's base prices). Token counters follow the
-- API's fields: input includes cached, cache-write and audio input; output includes reasoning and audio output.
CREATE TABLE usage_daily (
    day date NOT NULL,
    user_id text NOT NULL,
    model text NOT NULL,
    provider text NOT NULL,
    service_tier text NOT NULL,
    context_band bigint NOT NULL,
    requests bigint NOT NULL,
    input_tokens bigint NOT NULL,
    cached_input_tokens bigint NOT NULL,
    cache_write_input_tokens bigint NOT NULL,
    cache_write_1h_input_tokens bigint NOT NULL,
    audio_input_tokens bigint NOT NULL,
    output_tokens bigint NOT NULL,
    reasoning_output_tokens bigint NOT NULL,
    audio_output_tokens bigint NOT NULL,
    cost_micros bigint NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (day, user_id, model, provider, service_tier, context_band)
);

-- A user's detail reads one user's days.
CREATE INDEX usage_daily_user_day ON usage_daily (user_id, day);

-- Per (day, tag dimension, value): the same counters, summed over the usage that carried the tag.
CREATE TABLE tag_daily (
    day date NOT NULL,
    dimension text NOT NULL,
    value text NOT NULL,
    requests bigint NOT NULL,
    input_tokens bigint NOT NULL,
    cached_input_tokens bigint NOT NULL,
    cache_write_input_tokens bigint NOT NULL,
    cache_write_1h_input_tokens bigint NOT NULL,
    audio_input_tokens bigint NOT NULL,
    output_tokens bigint NOT NULL,
    reasoning_output_tokens bigint NOT NULL,
    audio_output_tokens bigint NOT NULL,
    cost_micros bigint NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (day, dimension, value)
);

-- Per ledger bucket: the last entry of its rollup stream (a Redis stream id, ms-seq) added to the tables above.
CREATE TABLE rollup_progress (
    bucket integer PRIMARY KEY,
    last_entry text NOT NULL,
    entries bigint NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
