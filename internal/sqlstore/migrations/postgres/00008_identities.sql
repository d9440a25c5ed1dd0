-- Provider identities: an account's sign-ins with other providers (OAuth
-- 2.0 / OpenID Connect). Same conventions as 00001.

-- +goose Up
-- One row per (provider, subject) the account is linked to: provider is
-- the configured name ("google", "acme"), subject the provider's stable
-- user ID (its sub). The unique key is what makes a first sign-in with an
-- identity create or link one account only, however many run at once.
-- email, email_verified and name are what the provider last said, kept to
-- show the user and the admin; they decide nothing (the link does). No
-- provider access or refresh token is ever stored. last_used_at is NULL
-- until the first sign-in after the link.
CREATE TABLE identities (
    id             text COLLATE "C" NOT NULL PRIMARY KEY,
    user_id        text COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider       text        NOT NULL,
    subject        text        NOT NULL,
    email          text        NOT NULL DEFAULT '',
    email_verified boolean     NOT NULL DEFAULT false,
    name           text        NOT NULL DEFAULT '',
    created_at     timestamptz NOT NULL,
    last_used_at   timestamptz,
    CONSTRAINT identities_provider_subject_key UNIQUE (provider, subject)
);

-- Listing a user's identities, and the cascade from users.
CREATE INDEX identities_user_id_idx ON identities (user_id, created_at, id);

-- +goose Down
DROP TABLE identities;
