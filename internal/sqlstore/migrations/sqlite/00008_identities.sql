-- Provider identities: an account's sign-ins with other providers (OAuth
-- 2.0 / OpenID Connect). Same conventions as 00001.

-- +goose Up
-- One row per (provider, subject) the account is linked to: provider is
-- the configured name ("google", "acme"), subject the provider's stable
-- user ID (its sub). The unique key is what makes a first sign-in with an
-- identity create or link one account only, however many run at once.
-- email, email_verified (0/1) and name are what the provider last said,
-- kept to show the user and the admin; they decide nothing (the link
-- does). No provider access or refresh token is ever stored. last_used_at
-- is NULL until the first sign-in after the link.
CREATE TABLE identities (
    id             TEXT    NOT NULL PRIMARY KEY,
    user_id        TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider       TEXT    NOT NULL,
    subject        TEXT    NOT NULL,
    email          TEXT    NOT NULL DEFAULT '',
    email_verified INTEGER NOT NULL DEFAULT 0,
    name           TEXT    NOT NULL DEFAULT '',
    created_at     INTEGER NOT NULL,
    last_used_at   INTEGER,
    CONSTRAINT identities_provider_subject_key UNIQUE (provider, subject)
) STRICT;

-- Listing a user's identities, and the cascade from users.
CREATE INDEX identities_user_id_idx ON identities (user_id, created_at, id);

-- +goose Down
DROP TABLE identities;
