-- The writer adds to the same rows round after round while their day lasts. With free room on a row's page
-- PostgreSQL updates it in place (a heap-only update: no new entry in either index, less WAL and vacuum); with full
-- pages every update writes both indexes again. Half of each new page is left free. Pages written before keep
-- their room as it is until they are rewritten.
ALTER TABLE usage_daily SET (fillfactor = 50);
ALTER TABLE tag_daily SET (fillfactor = 50);
