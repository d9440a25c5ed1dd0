-- Phone identities: an account may have a phone and no email (sign-up by
-- SMS code), so users.email becomes optional; the unique constraint still
-- holds for the emails there are (NULLs never collide). challenges.target
-- is what completing a challenge sets: the new phone of a phone change,
-- whose challenge is keyed by the user rather than by the number.

-- +goose Up
ALTER TABLE users ALTER COLUMN email DROP NOT NULL;
ALTER TABLE challenges ADD COLUMN target text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE challenges DROP COLUMN target;
ALTER TABLE users ALTER COLUMN email SET NOT NULL;
