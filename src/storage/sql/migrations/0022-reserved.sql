-- Placeholder on branch h/sends only: migration 0022 is assigned to another branch. The coordinator replaces this
-- file with that branch's 0022 when merging (the loader refuses gaps, so 0023 needs a 0022 to run here).
SELECT 1;
