-- Tag rollups by model too, so a tag value's month read from history has its spend by model as the Redis report
-- does. Rows written before keep the model '' (their model is not known).
ALTER TABLE tag_daily ADD COLUMN model text NOT NULL DEFAULT '';
ALTER TABLE tag_daily ALTER COLUMN model DROP DEFAULT;
ALTER TABLE tag_daily DROP CONSTRAINT tag_daily_pkey;
ALTER TABLE tag_daily ADD PRIMARY KEY (day, dimension, value, model);
-- A dimension's month reads its values' rows.
CREATE INDEX tag_daily_dimension_day ON tag_daily (dimension, day);
