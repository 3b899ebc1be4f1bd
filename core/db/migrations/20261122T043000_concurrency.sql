-- How many requests of one tenant may run on the GPU at once (NULL: no cap beyond the
-- slots themselves). The fair scheduler reads it; tenants may override their plan's.
ALTER TABLE plans ADD COLUMN max_concurrent INTEGER CHECK (max_concurrent IS NULL OR max_concurrent > 0);
ALTER TABLE tenants ADD COLUMN max_concurrent INTEGER CHECK (max_concurrent IS NULL OR max_concurrent > 0);
UPDATE plans SET max_concurrent = 2 WHERE id = 'starter';
UPDATE plans SET max_concurrent = 4 WHERE id = 'professional';
